// The memory context exactly as the agent sees it, in the customer's language (or another).

import { Q } from './api.js';
import { gql, act } from './client.js';
import { $, h, badge } from './dom.js';
import { state } from './state.js';

/** The language of the lead's open (or latest) conversation, as the agent would render it. */
function customerLocale() {
  const lang = state.sessions[0]?.language;
  return lang === 'he' || lang === 'en' ? lang : null;
}

export async function loadMemory() {
  const leadId = state.leadId;
  $('memory-panel').hidden = false;
  $('memory-meta').textContent = 'Loading…';
  const locale = $('memory-locale').value || customerLocale();
  const c = (await gql(Q.memory, { leadId, locale })).memoryContext;
  if (state.leadId !== leadId) return;
  $('memory-meta').replaceChildren(
    badge(c.isReturning ? 'returning customer' : 'not returning', c.isReturning ? 'returning' : ''),
    ` ~${c.rendered.estimatedTokens} tokens · ${c.rendered.characters} characters · ${c.locale}`,
    c.rendered.truncated ? ' · shortened to fit' : '',
    c.suggestedOpening ? h('span', { class: 'opening' }, ' Suggested opening: ', h('q', { dir: 'auto' }, c.suggestedOpening)) : null);
  $('memory-text').textContent = c.rendered.text;
  $('memory-text').lang = c.locale;
}

for (const id of ['memory-btn', 'memory-refresh']) $(id).addEventListener('click', act(loadMemory));
$('memory-locale').addEventListener('change', act(loadMemory));
$('memory-close').addEventListener('click', () => {
  $('memory-panel').hidden = true;
  $('memory-btn').focus(); // focus goes back where it came from
});
