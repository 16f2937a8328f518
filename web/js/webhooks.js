// Webhooks (admins): endpoints (add, edit, rotate the secret, delete) and their deliveries
// with every attempt, a status filter and replay. Secrets are shown once, never stored.

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, timeEl, badge, toast, plural } from './dom.js';

/** The event types an endpoint can receive (the server's public event names). */
export const EVENT_TYPES = ['lead.created', 'lead.updated', 'lead.erased', 'message.created', 'message.updated',
  'session.opened', 'session.closed', 'summary.created', 'note.created', 'note.updated', 'note.deleted'];
const DEFAULT_EVENTS = new Set(['lead.updated', 'summary.created', 'lead.erased']);

let hooks = [];
let openHook = null; // the endpoint whose deliveries are shown
let deliveriesAfter = null;

function eventChecks(container, chosen, idPrefix) {
  container.replaceChildren(...EVENT_TYPES.map((t) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'event', value: t, checked: chosen.has(t), id: `${idPrefix}-${t.replace('.', '-')}` }),
    h('span', { dir: 'ltr' }, t))));
}
const chosenEvents = (el) => [...el.querySelectorAll('input[name=event]:checked')].map((c) => c.value);

export async function loadWebhooks() {
  if (!$('hook-events').children.length) eventChecks($('hook-events'), DEFAULT_EVENTS, 'new-event');
  hooks = (await gql(Q.webhookEndpoints)).webhookEndpoints;
  renderHooks();
  if (openHook && !hooks.some((x) => x.id === openHook.id)) closeDeliveries();
}

function renderHooks() {
  $('hooks').replaceChildren(...hooks.map(hookRow));
  if (!hooks.length) $('hooks').append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No endpoints yet.')));
}

function status(e) {
  if (e.enabled) {
    return e.failingSince ? h('span', {}, badge('failing', 'warn'), ' since ', timeEl(e.failingSince)) : badge('enabled', 'ok');
  }
  return h('span', {}, badge('disabled', 'warn'), e.disabledReason ? h('span', { class: 'small muted' }, ` ${e.disabledReason}`) : null);
}

