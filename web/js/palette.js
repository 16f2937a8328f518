// Keyboard: Ctrl/Cmd+K opens a palette to jump to a lead or run an action; Alt+J / Alt+K
// open the next / previous lead of the list.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, channelName, leadName } from './dom.js';
import { stepLead } from './leads.js';
import { state } from './state.js';
import { searchHash } from './search.js';

/** Actions the palette offers, filtered by what they are called. */
function actions() {
  const list = [
    { label: 'Go to the lead list', run: () => { location.hash = '#/'; $('lead-search').focus(); } },
    { label: 'Search conversations', run: () => { location.hash = '#/search'; $('search-q').focus(); } },
  ];
  if (state.leadId) {
    list.push({ label: 'Show the memory context', run: () => $('memory-btn').click() });
    list.push({ label: 'Show the timeline', run: () => $('view-timeline').click() });
    if (!document.body.classList.contains('readonly')) {
      list.push({ label: 'Edit contact', run: () => $('edit-contact-btn').click() });
      list.push({ label: 'Add a note', run: () => $('note-body').focus() });
    }
  }
  if (state.leadId && state.isAdmin) list.push({ label: 'Erase this customer…', run: () => $('erase-btn').click() });
  if (state.isAdmin) {
    for (const [tab, label] of [['users', 'Staff users'], ['keys', 'API keys'], ['settings', 'Workspace settings'],
      ['jobs', 'Background jobs'], ['webhooks', 'Webhooks'], ['exports', 'Exports'], ['audit', 'Audit log']]) {
      list.push({ label: `Admin: ${label}`, run: () => { location.hash = `#/admin/${tab}`; } });
    }
  }
  list.push({ label: 'Sign out', run: () => $('signout').click() });
  return list;
}

let items = [];
let active = 0;
let returnFocus = null;
let req = 0;

function open() {
  if (!state.token || $('palette').open) return;
  returnFocus = document.activeElement;
  $('palette-input').value = '';
  $('palette').showModal();
  $('palette-input').focus();
  act(update)();
}

function close(restoreFocus = true) {
  $('palette').close();
  if (restoreFocus && returnFocus?.isConnected) returnFocus.focus();
}

async function update() {
  const q = $('palette-input').value.trim();
  const mine = ++req;
  const acts = actions().filter((a) => a.label.toLowerCase().includes(q.toLowerCase()));
  let leads = [];
  if (q) {
    leads = (await gql(Q.findLeads, { search: q }, { quiet: true }).catch(() => ({ leads: { nodes: [] } }))).leads.nodes;
    if (mine !== req) return;
  }
  items = [
    ...leads.map((l) => ({
      label: leadName(l), hint: [l.primaryPhone, channelName(l.lastChannel)].filter(Boolean).join(' · '),
      run: () => { location.hash = `#/lead/${encodeURIComponent(l.id)}`; },
    })),
    ...acts,
  ];
  if (q) {
    items.push({ label: `Search conversations for “${q}”`, run: () => { location.hash = searchHash({ q }); } });
  }
  active = 0;
  render();
}

function render() {
  $('palette-list').replaceChildren(...items.map((it, i) => h('li', {
    role: 'option', id: `palette-${i}`, 'aria-selected': String(i === active), class: 'palette-item',
    onclick: () => choose(i),
  }, h('span', { dir: 'auto' }, it.label), it.hint ? h('span', { class: 'muted small', dir: 'ltr' }, it.hint) : null)));
  if (!items.length) $('palette-list').append(h('li', { class: 'muted' }, 'Nothing found.'));
  $('palette-input').setAttribute('aria-activedescendant', items.length ? `palette-${active}` : '');
  $(`palette-${active}`)?.scrollIntoView({ block: 'nearest' });
}

function choose(i) {
  const it = items[i];
  if (!it) return;
  close(false);
  it.run();
}

let timer = 0;
export function startPalette() {
  $('palette-btn').addEventListener('click', open);
  $('palette-input').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = 0; act(update)(); }, 150);
  });
  $('palette-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (items.length) active = (active + (ev.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
      render();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      // Typed faster than the list follows: choose from what the text now finds.
      if (timer) { clearTimeout(timer); timer = 0; act(async () => { await update(); choose(active); })(); } else choose(active);
    }
  });
  $('palette').addEventListener('cancel', (ev) => { ev.preventDefault(); close(); }); // Escape
  $('palette').addEventListener('click', (ev) => { if (ev.target === $('palette')) close(); }); // backdrop
  document.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === 'k') {
      ev.preventDefault();
      open();
      return;
    }
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && state.token && !$('palette').open) {
      // ev.code: Alt+J types a symbol on some layouts (macOS), the physical key is the same.
      if (ev.code === 'KeyJ') { ev.preventDefault(); stepLead(1); }
      if (ev.code === 'KeyK') { ev.preventDefault(); stepLead(-1); }
    }
  });
}
