// Small steps shared by the browser tests.

import assert from 'node:assert/strict';

export const RECORD = `mutation Record($input: RecordMessageInput!) {
  recordMessage(input: $input) { lead { id } session { id } message { id } } }`;

/** Records a message as an agent bot would. */
export async function record(server, input) {
  return (await server.gql(RECORD, { input })).recordMessage;
}

/** The id of the demo lead with this name. */
export async function leadId(server, name) {
  const data = await server.gql(`query($s: String!) { leads(first: 5, filter: { search: $s }) { nodes { id displayName } } }`, { s: name });
  const lead = data.leads.nodes.find((l) => l.displayName === name);
  assert.ok(lead, `no lead named ${name}`);
  return lead.id;
}

/** Opens a lead from the list by its name and waits for its page. */
export async function openLead(page, name) {
  await page.click(`#lead-list .lead-row:has(.lead-name:text-is("${name}"))`);
  await page.waitForFunction((n) => document.querySelector('#lead-name')?.textContent === n
    && !document.querySelector('#detail').hidden, name);
}

/** The names in the lead list, in order. */
export async function listNames(page) {
  return page.locator('#lead-list .lead-name').allTextContents();
}

/** Waits until the list shows exactly these names (any order). */
export async function waitForNames(page, names) {
  const want = [...names].sort();
  await page.waitForFunction((w) => {
    const got = [...document.querySelectorAll('#lead-list .lead-name')].map((e) => e.textContent).sort();
    return JSON.stringify(got) === JSON.stringify(w);
  }, want).catch(async (e) => {
    assert.deepEqual((await listNames(page)).sort(), want);
    throw e;
  });
}
