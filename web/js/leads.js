// The lead list: search, paging, and live moves of active leads to the top.

import { Q } from './api.js';
import { gql, act, live, subscriptionErrors } from './client.js';
import { $, h, timeEl, channelName, leadName, badge, plural } from './dom.js';
import { selectLead, loadDetail, renderHead, renderProfile, renderLastSummary } from './lead.js';
import { state } from './state.js';
import { showErased } from './privacy.js';

let leadsReq = 0;

/** The list's filter and sort, as the form shows them. */
function filterFromForm() {
  const since = $('f-since').value;
  const filter = {
    search: state.search || null,
    channel: $('f-channel').value || null,
    activeSince: since ? new Date(Date.now() - Number(since) * 86400000).toISOString() : null,
    language: $('f-language').value || null,
    returning: $('f-returning').checked || null,
    hasOpenConversation: $('f-open').checked || null,
  };
  const on = ['channel', 'activeSince', 'language', 'returning', 'hasOpenConversation'].filter((k) => filter[k] != null).length;
  $('filter-count').hidden = !on;
  $('filter-count').textContent = String(on);
  state.filtered = on > 0;
  return filter;
}

export async function loadLeads(more = false) {
  const req = ++leadsReq; // a newer search makes older answers stale
  const data = await gql(Q.leads, {
    first: 50, after: more ? state.endCursor : null, filter: filterFromForm(), orderBy: $('f-order').value,
  });
  if (req !== leadsReq) return;
  const rows = data.leads.edges.map((e) => e.node);
  state.leads = more ? state.leads.concat(rows.filter((r) => !state.leads.some((l) => l.id === r.id))) : rows;
  state.endCursor = data.leads.pageInfo.endCursor;
  state.hasNext = data.leads.pageInfo.hasNextPage;
  state.total = data.leads.totalCount;
  renderLeads();
}

/** The last thing said, on one line: "You: …" for staff and agents. */
function preview(m) {
  if (!m) return null;
  const who = m.role === 'CUSTOMER' ? '' : `${m.role === 'STAFF' ? 'Staff' : 'Agent'}: `;
  return h('span', { class: 'lead-preview', dir: 'auto' }, who + m.content);
}

export function leadRow(l) {
  const selected = l.id === state.leadId;
  return h('li', { 'data-id': l.id },
    h('a', {
      class: 'lead-row', href: `#/lead/${encodeURIComponent(l.id)}`, 'aria-current': selected ? 'true' : null,
    },
    h('span', { class: 'lead-name', dir: 'auto' }, leadName(l)),
    preview(l.lastMessage),
    h('span', { class: 'lead-meta' },
      badge(channelName(l.lastChannel), 'channel'),
      timeEl(l.lastInteractionAt),
      h('span', { class: 'count', title: plural(l.messageCount, 'message') }, `${l.messageCount} msg`))));
}

export function renderLeads() {
  $('lead-list').replaceChildren(...state.leads.map(leadRow));
  $('leads-empty').hidden = state.leads.length > 0;
  $('load-more').hidden = !state.hasNext;
  renderCount();
}

function renderCount() {
  $('lead-count').textContent = state.total == null ? ''
    : `${plural(state.total, 'lead')}${state.filtered || state.search ? ' match' : ''}`;
}

/** Moves the selection to the next (+1) or previous (-1) lead in the list (Alt+J / Alt+K). */
export function stepLead(delta) {
  const i = state.leads.findIndex((l) => l.id === state.leadId);
  const next = state.leads[i < 0 ? 0 : Math.min(state.leads.length - 1, Math.max(0, i + delta))];
  if (next) location.hash = `#/lead/${encodeURIComponent(next.id)}`;
}

