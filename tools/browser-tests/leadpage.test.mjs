// The lead page tells the story: a timeline of conversations (with their summaries, dated by
// when they happened), notes and profile changes with the staff member's name; the memory
// context as the agent sees it, in the customer's language; Hebrew right to left.

import assert from 'node:assert/strict';
import { suite } from './lib/browser.mjs';
import { openLead } from './lib/flows.mjs';

const NOA = 'נועה לוי';

suite('the lead page', ({ flow }) => {
  flow('the timeline shows conversations with their summaries, notes and who changed the profile', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    // The add-field form sets a field whether or not it exists.
    await page.fill('#add-field-key', 'city');
    await page.fill('#add-field-value', 'Jerusalem');
    await page.click('#add-field button[type=submit]');
    await page.waitForSelector('#profile .value:text-is("Jerusalem")');
    await page.fill('#note-body', 'Prefers morning flights');
    await page.click('#note-form button[type=submit]');
    await page.waitForSelector('#notes li:has-text("Prefers morning flights")');

    await page.click('#view-timeline');
    await page.waitForSelector('#timeline .tl.change');
    const items = page.locator('#timeline > li');
    const kinds = await items.evaluateAll((els) => els.map((e) => e.className));
    assert.ok(kinds.filter((k) => k.includes('conversation')).length >= 2, kinds.join(' '));
    // Newest first: the note and the city change just made lead the story.
    assert.ok(kinds.slice(0, 2).every((k) => k.includes('note') || k.includes('change')), kinds.join(' '));
    const change = page.locator('#timeline .tl.change:has-text("Jerusalem") .actor');
    assert.equal(await change.first().textContent(), 'Demo Admin');
    assert.doesNotMatch(await page.textContent('#timeline'), /staff:[0-9a-f-]{36}/);
    // A conversation is dated by when it happened, with its summary beside it.
    const call = page.locator('#timeline .tl.conversation:has(.badge:text-is("Call"))');
    assert.match(await call.locator('time').getAttribute('datetime'), /^\d{4}-/);
    // Opening a conversation from the timeline goes to its own URL.
    await call.locator('a:text("open conversation")').click();
    await page.waitForSelector('#conversations-view:not([hidden])');
    assert.match(page.url(), /\/conversation\//);
  });

  flow('profile history names the staff member, not an id', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.click('#profile button[aria-label="Edit name"]');
    await page.fill('#profile input[aria-label="New value for name"]', 'Dana Cohen');
    await page.keyboard.press('Enter');
    await page.click('#profile button[aria-label="History of name"]');
    await page.waitForSelector('#profile .history li');
    const history = await page.textContent('#profile .history');
    assert.doesNotMatch(history, /staff:[0-9a-f-]{36}/);
    assert.match(history, /Demo Admin/);
  });

  flow('the memory context is shown as the agent sees it, in the customer\'s language', async ({ page }) => {
    await openLead(page, NOA);
    await page.click('#memory-btn');
    await page.waitForFunction(() => document.querySelector('#memory-text').textContent.length > 20);
    assert.match(await page.textContent('#memory-meta'), / he\b/);
    assert.match(await page.textContent('#memory-text'), /[\u0590-\u05FF]/);
    await page.selectOption('#memory-locale', 'en');
    await page.waitForFunction(() => document.querySelector('#memory-meta').textContent.includes(' en'));
    await page.click('#memory-close');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'memory-btn');
  });

  flow('Hebrew names, messages and summaries read right to left', async ({ page }) => {
    await openLead(page, NOA);
    const dir = (sel) => page.locator(sel).first().evaluate((e) => getComputedStyle(e).direction);
    assert.equal(await dir('#lead-name'), 'rtl');
    assert.equal(await dir(`#lead-list .lead-name:text-is("${NOA}")`), 'rtl');
    assert.equal(await dir('#messages .msg.customer .content'), 'rtl');
    assert.equal(await dir('#lead-list .lead-name:text-is("Dana Cohen")'), 'ltr');
    // Customer messages sit at the start side, whatever the script.
    const box = await page.locator('#messages').boundingBox();
    const bubble = await page.locator('#messages .msg.customer .bubble').first().boundingBox();
    assert.ok(bubble.x - box.x < 40, 'customer bubble at the start');
  });
});
