// The selected lead: header, profile with provenance, summaries, notes.

import { Q } from './api.js';
import { gql, act, live, subscriptionErrors } from './client.js';
import { renderSessions, selectSession, onMessageAdded, setSessions, showWantedMessage } from './conversation.js';
import { $, h, toast, dtf, timeEl, channelName, words, pct, leadName, badge, plural } from './dom.js';
import { state } from './state.js';
import { leadBadges, showErased } from './privacy.js';
import { searchHash } from './search.js';

let leadSubs = [];

/** Drops the selected lead's streams (the live client is stopped on sign-out). */
export function forgetLead() { leadSubs = []; }

export function showDetail(on) { $('detail').hidden = !on; $('detail-empty').hidden = on; $('detail-erased').hidden = true; }

/**
 * Opens a lead (the router calls this for `#/lead/<id>[/conversation/<id>]`), with one of its
 * conversations when `sessionId` is given.
 */
export async function selectLead(id, sessionId = null, messageId = null) {
  state.wantedMessage = messageId;
  if (id === state.leadId && state.lead) { // (a failed load may be retried)
    if (sessionId && sessionId !== state.sessionId) await selectSession(sessionId);
    else if (messageId) showWantedMessage();
    return;
  }
  for (const s of leadSubs) s.close();
  clearTimeout(leadEventTimer); // the previous lead's reload is moot
  state.leadId = id;
  state.lead = null;
  state.sessionId = null;
  state.editingKey = null;
  state.openHistory.clear();
  state.wantedSession = sessionId;
  $('memory-panel').hidden = true;
  $('contact-form').hidden = true;
  $('new-conversation').hidden = true;
  for (const b of document.querySelectorAll('.lead-row')) {
    b.parentElement.dataset.id === id ? b.setAttribute('aria-current', 'true') : b.removeAttribute('aria-current');
  }
  leadSubs = [
    live.subscribe(Q.messageAdded, { leadId: id }, onMessageAdded),
    live.subscribe(Q.leadEvents, { leadId: id }, onLeadEvent),
  ];
  try {
    await loadDetail();
  } catch (e) {
    // Erased, or never there (another tenant's id looks the same): say so on the page.
    if (e.code === 'NOT_FOUND') showErased(id, true);
    throw e;
  }
}

/**
 * Loads the selected lead. `mode`: 'select' opens the conversation its address names, or its
 * newest, 'refresh' reloads the open one too, 'quiet' leaves the open conversation's messages
 * as they are. A conversation chosen while the lead was loading (a click, or another load
 * that opened the address's) stays open in every mode.
 */
export async function loadDetail(mode = 'select') {
  const id = state.leadId;
  const data = await gql(Q.leadDetail, { id });
  if (state.leadId !== id) return; // another lead was selected meanwhile
  const first = !state.lead;
  state.lead = data.lead;
  if (first) state.sessions = data.lead.sessions.nodes;
  else setSessions(data.lead.sessions.nodes);
  showDetail(true);
  renderHead();
  renderProfile();
  renderLastSummary();
  renderSummaries();
  renderNotes();
  if (!$('timeline-view').hidden) await loadTimeline();
  const keep = state.sessions.some((s) => s.id === state.sessionId);
  const wanted = state.wantedSession;
  state.wantedSession = null;
  if (mode === 'quiet' && keep) renderSessions();
  else await selectSession(keep ? state.sessionId : wanted ?? state.sessions[0]?.id ?? null, true);
}

// Contact ----------------------------------------------------------------------------------

function openContactForm() {
  const l = state.lead;
  $('contact-name').value = l.displayName ?? '';
  $('contact-phone').value = l.primaryPhone ?? '';
  $('contact-email').value = l.email ?? '';
  $('contact-form').hidden = false;
  $('contact-name').focus();
}

function closeContactForm() {
  $('contact-form').hidden = true;
  $('edit-contact-btn').focus(); // focus goes back where it came from
}

$('edit-contact-btn').addEventListener('click', openContactForm);
$('contact-cancel').addEventListener('click', closeContactForm);
$('contact-form').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeContactForm(); });
$('contact-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const l = state.lead;
  // Only what changed: an unchanged field is not written as a staff value.
  const input = {};
  const name = $('contact-name').value.trim();
  const phone = $('contact-phone').value.trim();
  const email = $('contact-email').value.trim();
  if (name && name !== (l.displayName ?? '')) input.displayName = name;
  if (phone && phone !== (l.primaryPhone ?? '')) input.phone = phone;
  if (email && email !== (l.email ?? '')) input.email = email;
  if (Object.keys(input).length) {
    const lead = (await gql(Q.updateLead, { id: l.id, input })).updateLead;
    if (state.leadId !== lead.id) return;
    Object.assign(state.lead, lead);
    renderHead();
    renderProfile();
    toast('Contact saved.', null, 'ok');
  }
  closeContactForm();
}));

