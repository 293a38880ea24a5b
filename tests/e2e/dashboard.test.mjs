// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
// `dim demo` on a temporary data dir and a random port: it loads, shows the seeded objects,
// and a click on "burst 100" turns a cold object hot; Insights shows the popularity model (a
// forest trained by `dim train` before the start) and an object's SHAP contributions, and a
// corrupt model file visibly falls back to the heuristic with an alert.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dim = process.env.DIM_BINARY || path.resolve('build/dim');
const artifacts = process.env.DIM_ARTIFACTS || path.resolve('build/test-artifacts');
let server, browser, url, dir, modelPath;

function startDim() {
  dir = mkdtempSync(path.join(tmpdir(), 'dim-browser-'));
  modelPath = path.join(dir, 'model.dim');
  const trained = spawnSync(dim, ['train', '--synthetic', '--objects', '150', '--days', '3', '--step', '1800',
    '--trees', '16', '--threads', '1', '--quiet', '--out', modelPath], { encoding: 'utf8', timeout: 300000 });
  if (trained.status !== 0) throw new Error('dim train failed:\n' + trained.stdout + trained.stderr);
  const config = path.join(dir, 'dim.toml');
  writeFileSync(config, `[ml]\nmodel_path = "${modelPath}"\nreload_interval_s = 1\nthreads = 1\n`);
  server = spawn(dim, ['demo', '--no-traffic', '--data-dir', path.join(dir, 'data'), '--api-listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0',
    '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
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

test('Insights shows the model, its feature importance and an object\'s SHAP contributions; a corrupt model falls back with an alert', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  // The model trained before the start serves.
  await page.waitForFunction(() => /^xgboost:rf-/.test(document.querySelector('#model-predictor')?.textContent || ''), null, { timeout: 20000 });
  assert.match(await page.textContent('#model-card'), /random forest trained/);
  assert.match(await page.textContent('#model-metrics'), /AUC/);
  assert.equal(await page.locator('#importance-chart .imp-bar').count(), 12);

  // Per-object contributions: twelve bars whose values add up to the margin.
  const row = page.locator('#files tbody tr').first();
  const key = await row.getAttribute('data-key');
  await row.locator('button', { hasText: 'insights' }).click();
  await page.waitForSelector('#insights-object:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#shap-chart .shap-bar').length === 12, null, { timeout: 10000 });
  const bars = await page.$$eval('#shap-chart .shap-bar', (els) => els.map((e) => Number(e.getAttribute('data-contribution'))));
  const d = await page.evaluate(async (k) => (await fetch('/debug/placement/' + encodeURI(k) + '?run=false')).json(), key);
  const c = d.prediction.contributions;
  assert.match(c.model, /^xgboost:/);
  const sum = bars.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(c.bias + sum - c.margin) < 1e-4, `bias ${c.bias} + ${sum} != margin ${c.margin}`);
  assert.match(await page.textContent('#shap-summary'), /p_hot \d\.\d{3} from xgboost:/);
  mkdirSync(artifacts, { recursive: true });
  await page.locator('#insights-panel').screenshot({ path: path.join(artifacts, 'insights.png') });

  // A corrupt model file: refused within the reload interval, the heuristic takes over, an alert says why.
  const good = readFileSync(modelPath);
  writeFileSync(modelPath, good.subarray(0, Math.floor(good.length / 2)));
  await page.waitForFunction(() => document.querySelector('#model-predictor')?.textContent === 'heuristic', null, { timeout: 30000 });
  assert.match(await page.textContent('#model-error'), /corrupt|truncated/);
  await page.waitForFunction(() => /model_rejected/.test(document.querySelector('#alerts').textContent), null, { timeout: 10000 });
  // The good file back: served again, the alert resolved.
  writeFileSync(modelPath, good);
  await page.waitForFunction(() => /^xgboost:/.test(document.querySelector('#model-predictor')?.textContent || ''), null, { timeout: 30000 });
  await page.waitForFunction(() => !/model_rejected/.test(document.querySelector('#alerts').textContent), null, { timeout: 10000 });
  assert.deepEqual(errors, [], 'no JavaScript errors');
  await page.close();
});
