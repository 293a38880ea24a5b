// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
// `dim demo` on a temporary data dir and a random port: it loads, shows the seeded objects,
// and a click on "burst 100" turns a cold object hot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dim = process.env.DIM_BINARY || path.resolve('build/dim');
const artifacts = process.env.DIM_ARTIFACTS || path.resolve('build/test-artifacts');
let server, browser, url, dir;

function startDim() {
  dir = mkdtempSync(path.join(tmpdir(), 'dim-browser-'));
  server = spawn(dim, ['demo', '--no-traffic', '--data-dir', path.join(dir, 'data'), '--api-listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  server.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dim did not start:\n' + out + err)), 60000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Dashboard: (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`dim exited with ${code}:\n${out}${err}`)));
  });
}

before(async () => {
  url = await startDim();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.on('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('dashboard shows the seeded objects and a burst makes a cold one hot', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  // The token moved from the URL into session storage.
  assert.ok(!page.url().includes('token='), 'token must not stay in the address bar');
  const cold = Number(await page.textContent('#c-cold'));
  const hot = Number(await page.textContent('#c-hot'));
  assert.ok(cold > 100, `expected most seeded objects cold, got ${cold}`);
  assert.equal(await page.locator('#sites tbody tr').count(), 3);
  assert.ok(await page.locator('#files tbody tr').count() > 50);

  // Pick a cold object and burst it.
  const row = page.locator('#files tbody tr', { has: page.locator('.badge.cold') }).first();
  const key = await row.getAttribute('data-key');
  await row.locator('button', { hasText: 'burst 100' }).click();
  const target = page.locator(`#files tbody tr[data-key="${key}"] .badge`);
  await page.waitForFunction((k) => {
    const b = document.querySelector(`#files tbody tr[data-key="${k}"] .badge`);
    return b && b.textContent === 'hot';
  }, key, { timeout: 30000 });
  assert.equal(await target.textContent(), 'hot');
  await page.waitForFunction((h) => Number(document.querySelector('#c-hot').textContent) > h, hot, { timeout: 30000 });

  // The explanation opens and names the chosen site.
  await page.locator(`#files tbody tr[data-key="${key}"] button`, { hasText: 'explain' }).click();
  await page.waitForSelector('#explain-panel:not([hidden])');
  const text = await page.textContent('#explain-body');
  assert.match(text, /Chosen: aws/);

  // The charts have drawn something.
  await page.waitForFunction(() => document.querySelectorAll('#tier-chart path').length === 3, null, { timeout: 30000 });
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no JavaScript errors');
  await page.close();
});

test('without the token the dashboard is read-only and says so', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => errors.push('console: ' + m.text()));
  await page.goto(url.replace(/\?token=.*/, ''));
  try {
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  } catch (e) {
    throw new Error(`not ready; status: ${await page.textContent('#status')}; errors: ${errors.join('; ')}`);
  }
  assert.match(await page.textContent('#status'), /read-only/);
  const row = page.locator('#files tbody tr').first();
  await row.locator('button', { hasText: 'burst 100' }).click();
  await page.waitForFunction(() => /burst failed/.test(document.querySelector('#status').textContent), null, { timeout: 30000 });
});
