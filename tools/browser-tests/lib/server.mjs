// The real memodesk (target/debug/memodesk, built by `cargo test`) on port 0 with demo data,
// on a fresh SQLite file or a fresh PostgreSQL database, and signed tokens for it.

import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
const BINARY = process.env.MEMODESK_BIN || join(ROOT, 'target/debug/memodesk');
const PG_ADMIN = process.env.MEMODESK_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The databases to run on: `BROWSER_DBS=sqlite,postgres` (default: both). */
export function databases() {
  return (process.env.BROWSER_DBS || 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);
}

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

/**
 * Starts a server with the demo tenant. Returns { url, tenantId, email, password, token,
 * sign(claims), stop() }.
 */
export async function startServer(db = 'sqlite') {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`cargo test --no-run\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'memodesk-browser-'));
  const secret = randomBytes(24).toString('hex');
  let databaseUrl = `sqlite://${dir}/memodesk.db`;
  let dropDatabase = () => {};
  if (db === 'postgres') {
    const name = `memodesk_browser_${process.pid}_${randomBytes(4).toString('hex')}`;
    execFileSync('psql', [PG_ADMIN, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`]);
    const url = new URL(PG_ADMIN);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = () => {
      try {
        execFileSync('psql', [PG_ADMIN, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore' });
      } catch { /* best effort */ }
    };
  }
  const child = spawn(BINARY, ['serve', '--demo', '--addr', '127.0.0.1:0', '--database-url', databaseUrl], {
    env: {
      ...process.env,
      MEMODESK_ENV: 'development',
      MEMODESK_DATA_DIR: dir,
      MEMODESK_JWT_SECRET: secret,
      MEMODESK_LOG_FORMAT: 'text',
      // The webhook tests' receiver listens on 127.0.0.1.
      MEMODESK_WEBHOOKS_ALLOW_PRIVATE: 'true',
      RUST_LOG: process.env.RUST_LOG || 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`memodesk did not start in 60 s:\n${out}\n${err}`)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/Token:\s+\S+/.test(out)) { clearTimeout(timer); ok(); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`memodesk exited (${code}):\n${out}\n${err}`)); });
  });
  await ready;
  const pick = (re) => out.match(re)?.[1];
  const url = pick(/Dashboard:\s+(\S+)/).replace(/\/$/, '');
  const [, email, password] = out.match(/Sign in:\s+(\S+) \/ (\S+)/);
  const token = pick(/Token:\s+(\S+)/);
  const adminClaims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  const sign = (claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const body = { ...adminClaims, iat: now, exp: now + 3600, ...claims };
    const unsigned = `${b64({ typ: 'JWT', alg: 'HS256' })}.${b64(body)}`;
    return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
  };
  const stop = async () => {
    if (child.exitCode == null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
      if (child.exitCode == null) child.kill('SIGKILL');
    }
    dropDatabase();
    rmSync(dir, { recursive: true, force: true });
  };
  /** A GraphQL request as the admin (or with `token`). */
  const gql = async (query, variables = {}, as = token) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${as}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors?.length) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  /** Runs SQL on the server's database (for states no API makes, e.g. a dead job). */
  const sql = (statement) => (db === 'postgres'
    ? execFileSync('psql', [databaseUrl, '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-c', statement], { encoding: 'utf8' })
    : execFileSync('sqlite3', [`${dir}/memodesk.db`, statement], { encoding: 'utf8' }));
  return { db, url, tenantId: adminClaims.tenant_id, email, password, token, sign, gql, sql, stop };
}
