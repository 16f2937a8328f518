// The audit log (admins): who did what and when, newest first, filtered by who, by action, by
// day and by lead (`#/admin/audit?lead=<id>`, the lead page's "Access log"), a page at a time;
// entries about a lead link to it. Entries carry ids, never content.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, timeEl, words } from './dom.js';

let cursor = null;
let actors = null; // id → name
let leadId = null; // the lead the log is about, from the URL

/** The start of a `<input type=date>` day in the browser's time zone, as an instant. */
function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}
const ACTIONS = ['auth.login', 'lead.viewed', 'lead.created', 'lead.updated', 'lead.erased', 'profile.field_set',
  'profile.field_rejected', 'profile.field_released', 'note.created', 'note.updated', 'note.deleted',
  'tenant.settings_updated', 'staff_user.created', 'staff_user.updated', 'staff_user.password_reset', 'api_key.created',
  'api_key.revoked', 'job.retried', 'retention.run', 'webhook_endpoint.created', 'webhook_endpoint.updated',
  'webhook_endpoint.secret_rotated', 'webhook_endpoint.deleted'];

async function loadActors() {
  const data = await gql(Q.actors);
  actors = new Map();
  const options = [h('option', { value: '' }, 'Anyone')];
  for (const u of data.staffUsers) {
    actors.set(u.id, u.displayName || u.email);
    options.push(h('option', { value: u.id }, u.displayName ? `${u.displayName} (${u.email})` : u.email));
  }
  for (const k of data.apiKeys) {
    actors.set(k.id, `API key “${k.name}”`);
    options.push(h('option', { value: k.id }, `API key: ${k.name}`));
  }
  const chosen = $('audit-actor').value;
  $('audit-actor').replaceChildren(...options);
  $('audit-actor').value = chosen;
  $('audit-actions').replaceChildren(...ACTIONS.map((a) => h('option', { value: a })));
}

export async function loadAudit(more = false, query = null) {
  if (!actors) await loadActors();
  if (query !== null) {
    leadId = new URLSearchParams(query).get('lead');
    $('audit-lead').hidden = !leadId;
    if (leadId) {
      $('audit-lead-link').href = `#/lead/${encodeURIComponent(leadId)}`;
      $('audit-lead-link').textContent = `lead …${leadId.slice(-6)}`;
      $('audit-lead-link').title = leadId;
    }
  }
  const filter = {};
  if ($('audit-actor').value) filter.actor = $('audit-actor').value;
  if ($('audit-action').value.trim()) filter.action = $('audit-action').value.trim();
  if (leadId) filter.leadId = leadId;
  const from = dayStart($('audit-from').value);
  const to = dayStart($('audit-to').value, 1); // the whole "to" day
  if (from) filter.from = from;
  if (to) filter.to = to;
  const data = (await gql(Q.auditLog, { filter, after: more ? cursor : null })).auditLog;
  cursor = data.pageInfo.endCursor;
  $('audit-more').hidden = !data.pageInfo.hasNextPage;
  const rows = data.nodes.map(entryRow);
  if (more) $('audit').append(...rows); else $('audit').replaceChildren(...rows);
  if (!more && !rows.length) $('audit').append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No entries.')));
  return rows;
}

function who(e) {
  if (e.actorId && actors.has(e.actorId)) return h('bdi', {}, actors.get(e.actorId));
  return h('span', { class: 'muted' }, words(e.actorKind));
}

/** What the entry is about; a lead (or a note about one) links to the lead's page. */
function target(e) {
  const lead = e.targetType === 'lead' ? e.targetId : typeof e.details?.leadId === 'string' ? e.details.leadId : null;
  const what = h('span', {}, words(e.targetType), e.targetId && e.targetType !== 'lead'
    ? h('span', { class: 'small muted', title: e.targetId }, ` …${e.targetId.slice(-6)}`) : null);
  if (!lead) return what;
  const link = h('a', { href: `#/lead/${encodeURIComponent(lead)}`, class: 'audit-lead', title: lead }, `lead …${lead.slice(-6)}`);
  return e.targetType === 'lead' ? link : h('span', {}, what, ' of ', link);
}

function details(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
}

function entryRow(e) {
  return h('tr', { 'data-action': e.action },
    h('td', {}, timeEl(e.at)),
    h('td', {}, who(e)),
    h('td', {}, h('code', { dir: 'ltr' }, e.action)),
    h('td', {}, target(e)),
    h('td', { class: 'small muted details', dir: 'ltr' }, details(e.details)));
}

$('audit-filters').addEventListener('submit', act(async (ev) => { ev.preventDefault(); await loadAudit(); }));
$('audit-actor').addEventListener('change', act(() => loadAudit()));
for (const id of ['audit-from', 'audit-to']) $(id).addEventListener('change', act(() => loadAudit()));
$('audit-filters').addEventListener('reset', () => setTimeout(act(() => loadAudit()), 0));
$('audit-more').addEventListener('click', act(async () => {
  const rows = await loadAudit(true);
  rows[0]?.querySelector('a, code')?.closest('td')?.setAttribute('tabindex', '-1');
  rows[0]?.querySelector('td[tabindex]')?.focus();
}));
