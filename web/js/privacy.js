// Privacy on the lead page: the subject-access download and erasure behind a typed confirmation
// (admins), the "erased" notice, the "previously erased" badge, and what ingest redacted from a
// message.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, badge, dtf, leadName, toast } from './dom.js';
import { state } from './state.js';

/** What a redaction kind is called on a message ("card number removed"). */
export const PII_LABEL = {
  CARD: 'card number', BANK_ACCOUNT: 'bank account', ISRAELI_ID: 'ID number',
  US_SSN: 'social security number', ONE_TIME_CODE: 'one-time code',
};

/** Badges for what ingest removed from a message, e.g. "card number removed". */
export function redactionBadges(m) {
  return (m.redactions ?? []).map((r) => badge(
    `${PII_LABEL[r.kind] ?? r.kind.toLowerCase()} removed${r.count > 1 ? ` ×${r.count}` : ''}`, 'redacted'));
}

/** The badges under the lead's name. */
export function leadBadges(l) {
  return l.previouslyErased ? [h('span', {
    class: 'badge warn', title: 'One of this customer\'s phone numbers, emails or channel ids belonged to a customer who was erased: they came back after asking to be forgotten. What they said before is gone.',
  }, 'previously erased')] : [];
}

// Leads erased from this browser tab: their page says so rather than "not found".
const erased = new Map(); // leadId → erasedAt

/** Replaces the lead's page by a notice that it was erased (or is not found at all). */
export function showErased(id, unknown = false) {
  if (state.leadId !== id) return;
  state.lead = null;
  $('detail').hidden = true;
  $('detail-empty').hidden = true;
  $('detail-erased').hidden = false;
  const at = erased.get(id);
  $('detail-erased').querySelector('h2').textContent = at || !unknown ? 'This customer was erased' : 'This lead is not found';
  $('detail-erased-text').textContent = at
    ? `Erased ${dtf.format(new Date(at))}. Only a tombstone remains; nothing about them can be shown.`
    : unknown ? 'It does not exist, or it was erased.' : 'Nothing about them can be shown any more.';
}

// The word to type: the customer's name, or ERASE (handy when the name is in another script).
const WORD = 'ERASE';
const norm = (s) => s.trim().normalize('NFC').toLocaleLowerCase();
const confirmed = () => {
  const typed = norm($('erase-confirm').value);
  return (typed === norm(WORD) || (state.lead && typed === norm(leadName(state.lead))))
    && $('erase-reason').value.trim().length > 0;
};

$('erase-btn').addEventListener('click', () => {
  if (!state.lead) return;
  $('erase-form').reset();
  $('erase-error').hidden = true;
  $('erase-name').textContent = leadName(state.lead);
  $('erase-word').replaceChildren(h('bdi', {}, leadName(state.lead)), ' or ', h('bdi', {}, WORD));
  $('erase-submit').disabled = true;
  $('erase-dialog').showModal();
  $('erase-confirm').focus();
});

$('erase-form').addEventListener('input', () => { $('erase-submit').disabled = !confirmed(); });
$('erase-cancel').addEventListener('click', () => { $('erase-dialog').close(); });
$('erase-dialog').addEventListener('close', () => { if (state.lead) $('erase-btn').focus(); });

$('erase-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  if (!confirmed() || !state.lead) return;
  const id = state.leadId;
  const name = leadName(state.lead);
  $('erase-submit').disabled = true;
  let receipt;
  try {
    receipt = (await gql(Q.eraseLead, { id, reason: $('erase-reason').value.trim() }, { quiet: true })).eraseLead;
  } catch (e) {
    $('erase-error').hidden = false;
    $('erase-error').replaceChildren(h('strong', {}, e.code || 'ERROR'), ' ', e.message);
    $('erase-submit').disabled = !confirmed();
    return;
  }
  erased.set(id, receipt.erasedAt);
  $('erase-dialog').close();
  const { removeLead } = await import('./leads.js');
  removeLead(id); // (the live LEAD_ERASED event does the same in every other tab)
  showErased(id);
  $('detail-erased').tabIndex = -1;
  $('detail-erased').focus();
  const rows = receipt.removed.reduce((n, r) => n + r.rows, 0);
  toast(`${name} was erased (${rows} records removed).`, null, 'ok');
}));

// Subject access: the server signs a link valid for a few minutes; the browser downloads the
// ZIP from it (no token in the URL the user sees beyond that short-lived signature).
$('subject-export-btn').addEventListener('click', act(async () => {
  if (!state.lead) return;
  const name = leadName(state.lead);
  const button = $('subject-export-btn');
  button.disabled = true;
  try {
    const link = (await gql(Q.exportLeadData, { id: state.leadId })).exportLeadData;
    const a = h('a', { href: link.url, download: '', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    toast(`Downloading everything held about ${name}. The link works until ${dtf.format(new Date(link.expiresAt))}.`, null, 'ok');
  } finally {
    button.disabled = false;
    button.focus();
  }
}));
