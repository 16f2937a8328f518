// GraphQL over HTTP and the live client (graphql-transport-ws with resubscription and
// reconnect backoff).

import { $, toast } from './dom.js';
import { signOut } from './session.js';
import { state } from './state.js';

export class GqlError extends Error {
  constructor(message, code, field = null) { super(message); this.code = code; this.field = field; this.shown = false; }
}

/**
 * POSTs a document to /graphql. Errors are toasted (unless `quiet`) and thrown; an
 * UNAUTHENTICATED answer ends the session, since every later call would fail the same way.
 */
export async function gql(query, variables = {}, { auth = true, quiet = false } = {}) {
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
    const err = new GqlError(e.message, e.extensions?.code || 'ERROR', e.extensions?.field ?? null);
    if (auth && err.code === 'UNAUTHENTICATED') signOut(e.message);
    else if (!quiet) toast(err.message, err.code);
    err.shown = true;
    throw err;
  }
  return body.data;
}

/** Runs a UI action; errors already shown by gql() are not shown twice. */
export function act(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((e) => {
    if (!e?.shown) { console.error(e); toast(String(e?.message || e), 'CLIENT'); }
  });
}
export class Live {
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

export const live = new Live();

export function setLive(cls, text) {
  const el = $('live-status');
  el.className = `live ${cls}`;
  el.textContent = text;
}

/** Errors inside a stream: an expired token ends the session, the rest are shown. */
export function subscriptionErrors(errors) {
  const e = (Array.isArray(errors) ? errors : [errors])[0] || {};
  const code = e.extensions?.code || 'ERROR';
  if (code === 'UNAUTHENTICATED') signOut(e.message);
  else toast(e.message || 'Live update failed', code);
  return code;
}
