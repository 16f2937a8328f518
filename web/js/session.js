// Sign in (email and password, or a pasted token) and out.

import { Q } from './api.js';
import { gql, act, live } from './client.js';
import { $, h, words } from './dom.js';
import { forgetLead, showDetail } from './lead.js';
import { loadLeads, startEvents, stopEvents } from './leads.js';
import { route } from './router.js';
import { TOKEN_KEY, USER_KEY, state } from './state.js';

export function showSignIn(message) {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !message;
  $('signin-error').replaceChildren(message || '');
  $('login-email').focus();
}

export function signInError(e) {
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
export async function enterApp(token) {
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
  state.isAdmin = me.role === 'ADMIN';
  state.me = me;
  document.body.classList.toggle('is-admin', state.isAdmin);
  $('signin').hidden = true;
  $('app').hidden = false;
  live.start();
  startEvents();
  await Promise.all([loadLeads(), route()]);
}

export function signOut(message = null) {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  live.stop();
  stopEvents();
  forgetLead();
  Object.assign(state, { leads: [], leadId: null, lead: null, sessions: [], sessionId: null, editingKey: null });
  $('lead-list').replaceChildren();
  showDetail(false);
  $('memory-panel').hidden = true;
  $('admin').hidden = true;
  state.isAdmin = false;
  showSignIn(message);
}
