// Search across conversations: messages, summaries and notes, best first, with highlighted
// snippets. A hit opens the lead's conversation at that message. The search is in the URL
// (#/search?q=…&channels=…), so back and forward return to the same results.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, badge, channelName, leadName, timeEl, words } from './dom.js';

const LISTS = { channels: 'channel', roles: 'role', kinds: 'kind' };
let shown = null; // the URL query of the results on screen
let cursor = null;
let req = 0;

/** The address of a search: what the form says. */
export function searchHash(params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, v);
  return `#/search?${qs}`;
}

function formParams() {
  const f = $('search-form');
  const p = { q: $('search-q').value.trim() };
  for (const [key, name] of Object.entries(LISTS)) {
    p[key] = [...f.querySelectorAll(`input[name=${name}]:checked`)].map((c) => c.value).join(',');
  }
  p.from = $('search-from').value;
  p.to = $('search-to').value;
  p.lead = $('search-form').dataset.lead || '';
  return p;
}

function fillForm(p) {
  $('search-q').value = p.get('q') ?? '';
  for (const [key, name] of Object.entries(LISTS)) {
    const on = new Set((p.get(key) ?? '').split(',').filter(Boolean));
    for (const c of $('search-form').querySelectorAll(`input[name=${name}]`)) c.checked = on.has(c.value);
  }
  $('search-from').value = p.get('from') ?? '';
  $('search-to').value = p.get('to') ?? '';
  $('search-form').dataset.lead = p.get('lead') ?? '';
  $('search-lead-filter').hidden = !p.get('lead');
  const n = ['channels', 'roles', 'kinds', 'from', 'to', 'lead'].filter((k) => p.get(k)).length;
  $('search-filter-count').hidden = !n;
  $('search-filter-count').textContent = String(n);
  if (n) $('search-filters-box').open = true;
}

/** A day in the staff member's time zone, as RFC 3339 (`to` is the end of that day). */
const dayStart = (d, plus = 0) => {
  const t = new Date(`${d}T00:00:00`);
  t.setDate(t.getDate() + plus);
  return t.toISOString();
};

function filterOf(p) {
  const list = (k) => (p.get(k) ? p.get(k).split(',') : null);
  const f = {
    leadId: p.get('lead') || null, channels: list('channels'), roles: list('roles'), kinds: list('kinds'),
    from: p.get('from') ? dayStart(p.get('from')) : null, to: p.get('to') ? dayStart(p.get('to'), 1) : null,
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v != null));
}

/** Shows the search screen for `#/search?…` and runs the search it names. */
export async function showSearch(query) {
  const p = new URLSearchParams(query);
  fillForm(p);
  if (p.get('lead')) {
    act(async () => {
      const l = (await gql(Q.leadRow, { id: p.get('lead') }, { quiet: true }).catch(() => ({ lead: null }))).lead;
      $('search-lead-name').textContent = l ? leadName(l) : 'one lead';
    })();
  }
  if (!p.get('q')) {
    shown = null;
    $('search-results').replaceChildren();
    $('search-status').textContent = 'Type words to find in messages, summaries and notes.';
    $('search-more').hidden = true;
    $('search-q').focus();
    return;
  }
  if (shown === query) return; // back from a hit: the results are still there
  await run(p, query, false);
}

async function run(p, query, more) {
  const mine = ++req;
  $('search-status').textContent = 'Searching…';
  const data = (await gql(Q.search, { query: p.get('q'), filter: filterOf(p), after: more ? cursor : null })).search;
  if (mine !== req) return;
  shown = query;
  cursor = data.pageInfo.endCursor;
  const items = data.nodes.map(hitEl);
  if (more) $('search-results').append(...items); else $('search-results').replaceChildren(...items);
  // Which search the list answers (the address changes before its search starts).
  $('search-results').dataset.query = query;
  $('search-more').hidden = !data.pageInfo.hasNextPage;
  const count = $('search-results').children.length;
  $('search-status').textContent = count
    ? [`${count}${data.pageInfo.hasNextPage ? '+' : ''} result${count === 1 ? '' : 's'}`,
      data.relaxed ? 'no record has every word: showing those with some of them' : null,
      data.semanticError ? 'semantic search is unavailable, word matches only' : null].filter(Boolean).join(' · ')
    : 'Nothing found.';
}

