// Privacy on the dashboard: erasure behind a typed confirmation and a reason (admins only),
// the erased page, "previously erased" when the customer comes back, redactions on messages,
// and the retention and redaction settings with the server's field errors.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { suite, useToken } from './lib/browser.mjs';
import { record, leadId, openLead, listNames } from './lib/flows.mjs';

const NOA = 'נועה לוי';

suite('privacy', ({ flow }) => {
  flow('an admin erases a customer after typing their name and a reason; the list drops them and the page says so', async ({ page, server }) => {
    const id = await leadId(server, NOA);
    await openLead(page, NOA);
    await page.click('#erase-btn');
    await page.waitForSelector('#erase-dialog[open]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'erase-confirm');
    assert.equal(await page.textContent('#erase-name'), NOA);
    await page.fill('#erase-reason', 'The customer asked to be forgotten');
    await page.fill('#erase-confirm', 'נועה');
    assert.equal(await page.isDisabled('#erase-submit'), true);
    await page.fill('#erase-confirm', NOA);
    assert.equal(await page.isDisabled('#erase-submit'), false);
    await page.fill('#erase-reason', '');
    assert.equal(await page.isDisabled('#erase-submit'), true);
    await page.fill('#erase-reason', 'The customer asked to be forgotten');
    await page.click('#erase-submit');
    await page.waitForSelector('#detail-erased:not([hidden])');
    assert.match(await page.textContent('#detail-erased'), /was erased/);
    assert.equal(await page.isVisible('#detail'), false);
    assert.ok(!(await listNames(page)).includes(NOA));
    await assert.rejects(server.gql('query($id: ID!) { lead(id: $id) { id } }', { id }), /NOT_FOUND/);
    // Reloading the address: the lead is simply not found.
    await page.reload();
    await page.waitForSelector('#detail-erased:not([hidden])');

    // The customer writes again from the same WhatsApp number: a new lead, marked.
    await record(server, { channel: 'WHATSAPP', externalUserId: '972535557788', role: 'CUSTOMER', displayName: 'Noa L', content: 'שלום שוב' });
    await page.goto(`${server.url}/#/`);
    await page.waitForSelector('#lead-list .lead-name:text-is("Noa L")');
    await openLead(page, 'Noa L');
    await page.waitForSelector('#lead-badges .badge:text-is("previously erased")');
  });

  flow('an admin downloads everything held about a customer as a ZIP, and the access log says so', async ({ page, server }) => {
    const id = await leadId(server, 'Dana Cohen');
    await openLead(page, 'Dana Cohen');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#subject-export-btn')]);
    const zip = readFileSync(await download.path());
    assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK', 'a ZIP archive');
    for (const name of ['subject.json', 'conversations.json', 'messages.csv', 'summaries.json', 'notes.json', 'access_log.json', 'README.txt']) {
      assert.ok(zip.includes(Buffer.from(name)), `the ZIP holds ${name}`);
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'subject-export-btn');
    await page.click('#lead-audit-link');
    await page.waitForSelector('#audit tr[data-action="lead.exported"]');
    const about = await page.$$eval('#audit tr[data-action] a.audit-lead', (as) => as.map((a) => a.title));
    assert.ok(about.every((x) => x === id));
  });

  flow('agents see neither the data download nor erasure', async ({ page, server }) => {
    await useToken(page, server, server.sign({ sub: 'browser-agent', role: 'agent' }));
    await page.waitForSelector('#lead-list li');
    await openLead(page, 'Dana Cohen');
    for (const sel of ['#subject-export-btn', '#erase-btn', '#lead-audit-link']) assert.equal(await page.isVisible(sel), false, sel);
  }, { signedIn: false });

  flow('another tab sees an erased customer leave the list live', async ({ page, server }) => {
    await record(server, { channel: 'WEB', externalUserId: 'erase-live-1', role: 'CUSTOMER', displayName: 'Erin Gone', content: 'hello' });
    await page.waitForSelector('#lead-list .lead-name:text-is("Erin Gone")');
    await openLead(page, 'Erin Gone');
    const id = await leadId(server, 'Erin Gone');
    await server.gql('mutation($id: ID!) { eraseLead(id: $id, reason: "asked by email") { id } }', { id });
    await page.waitForSelector('#detail-erased:not([hidden])');
    await page.waitForFunction(() => ![...document.querySelectorAll('#lead-list .lead-name')].some((e) => e.textContent === 'Erin Gone'));
  });

  flow('a card number a customer wrote is removed before it is stored, and the message says so', async ({ page, server }) => {
    await record(server, { channel: 'WEB', externalUserId: 'card-1', role: 'CUSTOMER', displayName: 'Carl Card', content: 'Charge my card 4242 4242 4242 4242 please' });
    await page.waitForSelector('#lead-list .lead-name:text-is("Carl Card")');
    await openLead(page, 'Carl Card');
    const msg = page.locator('#messages .msg.customer').last();
    await msg.locator('.badge.redacted').waitFor();
    assert.equal(await msg.locator('.badge.redacted').textContent(), 'card number removed');
    assert.doesNotMatch(await msg.textContent(), /4242 4242 4242 4242/);
  });

  flow('agents and viewers cannot erase', async ({ page, server }) => {
    await useToken(page, server, server.sign({ sub: 'browser-agent', role: 'agent' }));
    await page.waitForSelector('#lead-list li');
    await openLead(page, 'Dana Cohen');
    assert.equal(await page.isVisible('#erase-btn'), false);
  }, { signedIn: false });

  flow('an admin sets retention and redaction; a value out of range is named by the server beside the field', async ({ page, server }) => {
    await page.goto(`${server.url}/#/admin/settings`);
    await page.waitForFunction(() => document.querySelector('#settings-form').elements.name.value !== '');
    await page.fill('#settings-form [name=messageRetentionDays]', '30');
    await page.fill('#settings-form [name=summaryRetentionDays]', '0');
    await page.fill('#settings-form [name=auditRetentionDays]', '365');
    await page.check('#settings-form input[name=piiKind][value=ONE_TIME_CODE]');
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('.toast:has-text("Settings saved")');
    const s = (await server.gql('{ tenant { settings { messageRetentionDays summaryRetentionDays auditRetentionDays piiRedaction piiRedactionKinds } } }')).tenant.settings;
    assert.deepEqual(s, { messageRetentionDays: 30, summaryRetentionDays: 0, auditRetentionDays: 365, piiRedaction: 'REDACT', piiRedactionKinds: ['CARD', 'ONE_TIME_CODE'] });
    // The browser's own range check first…
    await page.fill('#settings-form [name=auditRetentionDays]', '5000');
    assert.equal(await page.$eval('#settings-form [name=auditRetentionDays]', (e) => e.checkValidity()), false);
    // …and the server's, naming the field, when the browser's is bypassed.
    await page.evaluate(() => { document.querySelector('#settings-form').noValidate = true; });
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('#settings-error:not([hidden])');
    assert.match(await page.textContent('#settings-error'), /BAD_USER_INPUT.*auditRetentionDays/);
    assert.equal(await page.getAttribute('#settings-form [name=auditRetentionDays]', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'auditRetentionDays');
  });
});
