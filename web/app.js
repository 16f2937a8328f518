// memodesk staff dashboard: leads, live conversations, profile corrections and notes.
// Plain ES modules, no dependencies. All data is rendered with textContent (never innerHTML)
// and the token lives only in sessionStorage and request headers, never in a URL.

const TOKEN_KEY = 'memodesk.token';
const USER_KEY = 'memodesk.user';
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// GraphQL documents. Kept together so they can be checked against the server in one place.
// BEGIN DOCUMENTS
const F_LEAD_ROW = `fragment LeadRow on Lead {
  id displayName primaryPhone email lastChannel lastInteractionAt messageCount }`;
const F_PROFILE = `fragment Profile on Lead {
  id profile { key value source confidence locked rejected updatedAt updatedBy evidence { snippet } } }`;
const F_LEAD_HEAD = `fragment LeadHead on Lead {
  ...LeadRow ...Profile sessionCount createdAt identities { kind value channel }
  lastSummary { text channel at sessionId } }`;
const F_SESSION = `fragment SessionRow on Session {
  id channel status startedAt lastMessageAt closedAt closeReason messageCount intents }`;
const F_MESSAGE = `fragment Msg on Message {
  id sessionId leadId role content intent channel deliveryStatus occurredAt }`;
const F_NOTE = `fragment NoteF on Note { id kind body author pinned createdAt updatedAt }`;

const Q = {
  login: `mutation Login($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { token expiresAt user { email displayName role } } }`,
  me: `query Me { me { kind role userId apiKeyId scopes expiresAt } }`,
  leads: `query Leads($first: Int!, $after: String, $search: String) {
  leads(first: $first, after: $after, filter: { search: $search }, orderBy: LAST_ACTIVITY_DESC) {
    edges { node { ...LeadRow } } pageInfo { hasNextPage endCursor } } }
${F_LEAD_ROW}`,
  leadRow: `query LeadRow($id: ID!) { lead(id: $id) { ...LeadRow } }
${F_LEAD_ROW}`,
  // The selected lead, refreshed live: row, header and profile together.
  leadHead: `query LeadHead($id: ID!) { lead(id: $id) { ...LeadHead } }
${F_LEAD_HEAD} ${F_LEAD_ROW} ${F_PROFILE}`,
  leadDetail: `query LeadDetail($id: ID!) { lead(id: $id) {
    ...LeadHead
    summaries(first: 5) { id summary provider fallbackReason createdAt sessionId channel }
    notes(first: 20) { ...NoteF }
    sessions(first: 10) { nodes { ...SessionRow } } } }
${F_LEAD_HEAD} ${F_LEAD_ROW} ${F_PROFILE} ${F_NOTE} ${F_SESSION}`,
  sessions: `query Sessions($id: ID!) { lead(id: $id) { id sessions(first: 10) { nodes { ...SessionRow } } } }
${F_SESSION}`,
  messages: `query Messages($id: ID!) { session(id: $id) {
    ...SessionRow messages(last: 100) { nodes { ...Msg } pageInfo { hasPreviousPage } } } }
${F_SESSION} ${F_MESSAGE}`,
  setField: `mutation SetField($leadId: ID!, $key: String!, $value: String!) {
  setProfileField(leadId: $leadId, key: $key, value: $value) { ...Profile } }
${F_PROFILE}`,
  rejectField: `mutation RejectField($leadId: ID!, $key: String!) {
  rejectProfileField(leadId: $leadId, key: $key) { ...Profile } }
${F_PROFILE}`,
  releaseField: `mutation ReleaseField($leadId: ID!, $key: String!) {
  releaseProfileField(leadId: $leadId, key: $key) { ...Profile } }
${F_PROFILE}`,
  history: `query History($leadId: ID!, $key: String!) {
  profileHistory(leadId: $leadId, key: $key, first: 20) {
    id item oldValue newValue source confidence outcome actor createdAt } }`,
  addNote: `mutation AddNote($input: AddNoteInput!) { addNote(input: $input) { ...NoteF } }
${F_NOTE}`,
  pinNote: `mutation PinNote($id: ID!, $pinned: Boolean!) { pinNote(id: $id, pinned: $pinned) { ...NoteF } }
${F_NOTE}`,
  deleteNote: `mutation DeleteNote($id: ID!) { deleteNote(id: $id) }`,
  memory: `query Memory($leadId: ID!) { memoryContext(leadId: $leadId) {
    isReturning suggestedOpening locale rendered { text estimatedTokens characters truncated } } }`,
  // Live documents (WebSocket).
  events: `subscription Events($after: String) {
  conversationEvents(types: [MESSAGE_CREATED, LEAD_CREATED, LEAD_UPDATED], after: $after) {
    cursor type leadId sessionId } }`,
  // Changes around the selected lead that the list subscription does not carry.
  leadEvents: `subscription LeadEvents($leadId: ID!) {
  conversationEvents(leadId: $leadId,
    types: [SESSION_OPENED, SESSION_CLOSED, SUMMARY_CREATED, NOTE_CREATED, NOTE_UPDATED, NOTE_DELETED]) {
    cursor type sessionId } }`,
  messageAdded: `subscription MessageAdded($leadId: ID!) { messageAdded(leadId: $leadId) { ...Msg } }
${F_MESSAGE}`,
};
// END DOCUMENTS

