// Finding people: the lead list's count, previews, filters, sort, phone search, and live
// updates (new customers, new messages, new conversations announced).

import assert from 'node:assert/strict';
import { suite } from './lib/browser.mjs';
import { listNames, openLead, record, waitForNames } from './lib/flows.mjs';

const DANA = 'Dana Cohen';
const NOA = 'נועה לוי';
const MICHAEL = 'Michael Brown';

suite('the lead list', ({ flow }) => {
  flow('the list says how many leads there are and what each one last said', async ({ page }) => {
    await page.waitForFunction(() => /^\d+ leads?$/.test(document.querySelector('#lead-count').textContent));
    const count = Number((await page.textContent('#lead-count')).split(' ')[0]);
    assert.equal(count, (await listNames(page)).length);
    const dana = page.locator(`#lead-list li:has(.lead-name:text-is("${DANA}")) .lead-preview`);
    assert.match(await dana.textContent(), /^Agent: Done: booked/);
    const noa = page.locator(`#lead-list li:has(.lead-name:text-is("${NOA}")) .lead-preview`);
    assert.match(await noa.textContent(), /מעולה/);
  });

  flow('staff narrow the list by channel, language, returning customers and open conversations', async ({ page, server }) => {
    await page.click('#lead-filters-box summary');
    await page.selectOption('#f-channel', 'WHATSAPP');
    await waitForNames(page, [DANA, NOA]);
    assert.match(await page.textContent('#lead-count'), /^2 leads match$/);
    await page.selectOption('#f-channel', '');
    await page.selectOption('#f-language', 'he');
    await waitForNames(page, [NOA]);
    await page.selectOption('#f-language', '');
    await page.check('#f-returning');
    await waitForNames(page, [DANA]);
    await page.uncheck('#f-returning');
    // Michael writes again: his conversation is the only open one.
    await record(server, { channel: 'WEB', externalUserId: 'web-visitor-42', content: 'Any news about my booking?' });
    await page.check('#f-open');
    await waitForNames(page, [MICHAEL]);
    await page.click('#f-reset');
    await page.waitForFunction(() => document.querySelectorAll('#lead-list li').length >= 4);
    assert.equal(await page.isVisible('#filter-count'), false);
  });

  flow('staff list only leads active in the last day, and sort by when leads were first seen', async ({ page }) => {
    await page.click('#lead-filters-box summary');
    await page.selectOption('#f-since', '1');
    await page.waitForFunction(() => !document.querySelector('#lead-list .lead-name')
      || ![...document.querySelectorAll('#lead-list .lead-name')].some((e) => e.textContent === 'Dana Cohen'));
    const recent = await listNames(page);
    assert.ok(recent.includes(MICHAEL) && !recent.includes(DANA), recent.join(', '));
    await page.selectOption('#f-since', '');
    await page.selectOption('#f-order', 'CREATED_AT_ASC');
    await page.waitForFunction(() => document.querySelector('#lead-list .lead-name')?.textContent === 'Dana Cohen'
      && document.querySelectorAll('#lead-list li').length >= 4);
    await page.selectOption('#f-order', 'CREATED_AT_DESC');
    await page.waitForFunction(() => document.querySelector('#lead-list .lead-name')?.textContent !== 'Dana Cohen');
  });

  flow('a phone number typed the local way finds the customer', async ({ page }) => {
    await page.fill('#lead-search', '052-555-1234');
    await waitForNames(page, [DANA]);
    await page.fill('#lead-search', '(052) 5551234');
    await waitForNames(page, [DANA]);
  });

  flow('a new customer appears at the top of the list as soon as they write', async ({ page, server }) => {
    await record(server, { channel: 'WHATSAPP', externalUserId: '972541234567', displayName: 'Avi Mizrahi', content: 'Hello, do you have rooms in Eilat?' });
    await page.waitForFunction(() => document.querySelector('#lead-list .lead-name')?.textContent === 'Avi Mizrahi');
    assert.match(await page.textContent('#lead-count'), /^5 leads$/);
  });

  flow('a message that opens a new conversation on the open lead is announced, then shown live', async ({ page, server }) => {
    await openLead(page, DANA);
    const tabsBefore = await page.locator('#session-tabs [role=tab]').count();
    await record(server, { channel: 'WHATSAPP', externalUserId: '972525551234', content: 'Hi, one more question about Rome' });
    await page.waitForSelector('#new-conversation:not([hidden])');
    assert.match(await page.textContent('#new-conversation'), /New conversation on WhatsApp/);
    // Still reading the same conversation: nothing moved under the reader.
    assert.equal(await page.locator('#session-tabs [role=tab]').count(), tabsBefore + 1);
    assert.doesNotMatch(await page.textContent('#messages'), /one more question/);
    await page.click('#new-conversation-open');
    await page.waitForFunction(() => document.querySelector('#messages').textContent.includes('one more question about Rome'));
    assert.match(page.url(), /#\/lead\/[^/]+\/conversation\/[^/]+$/);
    // The next message arrives in the open conversation without a reload.
    const started = Date.now();
    await record(server, { channel: 'WHATSAPP', externalUserId: '972525551234', content: 'Is breakfast included?' });
    await page.waitForFunction(() => document.querySelector('#messages').textContent.includes('Is breakfast included?'));
    assert.ok(Date.now() - started < 5000);
    assert.equal(await page.isVisible('#new-conversation'), false);
  });
});
