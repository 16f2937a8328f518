// Signing in and out, an expired session, and read-only roles.

import assert from 'node:assert/strict';
import { signIn, suite, useToken } from './lib/browser.mjs';

suite('signing in', ({ flow }) => {
  flow('staff sign in with email and password and see the most recently active leads', async ({ page, server }) => {
    await signIn(page, server);
    const names = await page.locator('#lead-list .lead-name').allTextContents();
    assert.ok(names.length >= 4, names.join(', '));
    assert.ok(names.includes('Dana Cohen'), names.join(', '));
    assert.match(await page.textContent('#whoami'), /Demo Admin · admin/);
  }, { signedIn: false });

  flow('a wrong password is explained on the form', async ({ page, server }) => {
    await page.goto(`${server.url}/`);
    await page.fill('#login-email', server.email);
    await page.fill('#login-password', 'not the password');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.match(await page.textContent('#signin-error'), /UNAUTHENTICATED/);
  }, { signedIn: false });

  flow('an expired token sends staff back to the sign-in form with the reason', async ({ page, server }) => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await useToken(page, server, server.sign({ iat: past - 60, exp: past }));
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.equal(await page.isVisible('#app'), false);
  }, { signedIn: false });

  flow('a token that expires while the dashboard is open signs staff out at once', async ({ page, server }) => {
    const exp = Math.floor(Date.now() / 1000) + 5;
    await useToken(page, server, server.sign({ exp }));
    await page.waitForSelector('#lead-list li');
    // The live streams end the moment the token expires: no click needed.
    await page.waitForSelector('#signin:not([hidden])', { timeout: 20000 });
    assert.match(await page.textContent('#signin-error'), /expired/);
    assert.equal(await page.isVisible('#app'), false);
  }, { signedIn: false });

  flow('a viewer reads leads but sees no editing controls', async ({ page, server }) => {
    await useToken(page, server, server.sign({ sub: 'browser-test', role: 'viewer' }));
    await page.waitForSelector('#lead-list li');
    await page.click('#lead-list .lead-row >> nth=0');
    await page.waitForSelector('#detail:not([hidden])');
    assert.equal(await page.isVisible('#note-form'), false);
    assert.equal(await page.isVisible('#add-field'), false);
  }, { signedIn: false });
});
