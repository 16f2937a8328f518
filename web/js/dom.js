// DOM helpers: elements built from data (never innerHTML), times, labels and toasts.

export const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes, so data is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
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

export const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
export const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function relTime(iso) {
  if (!iso) return '—';
  const secs = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(secs);
  if (abs < 45) return rtf.format(0, 'second'); // "now", in the staff member's language
  for (const [unit, size] of [['year', 31536000], ['month', 2592000], ['week', 604800],
    ['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (abs >= size) return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(Math.round(secs / 60), 'minute');
}

/** A <time> that keeps its relative label fresh (see the interval at the bottom). */
export function timeEl(iso, cls = 'time') {
  if (!iso) return h('span', { class: cls }, '—');
  return h('time', { class: cls, datetime: iso, title: dtf.format(new Date(iso)), 'data-rel': '' }, relTime(iso));
}

export const CHANNELS = { WHATSAPP: 'WhatsApp', CALL: 'Call', WEB: 'Web chat', SMS: 'SMS', EMAIL: 'Email' };
export const channelName = (c) => CHANNELS[c] || c || '—';
export const words = (s) => (s || '').toLowerCase().replaceAll('_', ' ');
export const pct = (x) => `${Math.round((x ?? 0) * 100)}%`;
export const leadName = (l) => l.displayName || l.primaryPhone || l.email || 'Unknown customer';
export const badge = (text, cls = '') => h('span', { class: `badge ${cls}` }, text);
export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A short-lived message in the corner; errors carry their GraphQL code. */
export function toast(message, code = null, kind = 'error') {
  const t = h('div', { class: `toast ${kind}` }, code ? h('strong', {}, code) : null, h('span', { dir: 'auto' }, message));
  t.addEventListener('click', () => t.remove());
  $('toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3500);
}
