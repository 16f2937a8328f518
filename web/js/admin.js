// Admin screens (admins only; the server refuses everyone else): staff users, API keys,
// workspace settings, background jobs; webhooks, exports and the audit log have their modules.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, timeEl, words, badge, toast } from './dom.js';
import { loadWebhooks } from './webhooks.js';
import { loadExports } from './exports.js';
import { loadAudit } from './audit.js';

const TABS = ['users', 'keys', 'settings', 'jobs', 'webhooks', 'exports', 'audit'];
const LOADERS = {
  users: loadUsers, keys: loadKeys, settings: loadSettings, jobs: () => loadJobs(),
  webhooks: loadWebhooks, exports: loadExports, audit: (query) => loadAudit(false, query),
};

/** Shows one admin screen and loads it (`query`: the URL's `?…`, e.g. the audit log's lead). */
export async function showAdmin(tab, query = '') {
  const name = TABS.includes(tab) ? tab : 'users';
  for (const t of TABS) $(`admin-${t}`).hidden = t !== name;
  for (const a of document.querySelectorAll('.admin-tabs a')) {
    a.setAttribute('aria-current', a.dataset.tab === name ? 'page' : 'false');
  }
  await LOADERS[name](query);
}

// Staff users ------------------------------------------------------------------------------

async function loadUsers() {
  const users = (await gql(Q.staffUsers)).staffUsers;
  $('users').replaceChildren(...users.map(userRow));
}

function userRow(u) {
  const role = h('select', { 'aria-label': `Role of ${u.email}` },
    ...['ADMIN', 'AGENT', 'VIEWER'].map((r) => h('option', { value: r, selected: r === u.role }, words(r))));
  role.addEventListener('change', act(async () => {
    try {
      await updateUser(u, { role: role.value }, `${u.email} is now ${words(role.value)}.`);
    } catch (e) {
      role.value = u.role; // refused (e.g. the last admin): show what is true
      throw e;
    }
  }));
  return h('tr', { 'data-id': u.id },
    h('td', { dir: 'ltr' }, u.email),
    h('td', { dir: 'auto' }, u.displayName ?? ''),
    h('td', {}, role),
    h('td', {}, timeEl(u.lastLoginAt)),
    h('td', {}, u.active ? badge('active', 'ok') : badge('deactivated', 'warn')),
    h('td', {}, h('button', {
      type: 'button', class: u.active ? 'danger' : '', 'aria-label': `${u.active ? 'Deactivate' : 'Reactivate'} ${u.email}`,
      onclick: act(() => (u.active && !confirm(`Deactivate ${u.email}? They are signed out at once.`)
        ? null
        : updateUser(u, { active: !u.active }, `${u.email} ${u.active ? 'deactivated' : 'reactivated'}.`))),
    }, u.active ? 'Deactivate' : 'Reactivate')));
}

async function updateUser(u, input, message) {
  const updated = (await gql(Q.updateStaffUser, { id: u.id, input })).updateStaffUser;
  const row = $('users').querySelector(`tr[data-id="${CSS.escape(u.id)}"]`);
  const fresh = userRow(updated);
  const label = document.activeElement?.getAttribute('aria-label');
  row?.replaceWith(fresh);
  // Keep focus on the control just used, now in the redrawn row.
  if (label) [...fresh.querySelectorAll('button, select')].find((x) => x.getAttribute('aria-label').endsWith(u.email) && x.tagName === document.activeElement?.tagName)?.focus();
  toast(message, null, 'ok');
}

$('user-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const input = {
    email: $('user-email').value.trim(),
    displayName: $('user-name').value.trim() || null,
    password: $('user-password').value,
    role: $('user-role').value,
  };
  const user = (await gql(Q.createStaffUser, { input })).createStaffUser;
  ev.target.reset();
  $('users').append(userRow(user));
  toast(`${user.email} can sign in now.`, null, 'ok');
  $('user-email').focus();
}));

// API keys ---------------------------------------------------------------------------------

async function loadKeys() {
  const keys = (await gql(Q.apiKeys)).apiKeys;
  $('keys').replaceChildren(...keys.map(keyRow));
}