// Timeline ---------------------------------------------------------------------------------

/** Shows the conversations or the timeline of the open lead. */
export function showView(name) {
  const timeline = name === 'timeline';
  $('timeline-view').hidden = !timeline;
  $('conversations-view').hidden = timeline;
  $('view-timeline').setAttribute('aria-selected', String(timeline));
  $('view-conversations').setAttribute('aria-selected', String(!timeline));
  if (timeline) act(loadTimeline)();
}

$('view-conversations').addEventListener('click', () => showView('conversations'));
$('view-timeline').addEventListener('click', () => showView('timeline'));

/** Who acted, as staff know them: a staff member's name rather than `staff:<id>`. */
const actorLabel = (c) => c.actorName || c.actor.replace(/^ai:.*/, 'AI').replace(/^channel:/, '');

/**
 * The lead's story, newest first: conversations with their summaries (dated by when the
 * conversation happened, not when it was summarized), notes, and profile changes.
 */
export async function loadTimeline() {
  const id = state.leadId;
  const data = await gql(Q.timeline, { id });
  if (state.leadId !== id) return;
  const items = [];
  for (const s of data.lead.sessions.nodes) {
    items.push({ at: s.startedAt, el: h('li', { class: 'tl conversation' },
      h('p', { class: 'meta small muted' }, badge(channelName(s.channel), 'channel'), ' ', timeEl(s.startedAt),
        ` · ${plural(s.messageCount, 'message')} · ${s.status === 'OPEN' ? 'open' : `closed (${words(s.closeReason)})`}`,
        h('a', { class: 'link', href: `#/lead/${encodeURIComponent(id)}/conversation/${encodeURIComponent(s.id)}` }, 'open conversation')),
      s.summary
        ? h('div', { class: 'summary' },
          h('p', { class: 'text', dir: 'auto' }, s.summary.summary),
          s.summary.nextStep ? h('p', { class: 'small', dir: 'auto' }, 'Next step: ', s.summary.nextStep) : null,
          h('p', { class: 'small muted' }, `summary by ${s.summary.provider}`, s.summary.sentiment ? ` · ${s.summary.sentiment}` : ''))
        : h('p', { class: 'small muted' }, s.status === 'OPEN' ? 'In progress.' : 'Not summarized yet.')) });
  }
  for (const n of data.lead.notes) {
    items.push({ at: n.createdAt, el: h('li', { class: 'tl note' },
      h('p', { class: 'meta small muted' }, badge(n.kind === 'NOTE' ? 'note' : words(n.kind), 'kind'), ' ',
        h('span', { dir: 'auto' }, n.author), ' · ', timeEl(n.createdAt)),
      h('p', { class: 'text', dir: 'auto' }, n.body)) });
  }
  for (const c of data.profileHistory) {
    items.push({ at: c.createdAt, el: h('li', { class: 'tl change' },
      h('p', { class: 'meta small muted' }, badge('profile', 'kind'), ' ', h('span', { class: 'actor', dir: 'auto' }, actorLabel(c)), ' · ', timeEl(c.createdAt)),
      h('p', { class: 'change', dir: 'auto' }, h('strong', {}, c.key), c.item ? ` [${c.item}]` : '', ': ',
        c.oldValue ?? '∅', ' → ', c.newValue ?? '∅', ' ', badge(words(c.outcome), `outcome-${c.outcome.toLowerCase()}`))) });
  }
  items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  $('timeline').replaceChildren(...items.map((i) => i.el));
  if (!items.length) $('timeline').append(h('li', { class: 'muted' }, 'Nothing has happened yet.'));
}

export function renderHead() {
  const l = state.lead;
  $('lead-name').textContent = leadName(l);
  $('lead-badges').replaceChildren(...leadBadges(l));
  $('lead-search-btn').href = searchHash({ lead: l.id });
  $('lead-audit-link').href = `#/admin/audit?lead=${encodeURIComponent(l.id)}`;
  const parts = [];
  if (l.primaryPhone) parts.push(h('span', { dir: 'ltr' }, l.primaryPhone));
  if (l.email) parts.push(h('span', { dir: 'ltr' }, l.email));
  parts.push(h('span', { class: 'muted' }, `${plural(l.sessionCount, 'conversation')} · ${plural(l.messageCount, 'message')} · first seen `), timeEl(l.createdAt));
  $('lead-contacts').replaceChildren(...parts);
  $('lead-identities').replaceChildren(...l.identities.map((i) =>
    h('li', { class: 'chip', title: `first seen on ${channelName(i.channel)}` },
      h('span', { class: 'kind' }, words(i.kind)), h('span', { dir: 'auto' }, i.value))));
}