function hookRow(e) {
  const label = e.description || e.url;
  return h('tr', { 'data-id': e.id },
    h('td', {}, h('code', { dir: 'ltr', class: 'url' }, e.url), e.description ? h('div', { class: 'small muted', dir: 'auto' }, e.description) : null),
    h('td', { class: 'small', dir: 'ltr' }, e.eventTypes.join(', ')),
    h('td', {}, status(e), e.previousSecretExpiresAt
      ? h('div', { class: 'small muted' }, 'old secret signs until ', timeEl(e.previousSecretExpiresAt)) : null),
    h('td', {}, timeEl(e.createdAt)),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'link', 'aria-label': `Deliveries to ${label}`, onclick: act(() => showDeliveries(e)) }, 'Deliveries'),
      h('button', { type: 'button', class: 'link', 'aria-label': `Edit ${label}`, onclick: (ev) => editHook(ev.currentTarget.closest('tr'), e) }, 'Edit'),
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Rotate the secret of ${label}`,
        onclick: act(async () => {
          if (!confirm('Rotate the signing secret? The old one keeps signing beside the new one for 24 hours.')) return;
          const r = (await gql(Q.rotateWebhook, { id: e.id })).rotateWebhookSecret;
          replaceHook(r.endpoint);
          showSecret(r.secret);
        }),
      }, 'Rotate secret'),
      h('button', {
        type: 'button', class: 'link danger', 'aria-label': `Delete ${label}`,
        onclick: act(async () => {
          if (!confirm(`Delete the endpoint ${e.url} and its deliveries? Nothing more is sent to it.`)) return;
          await gql(Q.deleteWebhook, { id: e.id });
          hooks = hooks.filter((x) => x.id !== e.id);
          renderHooks();
          if (openHook?.id === e.id) closeDeliveries();
          $('hook-url').focus();
          toast('Endpoint deleted.', null, 'ok');
        }),
      }, 'Delete')));
}

function replaceHook(e) {
  hooks = hooks.map((x) => (x.id === e.id ? e : x));
  const row = $('hooks').querySelector(`tr[data-id="${CSS.escape(e.id)}"]`);
  const fresh = hookRow(e);
  row?.replaceWith(fresh);
  return fresh;
}

function editHook(row, e) {
  row.nextElementSibling?.classList.contains('hook-edit') && row.nextElementSibling.remove();
  const events = h('div', { class: 'scopes' });
  eventChecks(events, new Set(e.eventTypes), `edit-${e.id}`);
  const url = h('input', { type: 'url', value: e.url, required: true, maxlength: '1000', dir: 'ltr', 'aria-label': 'Receiver URL' });
  const desc = h('input', { value: e.description, maxlength: '1000', dir: 'auto', 'aria-label': 'Description' });
  const enabled = h('input', { type: 'checkbox', checked: e.enabled });
  const close = (focus = true) => {
    edit.remove();
    if (focus) $('hooks').querySelector(`tr[data-id="${CSS.escape(e.id)}"] button[aria-label^="Edit"]`)?.focus();
  };
  const form = h('form', { class: 'stack', 'aria-label': `Edit ${e.url}` },
    h('label', {}, 'Receiver URL (at most 1000 characters) ', url),
    h('label', {}, 'Description (at most 1000 characters) ', desc),
    h('fieldset', { class: 'events' }, h('legend', {}, 'Events'), events),
    h('label', { class: 'check' }, enabled, ' Enabled (events are sent)'),
    h('div', { class: 'row' }, h('span', { class: 'spacer' }),
      h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, 'Save endpoint')));
  const edit = h('tr', { class: 'hook-edit' }, h('td', { colspan: '5' }, form));
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') close(); });
  form.addEventListener('submit', act(async (ev) => {
    ev.preventDefault();
    const eventTypes = chosenEvents(events);
    if (!eventTypes.length) { toast('Choose at least one event.', 'BAD_USER_INPUT'); return; }
    const input = { url: url.value.trim(), description: desc.value.trim(), eventTypes, enabled: enabled.checked };
    const updated = (await gql(Q.updateWebhook, { id: e.id, input })).updateWebhookEndpoint;
    close(false);
    replaceHook(updated).querySelector('button[aria-label^="Edit"]').focus();
    toast('Endpoint saved.', null, 'ok');
  }));
  row.after(edit);
  url.focus();
}

function showSecret(secret) {
  $('hook-secret-value').textContent = secret;
  $('hook-secret').hidden = false;
  $('hook-secret-copy').focus();
}

$('hook-form').addEventListener('submit', act(async (ev) => {
  ev.preventDefault();
  const eventTypes = chosenEvents($('hook-events'));
  if (!eventTypes.length) { toast('Choose at least one event.', 'BAD_USER_INPUT'); return; }
  const input = { url: $('hook-url').value.trim(), eventTypes, description: $('hook-description').value.trim() || null };
  const created = (await gql(Q.createWebhook, { input })).createWebhookEndpoint;
  $('hook-form').reset();
  eventChecks($('hook-events'), DEFAULT_EVENTS, 'new-event');
  hooks.push(created.endpoint);
  renderHooks();
  showSecret(created.secret);
}));

$('hook-secret-copy').addEventListener('click', act(async () => {
  const text = $('hook-secret-value').textContent;
  try {
    await navigator.clipboard.writeText(text);
    toast('Secret copied.', null, 'ok');
  } catch {
    // No clipboard permission: select it for Ctrl+C instead.
    getSelection().selectAllChildren($('hook-secret-value'));
    toast('Press Ctrl+C to copy the selected secret.', null, 'ok');
  }
}));
$('hook-secret-done').addEventListener('click', () => {
  $('hook-secret-value').textContent = '';
  $('hook-secret').hidden = true;
  $('hook-url').focus();
});

// Deliveries ------------------------------------------------------------------------------

async function showDeliveries(e, more = false) {
  openHook = e;
  $('deliveries').hidden = false;
  $('deliveries-url').textContent = e.url;
  const data = (await gql(Q.webhookDeliveries, {
    endpointId: e.id, status: $('delivery-status').value || null, after: more ? deliveriesAfter : null,
  })).webhookDeliveries;
  if (openHook?.id !== e.id) return;
  deliveriesAfter = data.at(-1)?.id ?? deliveriesAfter;
  $('deliveries-more').hidden = data.length < 20;
  const items = data.map(deliveryEl);
  if (more) $('delivery-list').append(...items); else $('delivery-list').replaceChildren(...items);
  if (!more && !items.length) $('delivery-list').append(h('li', { class: 'muted' }, 'No deliveries.'));
  if (!more) $('deliveries-h').scrollIntoView({ block: 'nearest' });
}

function closeDeliveries() {
  const id = openHook?.id;
  openHook = null;
  $('deliveries').hidden = true;
  $('delivery-list').replaceChildren();
  if (id) $('hooks').querySelector(`tr[data-id="${CSS.escape(id)}"] button[aria-label^="Deliveries"]`)?.focus();
}

const STATUS_CLASS = { SUCCEEDED: 'ok', FAILED: 'warn', PENDING: '' };

function deliveryEl(d) {
  return h('li', { class: `delivery ${d.status.toLowerCase()}`, 'data-id': d.id },
    h('p', { class: 'meta' },
      badge(d.status.toLowerCase(), STATUS_CLASS[d.status]),
      h('code', { dir: 'ltr' }, d.eventType),
      h('span', { class: 'small muted' }, plural(d.attemptCount, 'attempt')),
      d.lastResponseCode ? h('span', { class: 'small' }, `HTTP ${d.lastResponseCode}`) : null,
      d.deliveredAt ? h('span', { class: 'small muted' }, 'delivered ', timeEl(d.deliveredAt))
        : d.status === 'PENDING' ? h('span', { class: 'small muted' }, 'next try ', timeEl(d.nextAttemptAt)) : null,
      h('span', { class: 'small muted', dir: 'ltr', title: 'webhook-id header' }, d.webhookId),
      h('span', { class: 'spacer' }),
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Replay ${d.eventType} delivery ${d.webhookId}`,
        onclick: act(async (ev) => {
          const replayed = (await gql(Q.replayDelivery, { id: d.id })).replayWebhookDelivery;
          const fresh = deliveryEl(replayed);
          ev.target.closest('li').replaceWith(fresh);
          fresh.querySelector('button').focus();
          toast('Delivery sent again.', null, 'ok');
        }),
      }, 'Replay')),
    d.lastError ? h('p', { class: 'error-text', dir: 'auto' }, d.lastError) : null,
    d.attempts.length ? h('details', {}, h('summary', {}, `Attempts (${d.attempts.length})`),
      h('table', { class: 'table attempts' },
        h('thead', {}, h('tr', {}, ...['#', 'Result', 'Code', 'Took', 'When', 'Answer or error'].map((x) => h('th', {}, x)))),
        h('tbody', {}, ...d.attempts.map((a) => h('tr', {},
          h('td', {}, String(a.attempt)),
          h('td', {}, a.succeeded ? badge('ok', 'ok') : badge('failed', 'warn')),
          h('td', {}, a.responseCode == null ? '—' : String(a.responseCode)),
          h('td', {}, `${a.durationMs} ms`),
          h('td', {}, timeEl(a.at)),
          h('td', { class: 'response', dir: 'auto' }, a.error ? h('span', { class: 'error-text' }, a.error) : null,
            a.responseBody ? h('code', { class: 'body' }, a.responseBody.length > 300 ? `${a.responseBody.slice(0, 300)}…` : a.responseBody) : null)))))) : null);
}

$('delivery-status').addEventListener('change', act(() => openHook && showDeliveries(openHook)));
$('deliveries-refresh').addEventListener('click', act(() => openHook && showDeliveries(openHook)));
$('deliveries-more').addEventListener('click', act(() => openHook && showDeliveries(openHook, true)));
$('deliveries-close').addEventListener('click', closeDeliveries);
