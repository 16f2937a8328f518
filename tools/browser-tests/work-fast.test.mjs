// Working fast: deep links with back/forward, the Ctrl/Cmd+K palette, keyboard navigation,
// visible focus rings, a 390 px layout, and a page the Content-Security-Policy never blocks.

import assert from 'node:assert/strict';
import { suite } from './lib/browser.mjs';
import { leadId, openLead, record } from './lib/flows.mjs';

const focused = (page) => page.evaluate(() => document.activeElement?.textContent ?? '');

suite('working fast', ({ flow }) => {
  flow('every lead and conversation has its own address, and back and forward work', async ({ page, server }) => {
    await openLead(page, 'Dana Cohen');
    const danaUrl = page.url();
    assert.match(danaUrl, /#\/lead\//);
    // Another conversation of Dana's: its own URL.
    const selected = await page.locator('#session-tabs [role=tab]').nth(1).getAttribute('data-id');
    await page.locator('#session-tabs [role=tab]').nth(1).click();
    await page.waitForURL(/\/conversation\//);
    const conversationUrl = page.url();
    assert.ok(conversationUrl.includes(encodeURIComponent(selected)), conversationUrl);
    // The address changes first; the tab is chosen when the router has read it.
    await page.waitForFunction((id) => document.querySelector('#session-tabs [aria-selected=true]')?.dataset.id === id, selected);
    await openLead(page, 'Michael Brown');
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('#lead-name').textContent === 'Dana Cohen');
    assert.equal(page.url(), conversationUrl);
    // The lead shows first, then its conversation from the address is chosen.
    await page.waitForFunction((id) => document.querySelector('#session-tabs [aria-selected=true]')?.dataset.id === id, selected);
    await page.goForward();
    await page.waitForFunction(() => document.querySelector('#lead-name').textContent === 'Michael Brown');
    // A link opened fresh (another tab, a bookmark) lands on the same conversation after sign-in.
    const id = await leadId(server, 'Dana Cohen');
    await page.goto(conversationUrl);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#lead-name')?.textContent === 'Dana Cohen');
    await page.waitForFunction((id) => document.querySelector('#session-tabs [aria-selected=true]')?.dataset.id === id, selected);
    assert.ok(conversationUrl.includes(encodeURIComponent(id)));
  });

  flow('Ctrl+K jumps to a lead by name or phone, and to an action', async ({ page }) => {
    await page.keyboard.press('Control+k');
    await page.waitForSelector('#palette[open]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'palette-input');
    await page.keyboard.type('0535557788');
    await page.waitForSelector('#palette-list li[aria-selected=true]:has-text("נועה לוי")');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#lead-name').textContent === 'נועה לוי');
    assert.equal(await page.isVisible('#palette'), false);
    await page.keyboard.press('Meta+k');
    await page.waitForSelector('#palette[open]');
    await page.keyboard.type('memory');
    await page.waitForSelector('#palette-list li[aria-selected=true]:has-text("Show the memory context")');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#memory-panel:not([hidden])');
    // Escape closes the palette and puts focus back.
    await page.focus('#lead-search');
    await page.keyboard.press('Control+k');
    await page.waitForSelector('#palette[open]');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'lead-search');
  });

  flow('arrow keys move through the list and the conversation tabs; Alt+J and Alt+K step through leads', async ({ page }) => {
    await page.focus('#lead-list .lead-row >> nth=0');
    const first = await focused(page);
    await page.keyboard.press('ArrowDown');
    assert.notEqual(await focused(page), first);
    await page.keyboard.press('ArrowUp');
    assert.equal(await focused(page), first);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    const names = await page.locator('#lead-list .lead-name').allTextContents();
    await page.keyboard.press('Alt+j');
    await page.waitForFunction((n) => document.querySelector('#lead-name').textContent === n, names[1]);
    await page.keyboard.press('Alt+k');
    await page.waitForFunction((n) => document.querySelector('#lead-name').textContent === n, names[0]);
    // Tabs: Dana has two conversations.
    await openLead(page, 'Dana Cohen');
    await page.focus('#session-tabs [aria-selected=true]');
    const before = await page.getAttribute('#session-tabs [aria-selected=true]', 'data-id');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((b) => document.querySelector('#session-tabs [aria-selected=true]')?.dataset.id !== b, before);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tab');
  });

  flow('keyboard focus is always visible', async ({ page }) => {
    await page.keyboard.press('Tab');
    for (let i = 0; i < 6; i += 1) {
      const outline = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
      });
      assert.notEqual(outline.style, 'none', `no focus ring on ${await page.evaluate(() => document.activeElement.outerHTML.slice(0, 80))}`);
      assert.ok(outline.width >= 2);
      await page.keyboard.press('Tab');
    }
  });

  flow('on a 390 px phone the page fits the screen and every screen is usable', async ({ page }) => {
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    assert.ok(await fits(), 'the lead list fits');
    await openLead(page, 'Dana Cohen');
    assert.ok(await fits(), 'the lead page fits');
    const chat = await page.locator('#messages').boundingBox();
    assert.ok(chat.width <= 390 && chat.width > 300, `chat is ${chat.width}px wide`);
    await page.click('#view-timeline');
    await page.waitForSelector('#timeline li');
    assert.ok(await fits(), 'the timeline fits');
    await page.click('#nav-admin');
    await page.waitForSelector('#users tr');
    assert.ok(await fits(), 'the admin screen fits');
    await page.keyboard.press('Control+k');
    const dialog = await page.locator('#palette').boundingBox();
    assert.ok(dialog.width <= 390);
  }, { viewport: { width: 390, height: 844 } });

  flow('the dashboard runs under its Content-Security-Policy without a single violation', async ({ page, server, problems }) => {
    await page.evaluate(() => {
      window.violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await openLead(page, 'Dana Cohen');
    await page.click('#memory-btn');
    await page.waitForSelector('#memory-text:not(:empty)');
    // Every screen, the newer ones too (hash changes keep the page and its listener).
    await page.evaluate(() => { location.hash = '#/search?q=Rome'; });
    await page.waitForSelector('#search-results .hit mark');
    for (const tab of ['webhooks', 'exports', 'settings', 'audit']) {
      await page.evaluate((t) => { location.hash = `#/admin/${t}`; }, tab);
      await page.waitForSelector(`#admin-${tab}:not([hidden])`);
    }
    await page.waitForSelector('#audit tr');
    assert.deepEqual(await page.evaluate(() => window.violations), []);
    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused/.test(p)), []);
    assert.equal(server.url.startsWith('http://127.0.0.1'), true);
    const live = await page.textContent('#live-status');
    assert.equal(live, 'live');
  });

  flow('focus returns where it came from when a panel or dialog closes', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.click('#memory-btn');
    await page.click('#memory-close');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'memory-btn');
    await page.click('#edit-contact-btn');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'edit-contact-btn');
    await page.click('#erase-btn');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#erase-dialog').open);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'erase-btn');
  });

  flow('the wheel scrolls the conversation under it, never the page behind it', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.waitForSelector('#messages .msg');
    const box = await page.locator('#messages').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const before = await page.evaluate(() => [document.querySelector('#detail').scrollTop, document.scrollingElement.scrollTop]);
    // At the bottom of the conversation already: more wheel must not move anything else.
    for (let i = 0; i < 5; i += 1) await page.mouse.wheel(0, 400);
    await page.waitForTimeout(300);
    const after = await page.evaluate(() => [document.querySelector('#detail').scrollTop, document.scrollingElement.scrollTop]);
    assert.deepEqual(after, before);
  });

  flow('a long strip of conversations scrolls, and the chosen one is brought into view', async ({ page, server }) => {
    // Twelve conversations: write, close, write again.
    for (let i = 0; i < 12; i += 1) {
      const r = await record(server, { channel: 'WEB', externalUserId: 'many-sessions', role: 'CUSTOMER', displayName: 'Many Talks', content: `visit ${i}` });
      await server.gql('mutation($id: ID!) { closeSession(id: $id) { id } }', { id: r.session.id });
    }
    await page.waitForSelector('#lead-list .lead-name:text-is("Many Talks")');
    await openLead(page, 'Many Talks');
    await page.waitForFunction(() => document.querySelectorAll('#session-tabs [role=tab]').length >= 10);
    const strip = await page.evaluate(() => { const t = document.querySelector('#session-tabs'); return [t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX]; });
    assert.ok(strip[0] > strip[1], `the strip overflows (${strip})`);
    assert.equal(strip[2], 'auto');
    await page.focus('#session-tabs [aria-selected=true]');
    await page.keyboard.press('End');
    await page.waitForFunction(() => {
      const t = document.querySelector('#session-tabs');
      const sel = t.querySelector('[aria-selected=true]');
      const a = sel.getBoundingClientRect(); const b = t.getBoundingClientRect();
      return sel === t.lastElementChild && a.left >= b.left - 1 && a.right <= b.right + 1;
    });
  }, { viewport: { width: 390, height: 844 } });
});