// Profile ----------------------------------------------------------------------------------

export function fieldTitle(f) {
  const lines = f.evidence.map((e) => `“${e.snippet}”`);
  lines.push(`${f.updatedBy}, ${dtf.format(new Date(f.updatedAt))}`);
  return lines.join('\n');
}

export function renderProfile() {
  if (state.editingKey) return; // re-rendered when the edit ends
  const leadId = state.leadId;
  $('profile').replaceChildren(...state.lead.profile.map((f) => {
    const li = h('li', { class: `field${f.rejected ? ' rejected' : ''}` },
      h('div', { class: 'field-main' },
        h('span', { class: 'key' }, f.key),
        h('span', { class: 'value', dir: 'auto', title: fieldTitle(f) },
          f.value ?? (f.rejected ? 'rejected' : 'empty')),
        h('span', { class: 'badges' },
          badge(f.source, `src-${f.source.toLowerCase()}`),
          h('span', { class: 'conf', title: 'confidence' }, pct(f.confidence)),
          f.locked && !f.rejected ? badge('locked', 'locked') : null,
          f.rejected ? badge('rejected', 'rejected') : null)),
      h('div', { class: 'field-actions' },
        h('button', { type: 'button', class: 'link write', 'aria-label': `Edit ${f.key}`, onclick: () => editField(li, f) }, 'Edit'),
        f.rejected ? null : h('button', {
          type: 'button', class: 'link write', 'aria-label': `Reject ${f.key}`,
          onclick: act(() => confirm(`Reject “${f.key}”? It is emptied and the AI cannot set it until released.`)
            && profileMutation(Q.rejectField, { leadId, key: f.key })),
        }, 'Reject'),
        f.locked || f.rejected ? h('button', {
          type: 'button', class: 'link write', 'aria-label': `Release ${f.key}`,
          onclick: act(() => profileMutation(Q.releaseField, { leadId, key: f.key })),
        }, 'Release') : null,
        h('button', {
          type: 'button', class: 'link', 'aria-expanded': String(state.openHistory.has(f.key)),
          'aria-label': `History of ${f.key}`, onclick: act((ev) => toggleHistory(li, f.key, ev.currentTarget)),
        }, 'History')));
    if (state.openHistory.has(f.key)) act(() => loadHistory(li, f.key))();
    return li;
  }));
  if (!state.lead.profile.length) $('profile').append(h('li', { class: 'muted' }, 'Nothing known yet.'));
}

export async function profileMutation(query, vars, focusAfter = null) {
  const data = await gql(query, vars);
  const lead = Object.values(data)[0];
  if (state.leadId !== vars.leadId) return;
  state.lead.profile = lead.profile;
  state.editingKey = null;
  renderProfile();
  if (focusAfter) focusField(vars.key, focusAfter);
}

/** Puts focus back on a field's button after its row was redrawn. */
function focusField(key, action) {
  const button = [...$('profile').querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === `${action} ${key}`);
  button?.focus();
}

export function editField(li, f) {
  state.editingKey = f.key;
  const input = h('input', { value: f.value ?? '', dir: 'auto', 'aria-label': `New value for ${f.key}`, required: true });
  const cancel = () => { state.editingKey = null; renderProfile(); focusField(f.key, 'Edit'); };
  const form = h('form', { class: 'inline-form' }, input,
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
    h('button', { type: 'button', onclick: cancel }, 'Cancel'));
  form.addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    await profileMutation(Q.setField, { leadId: state.leadId, key: f.key, value: input.value.trim() }, 'Edit');
  }));
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') cancel(); });
  li.querySelector('.value').replaceWith(form);
  li.querySelector('.field-actions').hidden = true;
  input.focus();
  input.select();
}

$('add-field').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const key = $('add-field-key').value.trim();
  const value = $('add-field-value').value.trim();
  state.editingKey = null;
  await profileMutation(Q.setField, { leadId: state.leadId, key, value });
  ev.target.reset();
}));

export async function toggleHistory(li, key, button) {
  const open = !state.openHistory.has(key);
  button.setAttribute('aria-expanded', String(open));
  if (open) { state.openHistory.add(key); await loadHistory(li, key); } else {
    state.openHistory.delete(key);
    li.querySelector('.history')?.remove();
  }
}

