// Runs the graphql-http server audit (GraphQL over HTTP) against a running memodesk.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// Prints every audit's result and a summary line; exits non-zero when a MUST (error) or a
// SHOULD (warn) audit fails. MAY audits that fail are printed as notices and do not fail it.
// The audit's requests carry no credential: memodesk answers `{ __typename }` and
// introspection to anyone (they reveal nothing but the public schema), and refuses every
// field that reads or writes data without one.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? process.env.MEMODESK_GRAPHQL_URL;
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}

// The server may still be starting: wait for its health check first.
const health = new URL('/healthz', url);
for (let waited = 0; ; waited += 100) {
  const up = await fetch(health).then((r) => r.ok, () => false);
  if (up) break;
  if (waited >= 30_000) {
    console.error(`graphql-http audit: ${health} did not answer within 30 s`);
    process.exit(2);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const results = await Promise.all(serverAudits({ url }).map(({ fn }) => fn()));
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status === 'ok') {
    console.log(`ok      ${result.id} ${result.name}`);
    continue;
  }
  console.log(`${result.status.padEnd(7)} ${result.id} ${result.name}: ${result.reason}`);
  if (result.status !== 'notice') {
    const body = await result.response.text().catch(() => '');
    console.log(`        ${result.response.status} ${body.slice(0, 300)}`);
  }
}
console.log(`graphql-http audit: ${counts.ok} ok, ${counts.warn} warn, ${counts.error} error` +
  (counts.notice ? ` (${counts.notice} MAY notices)` : ''));
process.exit(counts.warn + counts.error > 0 ? 1 : 0);