/** Where a hit leads: the conversation at the message, or the lead. */
export function hitHref(hit) {
  const lead = `#/lead/${encodeURIComponent(hit.lead.id)}`;
  if (!hit.session) return lead;
  const conv = `${lead}/conversation/${encodeURIComponent(hit.session.id)}`;
  return hit.kind === 'MESSAGE' ? `${conv}/message/${encodeURIComponent(hit.record.id)}` : conv;
}

// The server escapes the snippet and marks matches with <mark>: rebuild it as text nodes and
// <mark> elements, so nothing a customer wrote is ever parsed as HTML.
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (all, e) => {
  if (e[0] !== '#') return ENTITIES[e.toLowerCase()] ?? all;
  const n = e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
  return Number.isFinite(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : all;
});

export function snippetNodes(snippet) {
  const out = [];
  const re = /<mark>([\s\S]*?)<\/mark>/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) out.push(unescapeHtml(snippet.slice(last, m.index)));
    out.push(h('mark', {}, unescapeHtml(m[1])));
    last = re.lastIndex;
  }
  if (last < snippet.length) out.push(unescapeHtml(snippet.slice(last)));
  return out;
}

const KIND = { MESSAGE: 'message', SUMMARY: 'summary', NOTE: 'note' };

function hitEl(hit) {
  const r = hit.record;
  const at = r.occurredAt ?? r.createdAt;
  return h('li', { class: 'hit' }, h('a', { class: 'hit-link', href: hitHref(hit) },
    h('span', { class: 'hit-head' },
      h('bdi', { class: 'hit-lead' }, leadName(hit.lead)),
      badge(KIND[hit.kind] ?? words(hit.kind), 'kind'),
      hit.session ? badge(channelName(hit.session.channel), 'channel') : null,
      r.role ? h('span', { class: 'small muted' }, words(r.role)) : null,
      r.author ? h('bdi', { class: 'small muted' }, r.author) : null,
      timeEl(at, 'time small muted'),
      h('span', { class: 'score', title: 'Relevance score (higher is better; comparable within this search only)' }, hit.score.toFixed(3))),
    h('span', { class: 'snippet', dir: 'auto' }, ...snippetNodes(hit.snippet))));
}

$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const hash = searchHash(formParams());
  if (location.hash === hash) { shown = null; act(() => showSearch(hash.slice(hash.indexOf('?') + 1)))(); } else location.hash = hash;
});
// Changing a filter searches again (when there are words to search for).
$('search-form').addEventListener('change', (ev) => {
  if (ev.target === $('search-q') || !$('search-q').value.trim()) return;
  location.hash = searchHash(formParams());
});
$('search-reset').addEventListener('click', () => {
  $('search-form').dataset.lead = '';
  location.hash = searchHash({ q: $('search-q').value.trim() });
  $('search-q').focus();
});
$('search-lead-clear').addEventListener('click', () => {
  $('search-form').dataset.lead = '';
  location.hash = searchHash(formParams());
  $('search-q').focus();
});
$('search-more').addEventListener('click', act(async () => {
  const query = shown;
  const first = $('search-results').children.length;
  await run(new URLSearchParams(query), query, true);
  $('search-results').children[first]?.querySelector('a')?.focus();
}));
// Arrow keys move between results; from the box, ArrowDown enters the list.
$('search-results').addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  const links = [...$('search-results').querySelectorAll('a.hit-link')];
  const i = links.indexOf(document.activeElement);
  if (i < 0) return;
  ev.preventDefault();
  links[Math.max(0, Math.min(links.length - 1, i + (ev.key === 'ArrowDown' ? 1 : -1)))].focus();
});
$('search-q').addEventListener('keydown', (ev) => {
  if (ev.key === 'ArrowDown') { ev.preventDefault(); $('search-results').querySelector('a.hit-link')?.focus(); }
});
