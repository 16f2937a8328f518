// Acting on a conversation: close it, re-run its summary, note it, edit the contact; focus
// stays where staff work.

import assert from 'node:assert/strict';
import { suite } from './lib/browser.mjs';
import { openLead, record } from './lib/flows.mjs';

const MICHAEL = 'Michael Brown';

suite('acting on a conversation', ({ flow }) => {
  flow('staff close an open conversation and its summary follows', async ({ page, server }) => {
    await record(server, { channel: 'WEB', externalUserId: 'web-visitor-42', content: 'Still waiting for my confirmation email' });
    await openLead(page, MICHAEL);
    await page.waitForSelector('#session-tabs .tab.open[aria-selected=true]');
    const summaries = await page.locator('#summaries li').count();
    page.once('dialog', (d) => d.accept());
    await page.click('#close-session');
    await page.waitForSelector('#session-tabs .tab.closed[aria-selected=true]');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tab');
    assert.equal(await page.isVisible('#close-session'), false);
    // The job runner writes the summary; the page picks it up live.
    await page.waitForFunction((n) => document.querySelectorAll('#summaries li').length > n, summaries, { timeout: 20000 });
  });

  flow('staff re-run the summary of a closed conversation', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.waitForSelector('#summarize-session:visible');
    await page.click('#summarize-session');
    await page.waitForSelector('.toast:has-text("Summary written again")');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'summarize-session');
  });

  flow('staff add a note about the conversation they are reading', async ({ page, server }) => {
    await openLead(page, 'Dana Cohen');
    await page.click('#session-note-btn');
    await page.fill('#session-note-body', 'Asked twice about travel insurance: send the quote');
    await page.click('#session-note-form button[type=submit]');
    await page.waitForSelector('#notes li:has-text("send the quote")');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'session-note-btn');
    const sessionId = decodeURIComponent(page.url().split('/conversation/')[1] ?? '')
      || await page.getAttribute('#session-tabs [aria-selected=true]', 'data-id');
    const notes = await server.gql(`query($id: ID!) { session(id: $id) { lead { notes { body sessionId } } } }`, { id: sessionId });
    const note = notes.session.lead.notes.find((n) => n.body.includes('send the quote'));
    assert.equal(note.sessionId, sessionId);
  });

  flow('staff correct the contact: name, phone in local format and email', async ({ page }) => {
    await openLead(page, MICHAEL);
    await page.click('#edit-contact-btn');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'contact-name');
    await page.fill('#contact-name', 'Michael J. Brown');
    await page.fill('#contact-phone', '+1 415 555 0199');
    await page.fill('#contact-email', 'mj.brown@example.com');
    await page.click('#contact-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#lead-name').textContent === 'Michael J. Brown');
    assert.match(await page.textContent('#lead-contacts'), /\+14155550199/);
    assert.match(await page.textContent('#lead-contacts'), /mj\.brown@example\.com/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'edit-contact-btn');
    // Staff values show as MANUAL in the profile.
    const name = page.locator('#profile li:has(.key:text-is("name"))');
    assert.match(await name.textContent(), /MANUAL/);
    // The list row follows.
    await page.waitForSelector('#lead-list .lead-name:text-is("Michael J. Brown")');
  });

  flow('an invalid email is refused with the field named and the form stays open', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.click('#edit-contact-btn');
    await page.evaluate(() => { document.querySelector('#contact-email').type = 'text'; });
    await page.fill('#contact-email', 'not an email');
    await page.click('#contact-form button[type=submit]');
    await page.waitForSelector('.toast.error');
    assert.match(await page.textContent('.toast.error'), /BAD_USER_INPUT/);
    assert.equal(await page.isVisible('#contact-form'), true);
  });

  flow('after saving a profile field, focus returns to its Edit button', async ({ page }) => {
    await openLead(page, 'Dana Cohen');
    await page.click('#profile button[aria-label="Edit name"]');
    await page.fill('#profile input[aria-label="New value for name"]', 'Dana Cohen-Levi');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#profile .value:text-is("Dana Cohen-Levi")');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Edit name');
  });
});