export async function loadHistory(li, key) {
  const leadId = state.leadId;
  const data = await gql(Q.history, { leadId, key });
  if (state.leadId !== leadId || !li.isConnected) return;
  const rows = data.profileHistory.map((c) => h('li', {},
    timeEl(c.createdAt),
    badge(words(c.outcome), `outcome-${c.outcome.toLowerCase()}`),
    h('span', { class: 'change', dir: 'auto' },
      c.item ? `[${c.item}] ` : '', c.oldValue ?? '∅', ' → ', c.newValue ?? '∅'),
    h('span', { class: 'muted' }, `${c.source.toLowerCase()} ${pct(c.confidence)} · `, h('span', { class: 'actor', dir: 'auto' }, actorLabel(c)))));
  const list = h('ol', { class: 'history', 'aria-label': `History of ${key}` },
    ...(rows.length ? rows : [h('li', { class: 'muted' }, 'No history.')]));
  li.querySelector('.history')?.remove();
  li.append(list);
}

// Summaries --------------------------------------------------------------------------------

export function renderLastSummary() {
  const s = state.lead.lastSummary;
  $('last-summary').replaceChildren(s
    ? h('div', { class: 'summary' },
      h('p', { class: 'meta small muted' }, badge(channelName(s.channel), 'channel'), ' ', timeEl(s.conversationEndedAt ?? s.at)),
      h('p', { class: 'text', dir: 'auto' }, s.text))
    : h('p', { class: 'muted' }, 'No conversation has been summarized yet.'));
}

export function renderSummaries() {
  const list = state.lead.summaries;
  $('summaries-box').hidden = !list.length;
  $('summaries').replaceChildren(...list.map((s) => h('li', { class: 'summary' },
    h('p', { class: 'meta small muted' },
      timeEl(s.createdAt), ' ', badge(s.provider, 'provider'),
      s.fallbackReason ? badge(`fallback: ${s.fallbackReason}`, 'warn') : null,
      state.sessions.some((x) => x.id === s.sessionId)
        ? h('button', { type: 'button', class: 'link', onclick: act(() => selectSession(s.sessionId)) }, 'open conversation')
        : null),
    h('p', { class: 'text', dir: 'auto' }, s.summary))));
}

// Notes ------------------------------------------------------------------------------------

export function renderNotes() {
  // Pinned first (they are always in the memory context), otherwise newest first.
  const notes = [...state.lead.notes].sort((a, b) => b.pinned - a.pinned);
  $('notes').replaceChildren(...notes.map((n) => h('li', { class: `note${n.pinned ? ' pinned' : ''}` },
    h('p', { class: 'meta small muted' },
      n.pinned ? badge('pinned', 'pin') : null,
      n.kind !== 'NOTE' ? badge(words(n.kind), 'kind') : null,
      h('span', { dir: 'auto' }, n.author), ' · ', timeEl(n.createdAt),
      h('span', { class: 'spacer' }),
      h('button', {
        type: 'button', class: 'link write', 'aria-pressed': String(n.pinned),
        onclick: act(async () => replaceNote((await gql(Q.pinNote, { id: n.id, pinned: !n.pinned })).pinNote)),
      }, n.pinned ? 'Unpin' : 'Pin'),
      h('button', {
        type: 'button', class: 'link danger write', 'aria-label': 'Delete note',
        onclick: act(async () => {
          if (!confirm('Delete this note?')) return;
          const deleted = (await gql(Q.deleteNote, { id: n.id })).deleteNote;
          state.lead.notes = state.lead.notes.filter((x) => x.id !== deleted);
          renderNotes();
        }),
      }, 'Delete')),
    h('p', { class: 'text', dir: 'auto' }, n.body))));
  if (!notes.length) $('notes').append(h('li', { class: 'muted' }, 'No notes yet.'));
}

export function replaceNote(note) {
  if (!state.lead) return;
  state.lead.notes = state.lead.notes.map((x) => (x.id === note.id ? note : x));
  renderNotes();
}

$('note-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const leadId = state.leadId;
  const input = { leadId, body: $('note-body').value.trim(), pinned: $('note-pinned').checked };
  const note = (await gql(Q.addNote, { input })).addNote;
  ev.target.reset();
  if (state.leadId === leadId) addNoteShown(note);
}));

/** Shows a note just written (unless the live stream already did). */
export function addNoteShown(note) {
  if (!state.lead || state.lead.notes.some((x) => x.id === note.id)) return;
  state.lead.notes.unshift(note);
  renderNotes();
}

// Live around the selected lead: sessions opening/closing, summaries and notes.
let leadEventTimer = 0;
let leadEventMode = 'quiet';
export function onLeadEvent(payload) {
  if (payload.errors?.length) { subscriptionErrors(payload.errors); return; }
  const ev = payload.data?.conversationEvents;
  if (!ev) return;
  clearTimeout(leadEventTimer);
  // New sessions, summaries, notes: one quiet reload of the detail per burst (RESYNC: a full one).
  const mode = ev.type === 'RESYNC' || leadEventMode === 'refresh' ? 'refresh' : 'quiet';
  leadEventMode = mode;
  leadEventTimer = setTimeout(act(() => { leadEventMode = 'quiet'; return loadDetail(mode); }), 300);
}
