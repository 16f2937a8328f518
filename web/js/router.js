// Deep links: a URL per lead and conversation, and per admin screen; back and forward work.
//   #/                                  the lead list
//   #/lead/<id>                         a lead, its newest conversation
//   #/lead/<id>/conversation/<id>       a lead, that conversation
//   #/admin/(users|keys|settings|jobs)  an admin screen (admins only)

import { act } from './client.js';
import { $ } from './dom.js';
import { selectLead, showView } from './lead.js';
import { showAdmin } from './admin.js';
import { state } from './state.js';

/** What the current URL asks for. */
export function parseRoute(hash = location.hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'lead' && parts[1]) {
    return { screen: 'leads', leadId: parts[1], sessionId: parts[2] === 'conversation' ? parts[3] ?? null : null };
  }
  if (parts[0] === 'admin') return { screen: 'admin', tab: parts[1] || 'users' };
  return { screen: 'leads', leadId: null, sessionId: null };
}

/** Shows what the URL says (called on every hash change and after signing in). */
export async function route() {
  if (!state.token) return;
  const r = parseRoute();
  const admin = r.screen === 'admin' && state.isAdmin;
  $('admin').hidden = !admin;
  document.querySelector('main.panes').hidden = admin;
  $('nav-leads').setAttribute('aria-current', admin ? 'false' : 'page');
  $('nav-admin').setAttribute('aria-current', admin ? 'page' : 'false');
  if (admin) { await showAdmin(r.tab); return; }
  // A conversation's address shows that conversation, even from the timeline.
  if (r.sessionId && !$('timeline-view').hidden) showView('conversations');
  if (r.leadId) await selectLead(r.leadId, r.sessionId);
}

export function startRouter() {
  window.addEventListener('hashchange', act(route));
}
