// Integrations (admins): webhooks with their deliveries and replay, proved by a receiver on
// 127.0.0.1; lead exports downloaded with the token, incrementally from the stored cursor;
// the audit log with filters and links to the lead.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { suite, useToken } from './lib/browser.mjs';
import { record, leadId } from './lib/flows.mjs';

/** A receiver on 127.0.0.1 that answers 500 while `failing`, then 200. */
async function receiver() {
  const rx = { got: [], failing: true };
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      rx.got.push({ id: req.headers['webhook-id'], signature: req.headers['webhook-signature'], body });
      if (rx.failing) { res.writeHead(500); res.end('receiver down for maintenance'); } else { res.writeHead(200); res.end('ok'); }
    });
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  rx.url = `http://127.0.0.1:${srv.address().port}/hook`;
  rx.close = () => new Promise((ok) => { srv.closeAllConnections?.(); srv.close(ok); });
  return rx;
}

const until = async (cond, ms = 15000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((ok) => setTimeout(ok, 100));
  }
};

suite('integrations', ({ flow }) => {
  flow('an admin adds a webhook, sees its secret once, sees a failed delivery, replays it and the receiver gets it', async ({ page, server }) => {
    const rx = await receiver();
    try {
      await page.goto(`${server.url}/#/admin/webhooks`);
      await page.waitForSelector('#admin-webhooks:not([hidden])');
      await page.fill('#hook-url', rx.url);
      await page.fill('#hook-description', 'CRM bridge');
      await page.check('#hook-events input[value="message.created"]');
      await page.click('#hook-form button[type=submit]');
      await page.waitForSelector('#hook-secret:not([hidden])');
      assert.match(await page.textContent('#hook-secret-value'), /^whsec_/);
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'hook-secret-copy');
      await page.click('#hook-secret-done');
      assert.equal(await page.textContent('#hook-secret-value'), '');
      const row = page.locator('#hooks tr:has-text("CRM bridge")');
      await row.waitFor();

      await record(server, { channel: 'WEB', externalUserId: 'hook-1', role: 'CUSTOMER', displayName: 'Hook Person', content: 'hi there' });
      await until(() => rx.got.length >= 1);
      await row.locator('button:text("Deliveries")').click();
      await page.waitForSelector('#deliveries:not([hidden])');
      await page.selectOption('#delivery-status', 'PENDING');
      const failed = page.locator('#delivery-list .delivery', { hasText: 'message.created' }).first();
      await until(async () => {
        if (await failed.count()) return true;
        await page.click('#deliveries-refresh');
        return false;
      });
      await failed.locator('summary').click();
      const attempt = failed.locator('.attempts tbody tr').first();
      assert.match(await attempt.textContent(), /500/);
      assert.match(await attempt.textContent(), /receiver down for maintenance/);
      const webhookId = await failed.locator('span[title="webhook-id header"]').textContent();
      assert.ok(rx.got.some((r) => r.id === webhookId));
      // The receiver is back: a replay now arrives, with the same webhook-id.
      rx.failing = false;
      const before = rx.got.length;
      // (A replay is refused while a scheduled retry is on the wire: then try again.)
      await until(async () => {
        await failed.locator('button:text("Replay")').click();
        return page.locator('.toast:has-text("Delivery sent again")').first()
          .waitFor({ timeout: 3000 }).then(() => true, () => false);
      });
      await until(() => rx.got.slice(before).some((r) => r.id === webhookId));
      await page.selectOption('#delivery-status', 'SUCCEEDED');
      await page.waitForSelector(`#delivery-list .delivery.succeeded:has-text("${webhookId}")`);

      // Edit: description and disabled; rotate; delete.
      await row.locator('button:text("Edit")').click();
      await page.fill('.hook-edit input[aria-label="Description"]', 'CRM bridge (paused)');
      await page.uncheck('.hook-edit input[type=checkbox]:not([name=event])');
      await page.click('.hook-edit button[type=submit]');
      const paused = page.locator('#hooks tr:has-text("CRM bridge (paused)")');
      await paused.locator('.badge:text("disabled")').waitFor();
      assert.match(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), /^Edit/);
      page.once('dialog', (d) => d.accept());
      await paused.locator('button:text("Rotate secret")').click();
      await page.waitForSelector('#hook-secret:not([hidden])');
      assert.match(await page.textContent('#hook-secret-value'), /^whsec_/);
      await page.click('#hook-secret-done');
      page.once('dialog', (d) => d.accept());
      await paused.locator('button:text("Delete")').click();
      await page.waitForSelector('#hooks td:text("No endpoints yet.")');
      assert.deepEqual((await server.gql('{ webhookEndpoints { id } }')).webhookEndpoints, []);
    } finally {
      await rx.close();
    }
  });

  flow('an admin downloads the leads, then only what changed since the last export', async ({ page, server }) => {
    await page.goto(`${server.url}/#/admin/exports`);
    await page.waitForSelector('#admin-exports:not([hidden])');
    assert.equal(await page.isDisabled('#export-since'), true);
    const [first] = await Promise.all([page.waitForEvent('download'), page.click('#export-form button[type=submit]')]);
    assert.match(first.suggestedFilename(), /\.csv$/);
    const all = readFileSync(await first.path(), 'utf8');
    assert.match(all, /Dana/);
    await page.waitForSelector('#export-cursor-value');
    assert.ok((await page.textContent('#export-cursor-value')).length > 0);
    // A change, then an incremental export: only that lead.
    await record(server, { channel: 'WEB', externalUserId: 'export-1', role: 'CUSTOMER', displayName: 'Fresh Lead', content: 'hello' });
    await page.check('#export-since');
    const [second] = await Promise.all([page.waitForEvent('download'), page.click('#export-form button[type=submit]')]);
    const changed = readFileSync(await second.path(), 'utf8');
    assert.match(changed, /Fresh/);
    assert.ok(changed.trim().split('\n').length < all.trim().split('\n').length, 'fewer rows than the full export');
    // HubSpot, with provenance: its own cursor, so a full file.
    await page.selectOption('#export-format', 'hubspot');
    assert.equal(await page.isDisabled('#export-since'), true);
    await page.check('#export-provenance');
    const [hub] = await Promise.all([page.waitForEvent('download'), page.click('#export-form button[type=submit]')]);
    assert.match(readFileSync(await hub.path(), 'utf8'), /Dana/);
  });

  flow('the audit log shows who did what, filters by action and person, and links to the lead', async ({ page, server }) => {
    const dana = await leadId(server, 'Dana Cohen');
    await server.gql('mutation($id: ID!) { setProfileField(leadId: $id, key: "city", value: "Haifa") { id } }', { id: dana });
    await page.goto(`${server.url}/#/admin/audit`);
    await page.waitForSelector('#audit tr[data-action]');
    await page.fill('#audit-action', 'profile.field_set');
    await page.press('#audit-action', 'Enter');
    await page.waitForFunction(() => [...document.querySelectorAll('#audit tr')].every((r) => r.dataset.action === 'profile.field_set'));
    assert.match(await page.textContent('#audit tr'), /Demo Admin/);
    await page.selectOption('#audit-actor', { label: 'Demo Admin (admin@demo.local)' });
    await page.waitForSelector('#audit tr[data-action="profile.field_set"]');
    await page.click('#audit tr[data-action="profile.field_set"] a.audit-lead');
    await page.waitForFunction(() => document.querySelector('#lead-name')?.textContent === 'Dana Cohen' && !document.querySelector('#detail').hidden);
  });

  flow('an admin opens a customer\'s access log from their page and narrows it by day', async ({ page, server }) => {
    const dana = await leadId(server, 'Dana Cohen');
    const michael = await leadId(server, 'Michael Brown');
    await server.gql('mutation($id: ID!) { setProfileField(leadId: $id, key: "city", value: "Haifa") { id } }', { id: michael });
    await page.goto(`${server.url}/#/lead/${dana}`);
    await page.waitForFunction(() => document.querySelector('#lead-name')?.textContent === 'Dana Cohen');
    await page.click('#lead-audit-link');
    await page.waitForSelector('#audit tr[data-action]');
    assert.equal(await page.isVisible('#audit-lead'), true);
    // Only entries about Dana (opening her page wrote a lead.viewed), none about Michael's change.
    const about = await page.$$eval('#audit tr[data-action] a.audit-lead', (as) => as.map((a) => a.title));
    assert.ok(about.length > 0);
    assert.ok(about.every((id) => id === dana), `entries about others: ${about}`);
    assert.ok(!about.includes(michael));
    // A day before anything happened: nothing.
    const yesterday = new Date(Date.now() - 86400000);
    const ymd = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`;
    await page.fill('#audit-to', ymd);
    await page.dispatchEvent('#audit-to', 'change');
    await page.waitForFunction(() => !document.querySelector('#audit tr[data-action]') && /No entries/.test(document.querySelector('#audit').textContent));
    // The × shows everyone's entries again.
    await page.fill('#audit-to', '');
    await page.click('#audit-lead-clear');
    await page.waitForSelector('#audit tr[data-action="profile.field_set"]');
    assert.equal(await page.isVisible('#audit-lead'), false);
  });

  flow('agents see no webhooks, exports or audit log', async ({ page, server }) => {
    await useToken(page, server, server.sign({ sub: 'browser-agent', role: 'agent' }));
    await page.waitForSelector('#lead-list li');
    for (const tab of ['webhooks', 'exports', 'audit']) {
      await page.goto(`${server.url}/#/admin/${tab}`);
      await page.waitForSelector('#lead-list li');
      assert.equal(await page.isVisible('#admin'), false);
    }
  }, { signedIn: false });
});