/** Puts a refreshed row in place (or on top, for new activity), keeping keyboard focus. */
export function upsertLead(lead, toTop) {
  const i = state.leads.findIndex((l) => l.id === lead.id);
  // A lead new to the list joins it only when no filter could exclude it.
  if (i < 0 && (state.filtered || !matchesSearch(lead))) return;
  if (i < 0 && state.total != null) { state.total += 1; renderCount(); }
  if (i >= 0) state.leads.splice(i, 1);
  state.leads.splice(toTop || i < 0 ? 0 : i, 0, lead);
  const list = $('lead-list');
  const old = list.querySelector(`li[data-id="${CSS.escape(lead.id)}"]`);
  const hadFocus = old?.contains(document.activeElement);
  const li = leadRow(lead);
  if (old && !toTop) old.replaceWith(li);
  else { old?.remove(); list.prepend(li); }
  if (hadFocus) li.querySelector('a').focus();
  $('leads-empty').hidden = true;
}

/** Drops an erased lead from the list (and says so on its page if it is open). */
export function removeLead(id) {
  pendingLeads.delete(id);
  const i = state.leads.findIndex((l) => l.id === id);
  if (i >= 0) {
    state.leads.splice(i, 1);
    if (state.total != null) { state.total -= 1; renderCount(); }
  }
  $('lead-list').querySelector(`li[data-id="${CSS.escape(id)}"]`)?.remove();
  $('leads-empty').hidden = state.leads.length > 0;
  if (state.leadId === id) showErased(id);
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
$('lead-filters').addEventListener('change', act(() => loadLeads()));
// A reset clears the form after this event: reload once it has.
$('lead-filters').addEventListener('reset', () => setTimeout(act(() => loadLeads()), 0));

// Arrow keys move between leads in the list; Enter opens one (it is a link).
$('lead-list').addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp' && ev.key !== 'Home' && ev.key !== 'End') return;
  const rows = [...$('lead-list').querySelectorAll('.lead-row')];
  const i = rows.indexOf(document.activeElement);
  const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: rows.length - 1 }[ev.key];
  if (rows[next]) { ev.preventDefault(); rows[next].focus(); }
});

// Live: conversationEvents for the whole tenant moves active leads to the top.
let eventsSub = null;

/** Follows the tenant's activity; after a reconnect everything shown is reloaded. */
export function startEvents() {
  live.onReconnect = () => {
    // Everything shown is reloaded, so the list stream starts from now rather than replaying.
    if (eventsSub) eventsSub.variables = { after: null };
    act(resyncAll)();
  };
  eventsSub = live.subscribe(Q.events, { after: null }, onEvent);
}

export function stopEvents() { eventsSub = null; }
const pendingLeads = new Map(); // leadId → moved to top?
let flushTimer = 0;

export function onEvent(payload) {
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
  if (ev.type === 'LEAD_ERASED') { removeLead(ev.leadId); return; }
  // A message or a new lead is activity; a profile change only refreshes the row.
  pendingLeads.set(ev.leadId, pendingLeads.get(ev.leadId) || ev.type !== 'LEAD_UPDATED');
  clearTimeout(flushTimer);
  flushTimer = setTimeout(act(flushLeads), 150); // one fetch per lead per burst
}

export async function flushLeads() {
  const batch = [...pendingLeads];
  pendingLeads.clear();
  await Promise.all(batch.map(async ([id, toTop]) => {
    const selected = id === state.leadId;
    const data = await gql(selected ? Q.leadHead : Q.leadRow, { id });
    // New activity moves a lead to the top only when the list is sorted by activity.
    upsertLead(data.lead, toTop && $('f-order').value === 'LAST_ACTIVITY_DESC');
    if (selected && state.leadId === id && state.lead) {
      Object.assign(state.lead, data.lead);
      renderHead();
      renderProfile();
      renderLastSummary();
    }
  }));
}

/** After a reconnect or RESYNC: reload the list, the open lead and its conversation. */
export async function resyncAll() {
  pendingLeads.clear();
  await Promise.all([loadLeads(), state.leadId ? loadDetail('refresh') : null]);
}
