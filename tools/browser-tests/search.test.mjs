// Search across conversations: highlighted snippets rendered as text, scores shown quietly,
// filters, a hit that opens the conversation at that message (back and forward work), Ctrl+K,
// Hebrew, 390 px.

import assert from 'node:assert/strict';
import { suite } from './lib/browser.mjs';
import { record, leadId } from './lib/flows.mjs';

/** Searches from the search screen and waits for the results. */
async function search(page, words) {
  // The address changes before the search starts: blank the status first, then wait until
  // this search has written its own.
  await page.evaluate(() => { document.querySelector('#search-status').textContent = ''; });
  await page.fill('#search-q', words);
  await page.press('#search-q', 'Enter');
  await page.waitForFunction((w) => new URLSearchParams(location.hash.split('?')[1]).get('q') === w
    && /\S/.test(document.querySelector('#search-status').textContent)
    && !/Searching/.test(document.querySelector('#search-status').textContent), words);
}

suite('search across conversations', ({ flow }) => {
  flow('staff find a moment in any conversation and open it at that message, and back returns to the results', async ({ page }) => {
    await page.click('#nav-search');
    await page.waitForSelector('#search-screen:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-q');
    await search(page, 'insurance');
    const hit = page.locator('#search-results .hit:has(.badge.kind:text-is("message"))').first();
    assert.equal((await hit.locator('mark').first().textContent()).toLowerCase(), 'insurance');
    assert.match(await hit.locator('.hit-lead').textContent(), /Dana Cohen/);
    assert.match(await hit.locator('.score').textContent(), /^\d\.\d{3}$/);
    await hit.locator('a').click();
    await page.waitForSelector('#messages .msg.target');
    assert.match(page.url(), /\/conversation\/[^/]+\/message\//);
    assert.match(await page.textContent('#messages .msg.target'), /insurance/);
    // Scrolled into view inside the conversation.
    const visible = await page.evaluate(() => {
      const m = document.querySelector('.msg.target').getBoundingClientRect();
      const c = document.querySelector('#messages').getBoundingClientRect();
      return m.top >= c.top - 1 && m.bottom <= c.bottom + 1;
    });
    assert.ok(visible, 'the message is in view');
    await page.goBack();
    await page.waitForSelector('#search-screen:not([hidden]) #search-results .hit');
    assert.equal(await page.inputValue('#search-q'), 'insurance');
    await page.goForward();
    await page.waitForSelector('#detail:not([hidden]) #messages .msg.target');
  });

  flow('what a customer typed is shown as text in a result, never run as HTML', async ({ page, server }) => {
    await record(server, {
      channel: 'WEB', externalUserId: 'web-html-1', role: 'CUSTOMER', displayName: 'Tag Tester',
      content: 'Please <b>upgrade</b> my seat & room <img src=x onerror="window.pwned=1">',
    });
    await page.click('#nav-search');
    await search(page, 'upgrade');
    const snippet = page.locator('#search-results .hit .snippet').first();
    assert.equal(await snippet.locator('mark').textContent(), 'upgrade');
    assert.match(await snippet.textContent(), /Please <b>upgrade<\/b> my seat & room/);
    assert.equal(await page.locator('#search-results img, #search-results b').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  });

  flow('a long list of results comes a page at a time', async ({ page, server }) => {
    for (let i = 0; i < 22; i += 1) {
      await record(server, { channel: 'SMS', phone: `+97250555${String(1000 + i)}`, role: 'CUSTOMER', content: `Is the lounge open today? (${i})` });
    }
    await page.click('#nav-search');
    await search(page, 'lounge');
    // (The address can change before the search starts: wait for the results themselves.)
    await page.waitForFunction(() => document.querySelectorAll('#search-results .hit').length === 20);
    assert.match(await page.textContent('#search-status'), /20\+ results/);
    await page.click('#search-more');
    await page.waitForFunction(() => document.querySelectorAll('#search-results .hit').length === 22);
    assert.equal(await page.isVisible('#search-more'), false);
    // Focus moves to the first new result.
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('#search-results a')].indexOf(document.activeElement)), 20);
  });

  flow('filters narrow the results, and one lead can be searched from its page', async ({ page, server }) => {
    await page.goto(`${server.url}/#/search?q=${encodeURIComponent('booking')}`);
    await page.waitForSelector('#search-results .hit');
    const all = await page.locator('#search-results .hit').count();
    await page.click('#search-filters-box summary');
    await page.check('#search-form input[name=kind][value=NOTE]');
    // The list, not the address, says when the filtered search has answered.
    await page.waitForFunction(() => /kinds=NOTE/.test(document.querySelector('#search-results').dataset.query ?? ''));
    const kinds = await page.locator('#search-results .hit .badge.kind').allTextContents();
    assert.ok(kinds.every((k) => k === 'note'), kinds.join());
    assert.ok(kinds.length < all);
    // From a lead's page: only that lead.
    const dana = await leadId(server, 'Dana Cohen');
    await page.goto(`${server.url}/#/lead/${dana}`);
    await page.waitForSelector('#detail:not([hidden])');
    await page.click('#lead-search-btn');
    await page.waitForSelector('#search-lead-filter:not([hidden])');
    await page.waitForFunction(() => document.querySelector('#search-lead-name').textContent === 'Dana Cohen');
    await search(page, 'flight');
    const leads = await page.locator('#search-results .hit-lead').allTextContents();
    assert.ok(leads.length > 0 && leads.every((n) => n === 'Dana Cohen'), leads.join());
  });

  flow('Hebrew words find Hebrew conversations, shown right to left', async ({ page }) => {
    await page.click('#nav-search');
    await search(page, 'מלון');
    const hit = page.locator('#search-results .hit:has(.badge.kind:text-is("message"))').first();
    assert.equal(await hit.locator('.hit-lead').textContent(), 'נועה לוי');
    assert.equal(await hit.locator('.snippet').evaluate((e) => getComputedStyle(e).direction), 'rtl');
    await hit.locator('a').click();
    await page.waitForSelector('#messages .msg.target');
    assert.match(await page.textContent('#messages .msg.target'), /מלון/);
  }, { locale: 'he-IL' });

  flow('Ctrl+K searches conversations for what was typed, and the keyboard walks the results', async ({ page }) => {
    await page.keyboard.press('Control+k');
    await page.fill('#palette-input', 'Rome');
    await page.waitForSelector('#palette-list li:has-text("Search conversations for")');
    await page.click('#palette-list li:has-text("Search conversations for")');
    await page.waitForSelector('#search-screen:not([hidden]) #search-results .hit');
    await page.focus('#search-q');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'hit-link');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
  });

  flow('search works on a 390 px phone without sideways scrolling', async ({ page }) => {
    await page.click('#nav-search');
    await search(page, 'booking');
    await page.waitForSelector('#search-results .hit');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 391), 'no horizontal scroll');
  }, { viewport: { width: 390, height: 844 } });

  flow('a lead that does not exist (or belongs to another workspace) says not found', async ({ page, server }) => {
    await page.goto(`${server.url}/#/lead/0190f0c2-0000-7000-8000-000000000000/conversation/0190f0c2-0000-7000-8000-000000000001/message/x`);
    await page.waitForSelector('#detail-erased:not([hidden])');
    assert.match(await page.textContent('#detail-erased'), /not found/);
  });
});
