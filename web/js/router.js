// Deep links: a URL per lead and conversation, and per admin screen; back and forward work.
//   #/                                  the lead list
//   #/lead/<id>                         a lead, its newest conversation
//   #/lead/<id>/conversation/<id>       a lead, that conversation
//   #/lead/<id>/conversation/<id>/message/<id>  …scrolled to that message (a search hit)
//   #/search?q=…&channels=…&roles=…&kinds=…&from=…&to=…&lead=…   search across conversations
//   #/admin/(users|keys|settings|jobs|webhooks|exports|audit)  an admin screen (admins only)
//   #/admin/audit?lead=<id>             the audit log about one lead (who viewed, changed, exported it)

import { act } from './client.js';
import { $ } from './dom.js';
import { selectLead, showView } from './lead.js';
import { showAdmin } from './admin.js';
import { showSearch } from './search.js';
import { state } from './state.js';

/** What the current URL asks for. */
export function parseRoute(hash = location.hash) {
  const [path, query = ''] = hash.split('?');
  const parts = path.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'lead' && parts[1]) {
    const sessionId = parts[2] === 'conversation' ? parts[3] ?? null : null;
    return { screen: 'leads', leadId: parts[1], sessionId, messageId: sessionId && parts[4] === 'message' ? parts[5] ?? null : null };
  }
  if (parts[0] === 'search') return { screen: 'search', query };
  if (parts[0] === 'admin') return { screen: 'admin', tab: parts[1] || 'users', query };
  return { screen: 'leads', leadId: null, sessionId: null };
}

/** Shows what the URL says (called on every hash change and after signing in). */
export async function route() {
  if (!state.token) return;
  const r = parseRoute();
  const admin = r.screen === 'admin' && state.isAdmin;
  const search = r.screen === 'search';
  $('admin').hidden = !admin;
  $('search-screen').hidden = !search;
  document.querySelector('main.panes').hidden = admin || search;
  $('nav-leads').setAttribute('aria-current', admin || search ? 'false' : 'page');
  $('nav-search').setAttribute('aria-current', search ? 'page' : 'false');
  $('nav-admin').setAttribute('aria-current', admin ? 'page' : 'false');
  if (admin) { await showAdmin(r.tab, r.query); return; }
  if (search) { await showSearch(r.query); return; }
  // A conversation's address shows that conversation, even from the timeline.
  if (r.sessionId && !$('timeline-view').hidden) showView('conversations');
  if (r.leadId) await selectLead(r.leadId, r.sessionId, r.messageId);
}

export function startRouter() {
  window.addEventListener('hashchange', act(route));
}
