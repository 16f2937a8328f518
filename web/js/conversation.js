// A lead's conversations: session tabs and live messages.

import { Q } from './api.js';
import { gql, act, subscriptionErrors } from './client.js';
import { $, h, toast, dtf, timeEl, channelName, words, badge, plural } from './dom.js';
import { addNoteShown, loadDetail } from './lead.js';
import { state } from './state.js';
import { redactionBadges } from './privacy.js';

export function renderSessions() {
  // Redrawing the tabs must not drop the keyboard focus that was on one of them.
  const hadFocus = $('session-tabs').contains(document.activeElement);
  const tabs = state.sessions.map((s) => h('button', {
    type: 'button', role: 'tab', class: `tab ${s.status.toLowerCase()}${state.announced.has(s.id) ? ' new' : ''}`,
    'aria-selected': String(s.id === state.sessionId), 'data-id': s.id,
    tabindex: s.id === state.sessionId ? '0' : '-1',
    title: [plural(s.messageCount, 'message'), `last ${dtf.format(new Date(s.lastMessageAt))}`,
      s.closeReason && `closed: ${words(s.closeReason)}`].filter(Boolean).join(' · '),
    onclick: () => openSession(s.id),
  },
  h('span', { class: 'dot', 'aria-hidden': 'true' }),
  `${channelName(s.channel)} · ${s.status === 'OPEN' ? 'open' : 'closed'} · `, timeEl(s.startedAt)));
  $('session-tabs').replaceChildren(...tabs);
  if (hadFocus) $('session-tabs').querySelector('[aria-selected="true"]')?.focus();
  if (!tabs.length) $('session-tabs').append(h('span', { class: 'muted' }, 'No conversations yet.'));
  const s = state.sessions.find((x) => x.id === state.sessionId);
  $('session-actions').hidden = !s;
  $('close-session').hidden = s?.status !== 'OPEN';
  $('summarize-session').hidden = s?.status !== 'CLOSED';
  $('session-tabs').querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  $('session-meta').replaceChildren(...(s ? [
    'Started ', timeEl(s.startedAt), ' · last message ', timeEl(s.lastMessageAt),
    ...(s.closedAt ? [' · closed ', timeEl(s.closedAt), ` (${words(s.closeReason)})`] : [' · open']),
    ` · ${plural(s.messageCount, 'message')}`,
    s.intents.length ? ` · ${s.intents.map(words).join(', ')}` : '',
  ] : []));
}

/** A conversation's own URL: opening it there keeps back/forward working. */
export function openSession(id) {
  state.wantedMessage = null;
  location.hash = `#/lead/${encodeURIComponent(state.leadId)}/conversation/${encodeURIComponent(id)}`;
}

export async function selectSession(id, force = false) {
  if (id === state.sessionId && !force) return;
  state.sessionId = id;
  state.announced.delete(id);
  if (id === $('new-conversation').dataset.id) $('new-conversation').hidden = true;
  $('session-note-form').hidden = true;
  renderSessions();
  const list = $('messages');
  if (!id) { list.replaceChildren(); state.messageIds.clear(); return; }
  const leadId = state.leadId;
  const data = await gql(Q.messages, { id });
  if (state.sessionId !== id || state.leadId !== leadId) return;
  const { messages, ...session } = data.session;
  state.sessions = state.sessions.map((s) => (s.id === id ? session : s));
  renderSessions();
  state.messageIds = new Set(messages.nodes.map((m) => m.id));
  // The newest 100, oldest first: a long conversation shows its latest part, and live
  // messages can keep arriving at the bottom.
  state.messagesTruncated = messages.pageInfo.hasPreviousPage;
  list.replaceChildren(...messages.nodes.map(messageEl));
  if (state.messagesTruncated) {
    list.prepend(h('li', { class: 'msg system' }, h('div', { class: 'bubble' }, `Showing the newest 100 of ${session.messageCount} messages.`)));
  }
  list.scrollTop = list.scrollHeight;
  showWantedMessage();
}

/**
 * A search hit's address names a message: scroll it into view (inside the conversation, not
 * the page) and mark it until another message is asked for.
 */
export function showWantedMessage() {
  const id = state.wantedMessage;
  if (!id) return;
  const list = $('messages');
  for (const old of list.querySelectorAll('.msg.target')) { old.classList.remove('target'); old.removeAttribute('aria-current'); }
  const li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (!li) {
    toast('That message is not among the newest 100 of this conversation.', 'NOT_SHOWN');
    return;
  }
  li.classList.add('target');
  li.setAttribute('aria-current', 'true');
  li.tabIndex = -1;
  li.focus({ preventScroll: true });
  // Centre it in the conversation, then move the page only as far as needed (a phone).
  const offset = li.getBoundingClientRect().top - list.getBoundingClientRect().top;
  list.scrollTop += offset - (list.clientHeight - li.offsetHeight) / 2;
  li.scrollIntoView({ block: 'nearest' });
}

const ROLE_LABEL = { CUSTOMER: 'Customer', AGENT: 'Agent', STAFF: 'Staff', SYSTEM: 'System' };

export function messageEl(m) {
  return h('li', { class: `msg ${m.role.toLowerCase()}`, 'data-id': m.id },
    h('div', { class: 'bubble' },
      h('p', { class: 'content', dir: 'auto' }, m.content),
      h('p', { class: 'meta' },
        m.role === 'CUSTOMER' ? null : h('span', { class: 'who' }, ROLE_LABEL[m.role] || m.role),
        m.intent && m.intent !== 'OTHER' ? badge(words(m.intent), 'intent') : null,
        ...redactionBadges(m),
        timeEl(m.occurredAt),
        m.deliveryStatus ? h('span', { class: `delivery delivery-${m.deliveryStatus.replace(/\W/g, '')}` }, m.deliveryStatus) : null)));
}

