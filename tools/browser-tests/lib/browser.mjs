// Debian's Chromium driven by playwright-core (no browser is downloaded), one server per
// test file and database, and a screenshot of every failure.

import { describe, before, after, it } from 'node:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { databases, startServer } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const FAILURES = join(import.meta.dirname, '..', 'failures');

let browser = null;
async function sharedBrowser() {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  return browser;
}

/**
 * One `describe` per database: a fresh server with demo data, a browser context per test.
 * `fn(t)` registers tests with `t.flow(name, async ({ page, server, context }) => …, options)`.
 */
export function suite(name, fn) {
  for (const db of databases()) {
    describe(`${name} (${db})`, () => {
      const ctx = { server: null };
      before(async () => { ctx.server = await startServer(db); });
      after(async () => {
        await ctx.server?.stop();
        if (browser) { await browser.close(); browser = null; }
      });
      fn({
        flow(title, body, { viewport = { width: 1280, height: 800 }, locale = 'en-US', signedIn = true } = {}) {
          it(title, async () => {
            const b = await sharedBrowser();
            const context = await b.newContext({ viewport, locale });
            const page = await context.newPage();
            const problems = [];
            page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
            page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
            page.setDefaultTimeout(10000);
            try {
              if (signedIn) await enter(page, ctx.server);
              await body({ page, context, server: ctx.server, problems });
            } catch (e) {
              mkdirSync(FAILURES, { recursive: true });
              const file = join(FAILURES, `${title.replace(/[^\w-]+/g, '_')}-${db}.png`.slice(-120));
              await page.screenshot({ path: file, fullPage: true }).catch(() => {});
              e.message += `\n  screenshot: ${file}${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`;
              throw e;
            } finally {
              await context.close();
            }
          });
        },
      });
    });
  }
}

/** Signs in with the demo admin's email and password and waits for the lead list. */
export async function signIn(page, server, { email = server.email, password = server.password } = {}) {
  await page.goto(`${server.url}/`);
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#lead-list li');
}

/**
 * Opens the dashboard as the demo admin with its token (the token form), which skips the
 * password hash: signing in with the password is tested once, in signin.test.mjs.
 */
export async function enter(page, server) {
  await useToken(page, server, server.token);
  await page.waitForSelector('#lead-list li');
}

/** Opens the dashboard with a token (as staff pasting one into the token form would). */
export async function useToken(page, server, token) {
  await page.goto(`${server.url}/`);
  await page.fill('#token-input', token);
  await page.click('#token-form button[type=submit]');
}
