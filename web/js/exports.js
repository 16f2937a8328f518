// Exports (admins): download the leads as CSV, HubSpot or Salesforce files from
// GET /export/leads with the bearer token (never in a URL), optionally only what changed since
// the last export from this browser: the X-Memodesk-Next-Cursor answer header is kept in
// localStorage per workspace and format.

import { $, h, dtf, toast } from './dom.js';
import { act } from './client.js';
import { state } from './state.js';

/** The workspace this credential belongs to (from the token; an API key stands for itself). */
function workspace() {
  try {
    const claims = JSON.parse(atob(state.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (claims.tenant_id) return claims.tenant_id;
  } catch { /* an API key, not a JWT */ }
  return `key:${state.me?.apiKeyId ?? 'unknown'}`;
}

const fileKind = () => ($('export-format').value === 'salesforce' ? `salesforce-${$('export-object').value}` : $('export-format').value);
const cursorKey = () => `memodesk.exportCursor.${workspace()}.${fileKind()}`;

function stored() {
  try { return JSON.parse(localStorage.getItem(cursorKey()) || 'null'); } catch { return null; }
}

export function loadExports() {
  $('export-object-label').hidden = $('export-format').value !== 'salesforce';
  const last = stored();
  $('export-since').disabled = !last;
  if (!last) $('export-since').checked = false;
  $('export-forget').hidden = !last;
  $('export-cursor').replaceChildren(last
    ? h('span', {}, `Last ${fileKind()} export: ${dtf.format(new Date(last.at))}. Change feed cursor: `, h('code', { id: 'export-cursor-value', dir: 'ltr' }, last.cursor))
    : h('span', {}, `No ${fileKind()} export from this browser yet: the next one holds every lead.`));
}

$('export-format').addEventListener('change', loadExports);
$('export-object').addEventListener('change', loadExports);
$('export-forget').addEventListener('click', () => {
  localStorage.removeItem(cursorKey());
  loadExports();
  $('export-format').focus();
});

$('export-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const qs = new URLSearchParams({ format: $('export-format').value });
  if ($('export-format').value === 'salesforce') qs.set('object', $('export-object').value);
  if ($('export-provenance').checked) qs.set('provenance', 'true');
  if ($('export-bom').checked) qs.set('bom', 'true');
  const last = stored();
  if ($('export-since').checked && last) qs.set('after', last.cursor);
  $('export-error').hidden = true;
  const button = ev.submitter;
  button.disabled = true;
  try {
    const res = await fetch(`/export/leads?${qs}`, { headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const e = body.error ?? { code: `HTTP_${res.status}`, message: res.statusText };
      $('export-error').hidden = false;
      $('export-error').replaceChildren(h('strong', {}, e.code), ' ', e.field ? `${e.field}: ` : '', e.message);
      return;
    }
    const blob = await res.blob(); // the whole file: a transfer cut short fails here, not silently
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'leads-export';
    const cursor = res.headers.get('X-Memodesk-Next-Cursor');
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    if (cursor) localStorage.setItem(cursorKey(), JSON.stringify({ cursor, at: new Date().toISOString() }));
    loadExports();
    toast(`${name} downloaded.`, null, 'ok');
  } finally {
    button.disabled = false;
    button.focus();
  }
}));
