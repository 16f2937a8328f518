// Admin screens: staff users, API keys (secret shown once), workspace settings, background
// jobs; none of it for agents.

import assert from 'node:assert/strict';
import { suite, useToken } from './lib/browser.mjs';

suite('admin screens', ({ flow }) => {
  flow('an admin creates a staff user, changes their role and deactivates them', async ({ page, server }) => {
    await page.click('#nav-admin');
    await page.waitForSelector('#admin-users:not([hidden]) #users tr');
    await page.fill('#user-email', 'rivka@demo.local');
    await page.fill('#user-name', 'Rivka Levi');
    await page.fill('#user-password', 'correct horse battery');
    await page.selectOption('#user-role', 'AGENT');
    await page.click('#user-form button[type=submit]');
    const row = page.locator('#users tr:has-text("rivka@demo.local")');
    await row.waitFor();
    await row.locator('select').selectOption('VIEWER');
    await page.waitForSelector('.toast:has-text("is now viewer")');
    page.once('dialog', (d) => d.accept());
    await row.locator('button:text("Deactivate")').click();
    await page.waitForSelector('#users tr:has-text("rivka@demo.local") .badge:text("deactivated")');
    const users = (await server.gql('{ staffUsers { email role active } }')).staffUsers;
    assert.deepEqual(users.find((u) => u.email === 'rivka@demo.local'), { email: 'rivka@demo.local', role: 'VIEWER', active: false });
  });

  flow('the last admin cannot be demoted, and the screen says why', async ({ page, server }) => {
    await page.goto(`${server.url}/#/admin/users`);
    const row = page.locator('#users tr:has-text("admin@demo.local")');
    await row.waitFor();
    await row.locator('select').selectOption('AGENT');
    await page.waitForSelector('.toast.error:has-text("CONFLICT")');
    assert.equal(await row.locator('select').inputValue(), 'ADMIN');
  });

  flow('an admin creates an API key with scopes, sees its secret once, and revokes it', async ({ page, server }) => {
    await page.click('#nav-admin');
    await page.click('.admin-tabs a[data-tab=keys]');
    await page.waitForSelector('#admin-keys:not([hidden])');
    await page.fill('#key-name', 'CRM sync');
    await page.check('#key-form input[value=EXPORT]');
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#key-secret:not([hidden])');
    const secret = await page.textContent('#key-secret-value');
    assert.ok(secret.length > 20);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'key-secret-done');
    // The key works, with the scopes chosen.
    const me = await server.gql('{ me { kind scopes } }', {}, secret);
    assert.deepEqual(me.me, { kind: 'api_key', scopes: ['READ', 'EXPORT'] });
    await page.click('#key-secret-done');
    assert.equal(await page.isVisible('#key-secret'), false);
    assert.equal(await page.textContent('#key-secret-value'), '');
    page.once('dialog', (d) => d.accept());
    await page.click('#keys button[aria-label="Revoke CRM sync"]');
    await page.waitForSelector('#keys tr:has-text("CRM sync") .badge:text("revoked")');
    await assert.rejects(server.gql('{ me { kind } }', {}, secret), /UNAUTHENTICATED/);
  });

  flow('an admin changes the workspace settings; channel secrets are write-only', async ({ page, server }) => {
    await page.goto(`${server.url}/#/admin/settings`);
    await page.waitForSelector('#admin-settings:not([hidden])');
    await page.waitForFunction(() => document.querySelector('#settings-form').elements.name.value !== '');
    await page.fill('#settings-form [name=sessionIdleMinutes]', '30');
    await page.selectOption('#settings-form [name=locale]', 'he');
    await page.fill('#settings-form [name=twilioAuthToken]', 'twilio-secret-123');
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('.toast:has-text("Settings saved")');
    assert.equal(await page.textContent('#s-twilio'), 'set');
    assert.equal(await page.inputValue('#settings-form [name=twilioAuthToken]'), '');
    const t = (await server.gql('{ tenant { settings { sessionIdleMinutes locale twilioAuthTokenConfigured } } }')).tenant.settings;
    assert.deepEqual(t, { sessionIdleMinutes: 30, locale: 'he', twilioAuthTokenConfigured: true });
    // Out-of-range values are refused with the field named.
    await page.fill('#settings-form [name=sessionIdleMinutes]', '5000');
    await page.evaluate(() => { document.querySelector('#settings-form').noValidate = true; });
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('.toast.error:has-text("BAD_USER_INPUT")');
  });

  flow('an admin filters background jobs by status and retries a dead one', async ({ page, server }) => {
    // The demo's summaries ran as jobs; make one of them dead, as a provider outage would.
    await server.gql(`query { jobs(first: 1) { nodes { id } } }`);
    server.sql("UPDATE jobs SET status = 'dead', last_error = 'provider timed out' WHERE id = (SELECT id FROM jobs ORDER BY created_at LIMIT 1)");
    await page.goto(`${server.url}/#/admin/jobs`);
    await page.waitForSelector('#jobs tr');
    await page.selectOption('#job-status', 'DEAD');
    await page.waitForFunction(() => [...document.querySelectorAll('#jobs tr')].every((r) => r.classList.contains('job-dead')));
    assert.equal(await page.locator('#jobs tr').count(), 1);
    assert.match(await page.textContent('#jobs'), /provider timed out/);
    await page.click('#jobs button:text("Retry")');
    await page.waitForSelector('.toast:has-text("Job queued again")');
    await page.waitForSelector('#jobs tr:not(.job-dead)');
  });

  flow('agents see no admin screens, even at their address', async ({ page, server }) => {
    await useToken(page, server, server.sign({ sub: 'browser-test', role: 'agent' }));
    await page.waitForSelector('#lead-list li');
    assert.equal(await page.isVisible('#nav-admin'), false);
    await page.goto(`${server.url}/#/admin/users`);
    await page.waitForSelector('#lead-list li');
    assert.equal(await page.isVisible('#admin'), false);
  }, { signedIn: false });
});