function keyRow(k) {
  return h('tr', { 'data-id': k.id },
    h('td', { dir: 'auto' }, k.name),
    h('td', {}, k.scopes.map(words).join(', ')),
    h('td', {}, timeEl(k.lastUsedAt)),
    h('td', {}, timeEl(k.createdAt)),
    h('td', {}, k.revokedAt ? badge('revoked', 'warn') : badge('active', 'ok')),
    h('td', {}, k.revokedAt ? null : h('button', {
      type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}`,
      onclick: act(async () => {
        if (!confirm(`Revoke “${k.name}”? Whatever uses it stops working at once.`)) return;
        const revoked = (await gql(Q.revokeApiKey, { id: k.id })).revokeApiKey;
        const row = $('keys').querySelector(`tr[data-id="${CSS.escape(k.id)}"]`);
        row?.replaceWith(keyRow(revoked));
        $('key-name').focus();
        toast(`${k.name} revoked.`, null, 'ok');
      }),
    }, 'Revoke')));
}

$('key-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const scopes = [...ev.target.querySelectorAll('input[name=scope]:checked')].map((c) => c.value);
  if (!scopes.length) { toast('Choose at least one scope.', 'BAD_USER_INPUT'); return; }
  const created = (await gql(Q.createApiKey, { name: $('key-name').value.trim(), scopes })).createApiKey;
  ev.target.reset();
  $('keys').prepend(keyRow(created.apiKey));
  // The secret exists only in this answer: show it once, never store it.
  $('key-secret-value').textContent = created.token;
  $('key-secret').hidden = false;
  $('key-secret-done').focus();
}));

$('key-secret-done').addEventListener('click', () => {
  $('key-secret-value').textContent = '';
  $('key-secret').hidden = true;
  $('key-name').focus();
});

// Settings ---------------------------------------------------------------------------------

const NUMBERS = ['sessionIdleMinutes', 'contextMessages', 'contextNotes', 'contextCharBudget',
  'eventRetentionDays', 'messageRetentionDays', 'summaryRetentionDays', 'auditRetentionDays'];
const SECRETS = ['whatsappAppSecret', 'whatsappVerifyToken', 'twilioAuthToken'];

async function loadSettings() {
  fillSettings((await gql(Q.tenant)).tenant);
}

function fillSettings(t) {
  const form = $('settings-form');
  const s = t.settings;
  form.elements.name.value = t.name;
  form.elements.customerServiceMode.checked = s.customerServiceMode;
  form.elements.locale.value = s.locale;
  form.elements.defaultRegion.value = s.defaultRegion;
  form.elements.resetKeywords.value = s.resetKeywords.join('\n');
  for (const k of NUMBERS) form.elements[k].value = s[k];
  form.elements.piiRedaction.value = s.piiRedaction;
  for (const c of form.querySelectorAll('input[name=piiKind]')) c.checked = s.piiRedactionKinds.includes(c.value);
  clearFieldError();
  for (const k of SECRETS) form.elements[k].value = '';
  const set = (id, on) => { $(id).textContent = on ? 'set' : 'not set'; $(id).className = `badge ${on ? 'ok' : ''}`; };
  set('s-wa-secret', s.whatsappAppSecretConfigured);
  set('s-wa-verify', s.whatsappVerifyTokenConfigured);
  set('s-twilio', s.twilioAuthTokenConfigured);
}

$('settings-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const input = {
    name: f.name.value.trim(),
    customerServiceMode: f.customerServiceMode.checked,
    locale: f.locale.value,
    defaultRegion: f.defaultRegion.value.trim().toUpperCase(),
    resetKeywords: f.resetKeywords.value.split('\n').map((x) => x.trim()).filter(Boolean),
  };
  for (const k of NUMBERS) input[k] = Number(f[k].value);
  input.piiRedaction = f.piiRedaction.value;
  input.piiRedactionKinds = [...ev.target.querySelectorAll('input[name=piiKind]:checked')].map((c) => c.value);
  // Secrets are write-only: sent only when typed.
  for (const k of SECRETS) if (f[k].value) input[k] = f[k].value;
  const submit = ev.submitter;
  clearFieldError();
  let tenant;
  try {
    tenant = (await gql(Q.updateTenant, { input })).updateTenantSettings;
  } catch (e) {
    showFieldError(e);
    throw e;
  }
  fillSettings(tenant);
  toast('Settings saved.', null, 'ok');
  submit?.focus();
}));

/** The server's BAD_USER_INPUT names a field: mark it and say why beside the form. */
function showFieldError(e) {
  if (e.code !== 'BAD_USER_INPUT') return;
  const form = $('settings-form');
  const name = (e.field ?? '').replace(/^input\./, '');
  const el = form.elements[name] ?? (name === 'piiRedactionKinds' ? form.querySelector('input[name=piiKind]') : null);
  $('settings-error').hidden = false;
  $('settings-error').replaceChildren(h('strong', {}, e.code), ' ', e.message);
  if (el) { el.setAttribute('aria-invalid', 'true'); el.setAttribute('aria-describedby', 'settings-error'); el.focus(); }
}

function clearFieldError() {
  $('settings-error').hidden = true;
  for (const el of $('settings-form').querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
}

// Background jobs --------------------------------------------------------------------------

let jobsCursor = null;

async function loadJobs(more = false) {
  const data = (await gql(Q.jobs, { status: $('job-status').value || null, after: more ? jobsCursor : null })).jobs;
  jobsCursor = data.pageInfo.endCursor;
  $('jobs-more').hidden = !data.pageInfo.hasNextPage;
  const rows = data.nodes.map(jobRow);
  if (more) $('jobs').append(...rows); else $('jobs').replaceChildren(...rows);
  if (!more && !rows.length) $('jobs').append(h('tr', {}, h('td', { colspan: '6', class: 'muted' }, 'No jobs.')));
}

function jobRow(j) {
  const status = j.status ?? 'UNKNOWN';
  return h('tr', { 'data-id': j.id, class: `job-${status.toLowerCase()}` },
    h('td', {}, words(j.kind)),
    h('td', {}, badge(words(status), status === 'DEAD' ? 'warn' : status === 'DONE' ? 'ok' : '')),
    h('td', {}, `${j.attempts} / ${j.maxAttempts}`),
    h('td', {}, timeEl(j.finishedAt ?? j.runAt)),
    h('td', { class: 'error-text', dir: 'auto' }, j.lastError ?? ''),
    h('td', {}, status === 'DEAD' ? h('button', {
      type: 'button', 'aria-label': `Retry ${words(j.kind)} job`,
      onclick: act(async (ev) => {
        const retried = (await gql(Q.retryJob, { id: j.id })).retryJob;
        const row = ev.target.closest('tr');
        const fresh = jobRow(retried);
        row.replaceWith(fresh);
        fresh.querySelector('td').tabIndex = -1;
        fresh.querySelector('td').focus();
        toast('Job queued again.', null, 'ok');
      }),
    }, 'Retry') : null));
}

$('job-status').addEventListener('change', act(() => loadJobs()));
$('jobs-refresh').addEventListener('click', act(() => loadJobs()));
$('jobs-more').addEventListener('click', act(() => loadJobs(true)));