let sessionsTimer = 0;
export function onMessageAdded(payload) {
  if (payload.errors?.length) {
    // CONFLICT means this stream fell behind: reload the conversation (it resubscribes itself).
    if (subscriptionErrors(payload.errors) === 'CONFLICT') act(() => loadDetail('refresh'))();
    return;
  }
  const m = payload.data?.messageAdded;
  if (!m || m.leadId !== state.leadId) return;
  if (m.sessionId === state.sessionId) {
    if (state.messageIds.has(m.id)) return;
    state.messageIds.add(m.id);
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(messageEl(m));
    if (atBottom) list.scrollTop = list.scrollHeight; // follow only if the reader is not scrolled up
    const s = state.sessions.find((x) => x.id === m.sessionId);
    if (s) { s.messageCount += 1; s.lastMessageAt = m.occurredAt; renderSessions(); }
  } else {
    // Another (possibly new) session of this lead: refresh the tabs.
    clearTimeout(sessionsTimer);
    sessionsTimer = setTimeout(act(refreshSessions), 200);
  }
}

export async function refreshSessions() {
  const leadId = state.leadId;
  const data = await gql(Q.sessions, { id: leadId });
  if (state.leadId !== leadId) return;
  setSessions(data.lead.sessions.nodes);
  if (!state.sessionId && state.sessions.length) await selectSession(state.sessions[0].id);
  else renderSessions();
}

/**
 * Takes a fresh list of the lead's conversations. One that was not there before, while staff
 * read another, is announced (with a button to open it) rather than silently added.
 */
export function setSessions(sessions) {
  const known = new Set(state.sessions.map((s) => s.id));
  const fresh = state.sessionId && state.sessions.length
    ? sessions.filter((s) => !known.has(s.id) && s.id !== state.sessionId) : [];
  state.sessions = sessions;
  if (!fresh.length) return;
  const s = fresh[0];
  state.announced.add(s.id);
  $('new-conversation').dataset.id = s.id;
  $('new-conversation-text').textContent = `New conversation on ${channelName(s.channel)}, started `;
  $('new-conversation-text').append(timeEl(s.startedAt), '.');
  $('new-conversation').hidden = false;
}

$('new-conversation-open').addEventListener('click', () => {
  const id = $('new-conversation').dataset.id;
  $('new-conversation').hidden = true;
  openSession(id);
  $('session-tabs').querySelector(`[data-id="${CSS.escape(id)}"]`)?.focus();
});
$('new-conversation-dismiss').addEventListener('click', () => {
  $('new-conversation').hidden = true;
  $('session-tabs').querySelector('[aria-selected="true"]')?.focus();
});

// Arrow keys move between conversation tabs (flipped in right-to-left text), Home/End to the ends.
$('session-tabs').addEventListener('keydown', (ev) => {
  const tabs = [...$('session-tabs').querySelectorAll('[role=tab]')];
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const rtl = getComputedStyle($('session-tabs')).direction === 'rtl';
  const step = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1 }[ev.key];
  const next = ev.key === 'Home' ? 0 : ev.key === 'End' ? tabs.length - 1 : step == null ? null : i + step;
  if (next == null || !tabs[next]) return;
  ev.preventDefault();
  tabs[next].focus();
  openSession(tabs[next].dataset.id);
});

// Acting on the open conversation --------------------------------------------------------

const current = () => state.sessions.find((s) => s.id === state.sessionId);

$('close-session').addEventListener('click', act(async () => {
  const s = current();
  if (!s || !confirm('Close this conversation now? Its summary is written next.')) return;
  const closed = (await gql(Q.closeSession, { id: s.id })).closeSession;
  state.sessions = state.sessions.map((x) => (x.id === closed.id ? closed : x));
  renderSessions();
  toast('Conversation closed; its summary is on the way.', null, 'ok');
  // The button is gone now: keep focus in the conversation, on its tab.
  $('session-tabs').querySelector('[aria-selected="true"]')?.focus();
}));

$('summarize-session').addEventListener('click', act(async (ev) => {
  const s = current();
  if (!s) return;
  const button = ev.currentTarget;
  button.disabled = true; // (a disabled button loses focus: it is given back below)
  try {
    await gql(Q.summarizeSession, { id: s.id });
  } finally {
    button.disabled = false;
    button.focus();
  }
  toast('Summary written again.', null, 'ok');
  await loadDetail('quiet');
}));

$('session-note-btn').addEventListener('click', () => {
  $('session-note-form').hidden = false;
  $('session-note-body').focus();
});
function closeSessionNote() {
  $('session-note-form').hidden = true;
  $('session-note-form').reset();
  $('session-note-btn').focus();
}
$('session-note-cancel').addEventListener('click', closeSessionNote);
$('session-note-form').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeSessionNote(); });
$('session-note-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const leadId = state.leadId;
  const input = { leadId, sessionId: state.sessionId, body: $('session-note-body').value.trim() };
  const note = (await gql(Q.addNote, { input })).addNote;
  closeSessionNote();
  if (state.leadId === leadId) addNoteShown(note);
  toast('Note added.', null, 'ok');
}));
