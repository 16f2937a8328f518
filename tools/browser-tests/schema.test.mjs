// Every GraphQL document the dashboard sends is valid against the committed schema.graphql,
// so a schema change that breaks the dashboard fails here, not in a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { ROOT } from './lib/server.mjs';

const WEB = join(ROOT, 'web');
const schema = buildSchema(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));

/** web/js/api.js has no imports: load it as it is, the way the browser does. */
async function documents() {
  const source = readFileSync(join(WEB, 'js', 'api.js'), 'utf8');
  const mod = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);
  return mod.Q;
}

test('every GraphQL document in the dashboard validates against schema.graphql', async () => {
  const docs = await documents();
  assert.ok(Object.keys(docs).length > 20, 'the documents were found');
  const failures = [];
  for (const [name, text] of Object.entries(docs)) {
    try {
      const errors = validate(schema, parse(text));
      for (const e of errors) failures.push(`${name}: ${e.message}`);
    } catch (e) {
      failures.push(`${name}: ${e.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('no screen module keeps a GraphQL document of its own', () => {
  const stray = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) { if (!['vendor', 'graphiql'].includes(entry.name)) walk(path); continue; }
      if (!entry.name.endsWith('.js') || path.endsWith(join('js', 'api.js'))) continue;
      if (/`\s*(query|mutation|subscription|fragment)\s+[A-Z]/.test(readFileSync(path, 'utf8'))) stray.push(path);
    }
  };
  walk(WEB);
  assert.deepEqual(stray, [], 'GraphQL documents belong in web/js/api.js');
});