// ---------------------------------------------------------------------------------------------
// State

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  leads: [], // rows shown in the list, in order
  endCursor: null,
  hasNext: false,
  search: '',
  leadId: null, // selected lead
  lead: null, // its detail
  sessions: [],
  sessionId: null, // selected session
  messageIds: new Set(),
  messagesTruncated: false,
  editingKey: null, // a profile field being edited: live refreshes must not clobber it
  openHistory: new Set(),
};

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Builds an element; strings become text nodes, so data is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function relTime(iso) {
  if (!iso) return '—';
  const secs = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(secs);
  if (abs < 45) return 'just now';
  for (const [unit, size] of [['year', 31536000], ['month', 2592000], ['week', 604800],
    ['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (abs >= size) return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(Math.round(secs / 60), 'minute');
}

/** A <time> that keeps its relative label fresh (see the interval at the bottom). */
function timeEl(iso, cls = 'time') {
  if (!iso) return h('span', { class: cls }, '—');
  return h('time', { class: cls, datetime: iso, title: dtf.format(new Date(iso)), 'data-rel': '' }, relTime(iso));
}

const CHANNELS = { WHATSAPP: 'WhatsApp', CALL: 'Call', WEB: 'Web chat', SMS: 'SMS', EMAIL: 'Email' };
const channelName = (c) => CHANNELS[c] || c || '—';
const words = (s) => (s || '').toLowerCase().replaceAll('_', ' ');
const pct = (x) => `${Math.round((x ?? 0) * 100)}%`;
const leadName = (l) => l.displayName || l.primaryPhone || l.email || 'Unknown customer';
const badge = (text, cls = '') => h('span', { class: `badge ${cls}` }, text);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A short-lived message in the corner; errors carry their GraphQL code. */
function toast(message, code = null, kind = 'error') {
  const t = h('div', { class: `toast ${kind}` }, code ? h('strong', {}, code) : null, h('span', { dir: 'auto' }, message));
  t.addEventListener('click', () => t.remove());
  $('toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3500);
}

// ---------------------------------------------------------------------------------------------
// GraphQL over HTTP

class GqlError extends Error {
  constructor(message, code) { super(message); this.code = code; this.shown = false; }
}

/**
 * POSTs a document to /graphql. Errors are toasted (unless `quiet`) and thrown; an
 * UNAUTHENTICATED answer ends the session, since every later call would fail the same way.
 */
async function gql(query, variables = {}, { auth = true, quiet = false } = {}) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const token = state.token;
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let body;
  try {
    const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status}`, extensions: { code: `HTTP_${res.status}` } }] }));
  } catch {
    body = { errors: [{ message: 'The server cannot be reached.', extensions: { code: 'NETWORK' } }] };
  }
  // Signed out (or in as someone else) meanwhile: drop the answer.
  if (auth && state.token !== token) throw Object.assign(new GqlError('stale', 'STALE'), { shown: true });
  if (body.errors?.length) {
    const e = body.errors[0];
    const err = new GqlError(e.message, e.extensions?.code || 'ERROR');
    if (auth && err.code === 'UNAUTHENTICATED') signOut(e.message);
    else if (!quiet) toast(err.message, err.code);
    err.shown = true;
    throw err;
  }
  return body.data;
}

/** Runs a UI action; errors already shown by gql() are not shown twice. */
function act(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((e) => {
    if (!e?.shown) { console.error(e); toast(String(e?.message || e), 'CLIENT'); }
  });
}

// ---------------------------------------------------------------------------------------------
// Live updates: graphql-transport-ws with resubscription and reconnect backoff

class Live {
  subs = new Map(); // id → subscription handle, resent after every reconnect
  seq = 0;
  ws = null;
  acked = false;
  attempt = 0;
  connectedOnce = false;
  stopped = true;
  retry = 0;
  onReconnect = () => {};

  start() { this.stopped = false; this.connect(); }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    this.subs.clear();
    this.connectedOnce = false;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'signed out');
    setLive('off', 'offline');
  }

  connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
    const ws = new WebSocket(url, 'graphql-transport-ws');
    this.ws = ws;
    this.acked = false;
    setLive('wait', 'connecting…');
    // The credential goes in connection_init, never in the URL.
    ws.onopen = () => this.send({ type: 'connection_init', payload: { Authorization: `Bearer ${state.token}` } });
    ws.onmessage = (e) => { if (ws === this.ws) this.receive(JSON.parse(e.data)); };
    ws.onclose = (e) => { if (ws === this.ws) this.closed(e); };
  }

  send(msg) { if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg)); }

  receive(msg) {
    const sub = this.subs.get(msg.id);
    switch (msg.type) {
      case 'connection_ack':
        this.acked = true;
        this.attempt = 0;
        setLive('on', 'live');
        // After a reconnect events may have been missed: reload what is shown first.
        if (this.connectedOnce) this.onReconnect();
        this.connectedOnce = true;
        for (const s of this.subs.values()) this.sendSubscribe(s);
        break;
      case 'ping': this.send({ type: 'pong' }); break;
      case 'next':
        if (sub) { sub.fails = msg.payload?.errors ? sub.fails + 1 : 0; sub.onNext(msg.payload); }
        break;
      case 'error': // the operation was refused (validation, auth): report, do not retry
        if (sub) { this.subs.delete(msg.id); sub.onError(msg.payload); }
        break;
      case 'complete': // the server ended the stream (e.g. after RESYNC): subscribe again,
        if (sub) { //      backing off while it keeps failing so a broken one cannot spin
          this.subs.delete(msg.id);
          const delay = Math.min(30000, 500 * 2 ** Math.min(sub.fails, 6));
          setTimeout(() => { if (!sub.closed && !this.stopped) this.add(sub); }, delay);
        }
        break;
      default:
    }
  }

  closed(e) {
    this.acked = false;
    if (this.stopped) return;
    if (e.code === 4401) { signOut(e.reason || 'Your session has expired; sign in again.'); return; }
    if (e.code === 4403) { setLive('off', 'no live access'); toast(e.reason || 'This credential may not read events.', 'FORBIDDEN'); return; }
    // Exponential backoff with jitter, capped at 30 s.
    const delay = Math.min(30000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    setLive('off', `reconnecting in ${Math.round(delay / 1000)} s`);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  sendSubscribe(s) {
    this.send({ type: 'subscribe', id: s.id, payload: { query: s.query, variables: s.variables } });
  }

  add(s) {
    s.id = String(++this.seq);
    this.subs.set(s.id, s);
    if (this.acked) this.sendSubscribe(s);
  }

  /** Subscribes; the handle survives reconnects until `close()`. */
  subscribe(query, variables, onNext) {
    const s = {
      query, variables, onNext, closed: false, fails: 0,
      onError: (errors) => subscriptionErrors(errors),
      close: () => {
        s.closed = true;
        if (this.subs.delete(s.id)) this.send({ type: 'complete', id: s.id });
      },
      restart: (vars) => { s.close(); s.closed = false; s.variables = vars; this.add(s); },
    };
    this.add(s);
    return s;
  }
}

const live = new Live();

function setLive(cls, text) {
  const el = $('live-status');
  el.className = `live ${cls}`;
  el.textContent = text;
}

/** Errors inside a stream: an expired token ends the session, the rest are shown. */
function subscriptionErrors(errors) {
  const e = (Array.isArray(errors) ? errors : [errors])[0] || {};
  const code = e.extensions?.code || 'ERROR';
  if (code === 'UNAUTHENTICATED') signOut(e.message);
  else toast(e.message || 'Live update failed', code);
  return code;
}

// ---------------------------------------------------------------------------------------------
// Sign in / out

function showSignIn(message) {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !message;
  $('signin-error').replaceChildren(message || '');
  $('login-email').focus();
}

function signInError(e) {
  $('signin-error').hidden = false;
  $('signin-error').replaceChildren(h('strong', {}, e.code || 'ERROR'), ' ', e.message);
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = ev.submitter;
  button.disabled = true;
  try {
    const data = await gql(Q.login, {
      email: $('login-email').value.trim(),
      password: $('login-password').value,
      tenantId: $('login-tenant').value.trim() || null,
    }, { auth: false, quiet: true });
    $('login-password').value = '';
    const u = data.login.user;
    sessionStorage.setItem(USER_KEY, u.displayName || u.email);
    await enterApp(data.login.token);
  } catch (e) {
    signInError(e);
  } finally {
    button.disabled = false;
  }
});

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('token-input').value.trim().replace(/^Bearer\s+/i, ''); // pasted with its prefix
  $('token-input').value = '';
  sessionStorage.removeItem(USER_KEY);
  return enterApp(token);
});

$('signout').addEventListener('click', () => signOut());

/** Checks the token with `me`, then opens the dashboard. */
async function enterApp(token) {
  state.token = token;
  let me;
  try {
    me = (await gql(Q.me, {}, { quiet: true })).me;
  } catch (e) {
    // gql() already signed out on UNAUTHENTICATED; anything else is shown on the form.
    if (state.token) { state.token = null; signInError(e); }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  const who = sessionStorage.getItem(USER_KEY) || (me.kind === 'api_key' ? 'API key' : me.kind);
  $('whoami').textContent = `${who} · ${me.role ? words(me.role) : me.scopes.map(words).join(', ')}`;
  // Viewers and API keys read only: hide what they may not do (the server refuses it anyway).
  document.body.classList.toggle('readonly', !(me.role === 'ADMIN' || me.role === 'AGENT'));
  $('signin').hidden = true;
  $('app').hidden = false;
  live.onReconnect = () => {
    // Everything shown is reloaded, so the list stream starts from now rather than replaying.
    if (eventsSub) eventsSub.variables = { after: null };
    act(resyncAll)();
  };
  live.start();
  eventsSub = live.subscribe(Q.events, { after: null }, onEvent);
  await loadLeads();
}

function signOut(message = null) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  live.stop();
  eventsSub = null;
  leadSubs = [];
  Object.assign(state, { leads: [], leadId: null, lead: null, sessions: [], sessionId: null, editingKey: null });
  $('lead-list').replaceChildren();
  showDetail(false);
  $('memory-panel').hidden = true;
  showSignIn(message);
}

// ---------------------------------------------------------------------------------------------
// Leads list

let leadsReq = 0;

async function loadLeads(more = false) {
  const req = ++leadsReq; // a newer search makes older answers stale
  const data = await gql(Q.leads, { first: 50, after: more ? state.endCursor : null, search: state.search || null });
  if (req !== leadsReq) return;
  const rows = data.leads.edges.map((e) => e.node);
  state.leads = more ? state.leads.concat(rows.filter((r) => !state.leads.some((l) => l.id === r.id))) : rows;
  state.endCursor = data.leads.pageInfo.endCursor;
  state.hasNext = data.leads.pageInfo.hasNextPage;
  renderLeads();
}

function leadRow(l) {
  const selected = l.id === state.leadId;
  return h('li', { 'data-id': l.id },
    h('button', {
      type: 'button', class: 'lead-row', 'aria-current': selected ? 'true' : null,
      onclick: act(() => selectLead(l.id)),
    },
    h('span', { class: 'lead-name', dir: 'auto' }, leadName(l)),
    h('span', { class: 'lead-meta' },
      badge(channelName(l.lastChannel), 'channel'),
      timeEl(l.lastInteractionAt),
      h('span', { class: 'count', title: plural(l.messageCount, 'message') }, `${l.messageCount} msg`))));
}

function renderLeads() {
  $('lead-list').replaceChildren(...state.leads.map(leadRow));
  $('leads-empty').hidden = state.leads.length > 0;
  $('load-more').hidden = !state.hasNext;
}

/** Puts a refreshed row in place (or on top, for new activity), keeping keyboard focus. */
function upsertLead(lead, toTop) {
  const i = state.leads.findIndex((l) => l.id === lead.id);
  if (i < 0 && !matchesSearch(lead)) return;
  if (i >= 0) state.leads.splice(i, 1);
  state.leads.splice(toTop || i < 0 ? 0 : i, 0, lead);
  const list = $('lead-list');
  const old = list.querySelector(`li[data-id="${CSS.escape(lead.id)}"]`);
  const hadFocus = old?.contains(document.activeElement);
  const li = leadRow(lead);
  if (old && !toTop) old.replaceWith(li);
  else { old?.remove(); list.prepend(li); }
  if (hadFocus) li.querySelector('button').focus();
  $('leads-empty').hidden = true;
}

/** The server's search, approximated, for leads that appear live while a search is on. */
function matchesSearch(l) {
  const q = state.search.toLowerCase();
  return !q || [l.displayName, l.primaryPhone, l.email].some((v) => v?.toLowerCase().includes(q));
}

let searchTimer = 0;
$('lead-search').addEventListener('input', (ev) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(act(() => { state.search = ev.target.value.trim(); return loadLeads(); }), 300);
});
$('load-more').addEventListener('click', act(() => loadLeads(true)));

// Live: conversationEvents for the whole tenant moves active leads to the top.
let eventsSub = null;
const pendingLeads = new Map(); // leadId → moved to top?
let flushTimer = 0;

function onEvent(payload) {
  if (payload.errors?.length) { subscriptionErrors(payload.errors); return; }
  const ev = payload.data?.conversationEvents;
  if (!ev) return;
  if (ev.type === 'RESYNC') {
    // The stream ended with a gap: reload, then continue from the cursor.
    act(resyncAll)();
    eventsSub?.restart({ after: ev.cursor });
    return;
  }
  eventsSub.variables = { after: ev.cursor };
  if (!ev.leadId) return;
  // A message or a new lead is activity; a profile change only refreshes the row.
  pendingLeads.set(ev.leadId, pendingLeads.get(ev.leadId) || ev.type !== 'LEAD_UPDATED');
  clearTimeout(flushTimer);
  flushTimer = setTimeout(act(flushLeads), 150); // one fetch per lead per burst
}

async function flushLeads() {
  const batch = [...pendingLeads];
  pendingLeads.clear();
  await Promise.all(batch.map(async ([id, toTop]) => {
    const selected = id === state.leadId;
    const data = await gql(selected ? Q.leadHead : Q.leadRow, { id });
    upsertLead(data.lead, toTop);
    if (selected && state.leadId === id && state.lead) {
      Object.assign(state.lead, data.lead);
      renderHead();
      renderProfile();
      renderLastSummary();
    }
  }));
}

/** After a reconnect or RESYNC: reload the list, the open lead and its conversation. */
async function resyncAll() {
  pendingLeads.clear();
  await Promise.all([loadLeads(), state.leadId ? loadDetail('refresh') : null]);
}

// ---------------------------------------------------------------------------------------------
// Lead detail

let leadSubs = [];

function showDetail(on) { $('detail').hidden = !on; $('detail-empty').hidden = on; }

async function selectLead(id) {
  if (id === state.leadId && state.lead) return; // (a failed load may be retried)
  for (const s of leadSubs) s.close();
  state.leadId = id;
  state.lead = null;
  state.sessionId = null;
  state.editingKey = null;
  state.openHistory.clear();
  $('memory-panel').hidden = true;
  for (const b of document.querySelectorAll('.lead-row')) {
    b.parentElement.dataset.id === id ? b.setAttribute('aria-current', 'true') : b.removeAttribute('aria-current');
  }
  leadSubs = [
    live.subscribe(Q.messageAdded, { leadId: id }, onMessageAdded),
    live.subscribe(Q.leadEvents, { leadId: id }, onLeadEvent),
  ];
  await loadDetail();
}

/**
 * Loads the selected lead. `mode`: 'select' opens its newest conversation, 'refresh' reloads
 * the open one too, 'quiet' leaves the open conversation's messages as they are.
 */
async function loadDetail(mode = 'select') {
  const id = state.leadId;
  const data = await gql(Q.leadDetail, { id });
  if (state.leadId !== id) return; // another lead was selected meanwhile
  state.lead = data.lead;
  state.sessions = data.lead.sessions.nodes;
  showDetail(true);
  renderHead();
  renderProfile();
  renderLastSummary();
  renderSummaries();
  renderNotes();
  const keep = mode !== 'select' && state.sessions.some((s) => s.id === state.sessionId);
  if (mode === 'quiet' && keep) renderSessions();
  else await selectSession(keep ? state.sessionId : state.sessions[0]?.id ?? null, true);
}

function renderHead() {
  const l = state.lead;
  $('lead-name').textContent = leadName(l);
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

function fieldTitle(f) {
  const lines = f.evidence.map((e) => `“${e.snippet}”`);
  lines.push(`${f.updatedBy}, ${dtf.format(new Date(f.updatedAt))}`);
  return lines.join('\n');
}

function renderProfile() {
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

async function profileMutation(query, vars) {
  const data = await gql(query, vars);
  const lead = Object.values(data)[0];
  if (state.leadId !== vars.leadId) return;
  state.lead.profile = lead.profile;
  state.editingKey = null;
  renderProfile();
}

function editField(li, f) {
  state.editingKey = f.key;
  const input = h('input', { value: f.value ?? '', dir: 'auto', 'aria-label': `New value for ${f.key}`, required: true });
  const cancel = () => { state.editingKey = null; renderProfile(); };
  const form = h('form', { class: 'inline-form' }, input,
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
    h('button', { type: 'button', onclick: cancel }, 'Cancel'));
  form.addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    await profileMutation(Q.setField, { leadId: state.leadId, key: f.key, value: input.value.trim() });
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

async function toggleHistory(li, key, button) {
  const open = !state.openHistory.has(key);
  button.setAttribute('aria-expanded', String(open));
  if (open) { state.openHistory.add(key); await loadHistory(li, key); } else {
    state.openHistory.delete(key);
    li.querySelector('.history')?.remove();
  }
}

async function loadHistory(li, key) {
  const leadId = state.leadId;
  const data = await gql(Q.history, { leadId, key });
  if (state.leadId !== leadId || !li.isConnected) return;
  const rows = data.profileHistory.map((c) => h('li', {},
    timeEl(c.createdAt),
    badge(words(c.outcome), `outcome-${c.outcome.toLowerCase()}`),
    h('span', { class: 'change', dir: 'auto' },
      c.item ? `[${c.item}] ` : '', c.oldValue ?? '∅', ' → ', c.newValue ?? '∅'),
    h('span', { class: 'muted' }, `${c.source.toLowerCase()} ${pct(c.confidence)} · ${c.actor}`)));
  const list = h('ol', { class: 'history', 'aria-label': `History of ${key}` },
    ...(rows.length ? rows : [h('li', { class: 'muted' }, 'No history.')]));
  li.querySelector('.history')?.remove();
  li.append(list);
}

// Summaries --------------------------------------------------------------------------------

function renderLastSummary() {
  const s = state.lead.lastSummary;
  $('last-summary').replaceChildren(s
    ? h('div', { class: 'summary' },
      h('p', { class: 'meta small muted' }, badge(channelName(s.channel), 'channel'), ' ', timeEl(s.at)),
      h('p', { class: 'text', dir: 'auto' }, s.text))
    : h('p', { class: 'muted' }, 'No conversation has been summarized yet.'));
}

function renderSummaries() {
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

function renderNotes() {
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

function replaceNote(note) {
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
  if (state.leadId !== leadId || state.lead.notes.some((x) => x.id === note.id)) return;
  state.lead.notes.unshift(note);
  renderNotes();
}));

// Live around the selected lead: sessions opening/closing, summaries and notes.
let leadEventTimer = 0;
let leadEventMode = 'quiet';
function onLeadEvent(payload) {
  if (payload.errors?.length) { subscriptionErrors(payload.errors); return; }
  const ev = payload.data?.conversationEvents;
  if (!ev) return;
  clearTimeout(leadEventTimer);
  // New sessions, summaries, notes: one quiet reload of the detail per burst (RESYNC: a full one).
  const mode = ev.type === 'RESYNC' || leadEventMode === 'refresh' ? 'refresh' : 'quiet';
  leadEventMode = mode;
  leadEventTimer = setTimeout(act(() => { leadEventMode = 'quiet'; return loadDetail(mode); }), 300);
}

// Conversations ----------------------------------------------------------------------------

function renderSessions() {
  const tabs = state.sessions.map((s) => h('button', {
    type: 'button', role: 'tab', class: `tab ${s.status.toLowerCase()}`,
    'aria-selected': String(s.id === state.sessionId),
    title: [plural(s.messageCount, 'message'), `last ${dtf.format(new Date(s.lastMessageAt))}`,
      s.closeReason && `closed: ${words(s.closeReason)}`].filter(Boolean).join(' · '),
    onclick: act(() => selectSession(s.id)),
  },
  h('span', { class: 'dot', 'aria-hidden': 'true' }),
  `${channelName(s.channel)} · ${s.status === 'OPEN' ? 'open' : 'closed'} · `, timeEl(s.startedAt)));
  $('session-tabs').replaceChildren(...tabs);
  if (!tabs.length) $('session-tabs').append(h('span', { class: 'muted' }, 'No conversations yet.'));
  const s = state.sessions.find((x) => x.id === state.sessionId);
  $('session-meta').replaceChildren(...(s ? [
    'Started ', timeEl(s.startedAt), ' · last message ', timeEl(s.lastMessageAt),
    ...(s.closedAt ? [' · closed ', timeEl(s.closedAt), ` (${words(s.closeReason)})`] : [' · open']),
    ` · ${plural(s.messageCount, 'message')}`,
    s.intents.length ? ` · ${s.intents.map(words).join(', ')}` : '',
  ] : []));
}

async function selectSession(id, force = false) {
  if (id === state.sessionId && !force) return;
  state.sessionId = id;
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
}

const ROLE_LABEL = { CUSTOMER: 'Customer', AGENT: 'Agent', STAFF: 'Staff', SYSTEM: 'System' };

function messageEl(m) {
  return h('li', { class: `msg ${m.role.toLowerCase()}`, 'data-id': m.id },
    h('div', { class: 'bubble' },
      h('p', { class: 'content', dir: 'auto' }, m.content),
      h('p', { class: 'meta' },
        m.role === 'CUSTOMER' ? null : h('span', { class: 'who' }, ROLE_LABEL[m.role] || m.role),
        m.intent && m.intent !== 'OTHER' ? badge(words(m.intent), 'intent') : null,
        timeEl(m.occurredAt),
        m.deliveryStatus ? h('span', { class: `delivery delivery-${m.deliveryStatus.replace(/\W/g, '')}` }, m.deliveryStatus) : null)));
}

let sessionsTimer = 0;
function onMessageAdded(payload) {
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

async function refreshSessions() {
  const leadId = state.leadId;
  const data = await gql(Q.sessions, { id: leadId });
  if (state.leadId !== leadId) return;
  state.sessions = data.lead.sessions.nodes;
  if (!state.sessionId && state.sessions.length) await selectSession(state.sessions[0].id);
  else renderSessions();
}

// Memory context ---------------------------------------------------------------------------

async function loadMemory() {
  const leadId = state.leadId;
  $('memory-panel').hidden = false;
  $('memory-meta').textContent = 'Loading…';
  const c = (await gql(Q.memory, { leadId })).memoryContext;
  if (state.leadId !== leadId) return;
  $('memory-meta').replaceChildren(
    badge(c.isReturning ? 'returning customer' : 'not returning', c.isReturning ? 'returning' : ''),
    ` ~${c.rendered.estimatedTokens} tokens · ${c.rendered.characters} characters · ${c.locale}`,
    c.rendered.truncated ? ' · shortened to fit' : '',
    c.suggestedOpening ? h('span', { class: 'opening' }, ' Suggested opening: ', h('q', { dir: 'auto' }, c.suggestedOpening)) : null);
  $('memory-text').textContent = c.rendered.text;
}

for (const id of ['memory-btn', 'memory-refresh']) $(id).addEventListener('click', act(loadMemory));
$('memory-close').addEventListener('click', () => { $('memory-panel').hidden = true; });

// ---------------------------------------------------------------------------------------------
// Start

// Relative times ("3 minutes ago") drift: refresh their labels every 30 s.
setInterval(() => {
  for (const t of document.querySelectorAll('time[data-rel]')) t.textContent = relTime(t.getAttribute('datetime'));
}, 30000);

if (state.token) act(() => enterApp(state.token))();
else showSignIn();
