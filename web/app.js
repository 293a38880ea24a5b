// Data-in-Motion dashboard: polls the API every two seconds and draws what it finds.
'use strict';

const token = (() => {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t) {
    sessionStorage.setItem('dim-token', t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search);
  }
  return sessionStorage.getItem('dim-token') || '';
})();

const $ = (id) => document.getElementById(id);
const history_ = { tiers: [], heat: new Map(), tick: 0 };
const MAX_POINTS = 300;
let files = [];
let sites = [];

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (options.method && options.method !== 'GET') headers['Authorization'] = 'Bearer ' + token;
  const res = await fetch(path, Object.assign({}, options, { headers }));
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch (e) { /* metrics are text */ }
  if (!res.ok) throw new Error((body && body.error) || res.status + ' ' + res.statusText);
  return body;
}

function fmtBytes(n) {
  if (!isFinite(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

function ago(ms) {
  if (!ms) return 'never';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function metric(text, name, labels) {
  let total = 0, found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !rest.includes(labels)) continue;
    total += parseFloat(line.split(' ').pop());
    found = true;
  }
  return found ? total : NaN;
}

function svgText(svg, x, y, text, anchor = 'start') {
  const t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  t.setAttribute('x', x);
  t.setAttribute('y', y);
  t.setAttribute('font-size', '11');
  t.setAttribute('fill', '#495057');
  t.setAttribute('text-anchor', anchor);
  t.textContent = text;
  svg.append(t);
}

function spanLabel(points) {
  const secs = Math.round((points - 1) * 2);
  return secs < 120 ? `last ${secs} s` : `last ${Math.round(secs / 60)} min`;
}

function drawTierChart() {
  const svg = $('tier-chart');
  const pts = history_.tiers;
  svg.innerHTML = '';
  if (pts.length < 2) return;
  const W = 600, H = 180;
  const x = (i) => (i / (pts.length - 1)) * W;
  const tot = (p) => Math.max(1, p.hot + p.warm + p.cold);
  const layers = [['cold', (p) => 1], ['warm', (p) => (p.hot + p.warm) / tot(p)], ['hot', (p) => p.hot / tot(p)]];
  for (const [name, top] of layers) {
    let d = `M0,${H}`;
    pts.forEach((p, i) => { d += ` L${x(i).toFixed(1)},${(H - top(p) * H).toFixed(1)}`; });
    d += ` L${W},${H} Z`;
    svg.append(Object.assign(document.createElementNS('http://www.w3.org/2000/svg', 'path'), {}));
    svg.lastChild.setAttribute('d', d);
    svg.lastChild.setAttribute('fill', getComputedStyle(document.documentElement).getPropertyValue('--' + name));
    svg.lastChild.setAttribute('opacity', '0.85');
  }
  const last = pts[pts.length - 1];
  svgText(svg, 4, 12, `${spanLabel(pts.length)} · now ${last.hot} hot / ${last.warm} warm / ${last.cold} cold`);
}

const palette = ['#d9480f', '#5f3dc4', '#0c8599', '#2b8a3e', '#e64980', '#1971c2'];

function drawHeatChart() {
  const svg = $('heat-chart');
  svg.innerHTML = '';
  const top = [...files].sort((a, b) => b.heat - a.heat).slice(0, 6).map((f) => f.key);
  const series = top.map((k) => history_.heat.get(k) || []);
  const max = Math.max(1, ...series.flat().map((p) => p.v));
  const W = 600, H = 180;
  const last = history_.tick, first = Math.max(1, last - MAX_POINTS + 1);
  const x = (t) => ((t - first) / Math.max(1, last - first)) * W;
  const legend = $('heat-legend');
  legend.innerHTML = '';
  top.forEach((k, i) => {
    const s = history_.heat.get(k) || [];
    if (s.length < 1) return;
    const d = s.filter((p) => p.t >= first).map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${(H - (p.v / max) * (H - 10)).toFixed(1)}`).join(' ');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', palette[i]);
    path.setAttribute('stroke-width', '2');
    svg.append(path);
    legend.append(el('span', { style: 'color:' + palette[i] }, '■ ' + k));
  });
  if (top.length) {
    svgText(svg, 4, 12, `max ${max.toFixed(0)}`);
    svgText(svg, W - 4, H - 4, spanLabel(Math.min(last, MAX_POINTS)), 'end');
  }
}

function renderSites() {
  const tb = $('sites').tBodies[0];
  tb.innerHTML = '';
  for (const s of sites) {
    const primaryOf = files.filter((f) => f.primary === s.name);
    const bytes = files.filter((f) => (f.sites || []).includes(s.name)).reduce((a, f) => a + f.size, 0);
    tb.append(el('tr', {}, el('td', {}, s.name), el('td', {}, s.provider), el('td', {}, el('span', { class: 'badge ' + s.class }, s.class)),
      el('td', {}, s.p95_ms), el('td', {}, '$' + s.cost_per_gb.toFixed(4)), el('td', {}, s.encrypted ? 'yes' : 'no'),
      el('td', {}, primaryOf.length), el('td', {}, fmtBytes(bytes)), el('td', {}, s.up ? '●' : '✕')));
  }
}

function renderFiles() {
  const q = $('filter').value.trim();
  const rows = [...files].filter((f) => !q || f.key.includes(q)).sort((a, b) => b.heat - a.heat || b.access_1h - a.access_1h);
  const tb = $('files').tBodies[0];
  tb.innerHTML = '';
  for (const f of rows.slice(0, 200)) {
    tb.append(el('tr', { 'data-key': f.key },
      el('td', { class: 'key', title: f.key }, f.key), el('td', {}, fmtBytes(f.size)),
      el('td', {}, el('span', { class: 'badge ' + f.tier }, f.tier)), el('td', {}, (f.sites || []).join(', ')),
      el('td', {}, f.heat.toFixed(1)), el('td', {}, f.access_1h), el('td', {}, f.access_24h), el('td', {}, ago(f.last_access_ms)),
      el('td', {},
        el('button', { onclick: () => burst(f.key), title: 'Record 100 accesses now (the seed\'s Burst)' }, 'burst 100'), ' ',
        el('button', { onclick: () => explain(f.key) }, 'explain'), ' ',
        el('button', { onclick: () => insights(f.key), title: 'Per-feature contributions to p_hot' }, 'insights'))));
  }
  $('files-more').textContent = rows.length > 200 ? `showing 200 of ${rows.length}` : `${rows.length} objects`;
}

function renderTasks(tasks) {
  const tb = $('tasks').tBodies[0];
  tb.innerHTML = '';
  for (const t of tasks.slice(0, 40)) {
    tb.append(el('tr', {}, el('td', {}, t.id), el('td', {}, t.kind), el('td', { class: 'key', title: t.key }, t.key),
      el('td', {}, t.kind === 'copy' ? `${t.src} → ${t.dst}` : `✕ ${t.dst}`), el('td', { class: 'st-' + t.status }, t.status),
      el('td', {}, `${t.attempts}/${t.max_attempts}`), el('td', { class: 'muted', title: t.error }, (t.error || t.reason || '').slice(0, 60))));
  }
}

function renderAlerts(alerts) {
  const ul = $('alerts');
  ul.innerHTML = '';
  if (!alerts.length) ul.append(el('li', { class: 'muted' }, 'no active alerts'));
  for (const a of alerts) {
    ul.append(el('li', {}, el('span', { class: 'sev-' + a.severity }, `[${a.severity}] ${a.type}`), ' ', a.message,
      a.count > 1 ? ` (×${a.count})` : '', ' ', el('button', { onclick: () => ack(a.id) }, 'ack')));
  }
}

async function explain(key) {
  try {
    const e = await api('/explain/' + encodeURI(key));
    $('explain-panel').hidden = false;
    $('explain-key').textContent = key;
    const body = $('explain-body');
    body.innerHTML = '';
    body.append(el('p', {}, `Tier `, el('span', { class: 'badge ' + e.tier }, e.tier), ` — ${e.tier_reason}. p_hot ${e.p_hot.toFixed(2)} (${e.predictor}), p_adj ${e.p_adj.toFixed(2)}.`));
    body.append(el('p', {}, `Chosen: ${e.chosen.join(', ')} (objective ${e.objective.toFixed(4)}; SLA ${e.sla_ms} ms, RF ${e.rf}). ` +
      (e.binding_constraints.length ? `Binding: ${e.binding_constraints.join(', ')}. ` : '') +
      (e.runner_up ? `Runner-up ${e.runner_up.chosen.join(', ')}: ${e.runner_up.lost_because}.` : '')));
    const t = el('table', {}, el('thead', {}, el('tr', {}, ...['site', 'score', '$/GB', 'latency penalty', 'score term', 'total', 'allowed'].map((h) => el('th', {}, h)))));
    const tb = el('tbody');
    for (const c of e.cost_breakdown) {
      tb.append(el('tr', {}, el('td', {}, c.site), el('td', {}, (e.scores[c.site] || 0).toFixed(3)), el('td', {}, c.cost_per_gb_month),
        el('td', {}, c.latency_penalty.toFixed(3)), el('td', {}, c.score_term.toFixed(3)), el('td', {}, c.total.toFixed(4)),
        el('td', {}, c.allowed ? 'yes' : c.excluded_because)));
    }
    t.append(tb);
    body.append(t);
    body.append(el('details', {}, el('summary', {}, 'raw'), el('pre', {}, JSON.stringify(e, null, 2))));
  } catch (err) { say('explain failed: ' + err.message); }
}

const SAY_MS = 15000;
let lastSaid = { text: '', at: 0 };
function say(text) {
  lastSaid = { text, at: Date.now() };
  $('status').textContent = text;
}

async function burst(key) {
  try {
    const r = await api('/simulate?key=' + encodeURIComponent(key) + '&events=100', { method: 'POST' });
    say(`burst: ${key} is now ${r.tier} on ${r.chosen.join(', ')}`);
    refresh();
  } catch (err) { say('burst failed: ' + err.message); }
}

async function ack(id) {
  try { await api('/alerts/' + id + '/ack', { method: 'POST' }); refresh(); } catch (err) { say(err.message); }
}

$('clear-alerts').addEventListener('click', async () => {
  try { await api('/alerts/clear', { method: 'POST' }); refresh(); } catch (err) { say(err.message); }
});
$('tick').addEventListener('click', async () => {
  try { const r = await api('/migrator/tick', { method: 'POST' }); say(r.processed ? 'ran one task' : 'no task was runnable'); refresh(); } catch (err) { say(err.message); }
});
$('explain-close').addEventListener('click', () => { $('explain-panel').hidden = true; });
$('filter').addEventListener('input', renderFiles);
$('enforce').addEventListener('change', async (ev) => {
  try { await api('/policy/security', { method: 'POST', body: JSON.stringify({ enforce: ev.target.checked }), headers: { 'Content-Type': 'application/json' } }); }
  catch (err) { say(err.message); ev.target.checked = !ev.target.checked; }
});

// ---- Insights: the popularity model and why it predicts what it does ----------------------

let modelState = null;

function pct(x) { return (100 * x).toFixed(1) + '%'; }

function renderModelCard(m) {
  const card = $('model-card');
  card.innerHTML = '';
  if (!m) { card.append(el('p', { class: 'muted' }, 'model status unavailable')); return; }
  const name = el('span', { id: 'model-predictor', class: m.model_loaded ? 'badge hot' : 'badge cold' }, m.predictor);
  card.append(el('p', {}, 'Predicting with ', name,
    m.path ? ` — file ${m.path} (checked every ${m.reload_interval_s} s)` : ' — no model file configured (ml.model_path)'));
  if (m.last_error) card.append(el('p', { id: 'model-error', class: 'sev-warning' }, 'Refused: ' + m.last_error));
  if (m.model) {
    const v = m.model.validation || {}, h = v.heuristic || {};
    const lab = m.model.label;
    card.append(el('p', {}, `${m.model.kind.replace(/_/g, ' ')} trained ${m.model.trained_at}; hot = ≥ ${lab.min_accesses} accesses in the next ${lab.horizon_s} s.`));
    const t = el('table', { id: 'model-metrics' }, el('thead', {}, el('tr', {}, ...['validation', 'model', 'heuristic'].map((x) => el('th', {}, x)))));
    const tb = el('tbody');
    const row = (label, a, b, f) => tb.append(el('tr', {}, el('td', {}, label), el('td', {}, a === undefined ? '–' : f(a)), el('td', {}, b === undefined ? '–' : f(b))));
    row('AUC', v.auc, h.auc, (x) => x.toFixed(3));
    row(`precision at p ≥ ${m.model.threshold}`, v.precision, h.precision, pct);
    row(`recall at p ≥ ${m.model.threshold}`, v.recall, h.recall, pct);
    row('log loss', v.log_loss, h.log_loss, (x) => x.toFixed(3));
    row('calibration error (ECE)', v.ece, h.ece, (x) => x.toFixed(3));
    tb.append(el('tr', {}, el('td', {}, 'validation rows (hot)'),
      el('td', { colspan: 2 }, v.rows === undefined ? '–' : `${v.rows.toLocaleString()} (${(v.positives ?? 0).toLocaleString()})`)));
    t.append(tb);
    card.append(t);
  }
  drawImportance(m.importance || []);
}

function drawImportance(imp) {
  const svg = $('importance-chart');
  svg.innerHTML = '';
  const rows = [...imp].sort((a, b) => b.share - a.share);
  if (!rows.length) { svgText(svg, 4, 14, 'no model: the heuristic uses access_1h, access_24h and size only'); return; }
  const W = 600, rowH = 15, left = 150;
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(1, r.share * (W - left - 60));
    const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    bar.setAttribute('x', left); bar.setAttribute('y', y); bar.setAttribute('width', w); bar.setAttribute('height', rowH - 4);
    bar.setAttribute('fill', '#5f3dc4');
    bar.setAttribute('class', 'imp-bar');
    svg.append(bar);
    svgText(svg, left - 6, y + rowH - 5, r.feature, 'end');
    svgText(svg, left + w + 4, y + rowH - 5, pct(r.share));
  });
}

async function loadModel() {
  try { modelState = await api('/ml/model'); } catch (err) { modelState = null; }
  renderModelCard(modelState);
}

async function insights(key) {
  try {
    const d = await api('/debug/placement/' + encodeURI(key) + '?run=false');
    const c = d.prediction.contributions;
    $('insights-object').hidden = false;
    $('insights-key').textContent = key;
    const svg = $('shap-chart');
    svg.innerHTML = '';
    if (!c) { $('shap-summary').textContent = 'no contributions for this object'; return; }
    const rows = [...c.features].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r.contribution)));
    const W = 600, rowH = 16, mid = 380, half = 200;
    svg.setAttribute('viewBox', `0 0 ${W} ${rows.length * rowH + 8}`);
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    line.setAttribute('x1', mid); line.setAttribute('x2', mid); line.setAttribute('y1', 0); line.setAttribute('y2', rows.length * rowH + 8);
    line.setAttribute('stroke', '#adb5bd');
    svg.append(line);
    rows.forEach((r, i) => {
      const y = 4 + i * rowH;
      const w = (Math.abs(r.contribution) / max) * (half - 50);
      const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      bar.setAttribute('x', r.contribution >= 0 ? mid : mid - w); bar.setAttribute('y', y);
      bar.setAttribute('width', Math.max(0.5, w)); bar.setAttribute('height', rowH - 4);
      bar.setAttribute('fill', r.contribution >= 0 ? '#d9480f' : '#1971c2');
      bar.setAttribute('class', 'shap-bar');
      bar.setAttribute('data-feature', r.feature);
      bar.setAttribute('data-contribution', r.contribution);
      svg.append(bar);
      svgText(svg, 4, y + rowH - 5, `${r.feature} = ${Number(r.value).toLocaleString(undefined, { maximumFractionDigits: 2 })}`);
      const label = (r.contribution >= 0 ? '+' : '') + r.contribution.toFixed(3);
      if (r.contribution >= 0) svgText(svg, mid + w + 4, y + rowH - 5, label);
      else svgText(svg, mid - w - 4, y + rowH - 5, label, 'end');
    });
    const sum = c.features.reduce((a, r) => a + r.contribution, 0);
    $('shap-summary').textContent = `p_hot ${c.p_hot.toFixed(3)} from ${c.model}: margin ${c.margin.toFixed(3)} = bias ${c.bias.toFixed(3)} + ` +
      `contributions ${sum.toFixed(3)} (log-odds; orange pushes toward hot, blue toward cold).`;
    $('insights-object').scrollIntoView({ block: 'nearest' });
  } catch (err) { $('status').textContent = 'insights failed: ' + err.message; }
}

$('model-reload').addEventListener('click', async () => {
  try {
    const r = await api('/ml/load', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    $('status').textContent = 'model loaded: ' + r.predictor;
  } catch (err) { $('status').textContent = 'model load refused: ' + err.message; }
  loadModel();
});

async function refresh() {
  try {
    const [f, tasks, alerts, eps, metricsText, policy] = await Promise.all([
      api('/files?limit=10000'), api('/tasks?limit=40'), api('/alerts'), api('/endpoints'), api('/metrics'), api('/policy/security')]);
    files = f;
    sites = eps;
    const counts = { hot: 0, warm: 0, cold: 0 };
    for (const x of files) counts[x.tier]++;
    history_.tiers.push(counts);
    if (history_.tiers.length > MAX_POINTS) history_.tiers.shift();
    history_.tick++;
    for (const x of files) {
      if (x.heat <= 0 && !history_.heat.has(x.key)) continue;
      const s = history_.heat.get(x.key) || [];
      s.push({ t: history_.tick, v: x.heat });
      if (s.length > MAX_POINTS) s.shift();
      history_.heat.set(x.key, s);
    }
    $('c-hot').textContent = counts.hot;
    $('c-warm').textContent = counts.warm;
    $('c-cold').textContent = counts.cold;
    $('c-queue').textContent = `${metric(metricsText, 'dim_migration_queue', 'status="queued"') || 0} / ${metric(metricsText, 'dim_migration_queue', 'status="running"') || 0}`;
    $('c-bytes').textContent = fmtBytes(metric(metricsText, 'dim_migration_bytes_total') || 0);
    $('c-events').textContent = (metric(metricsText, 'dim_events_ingested_total') || 0).toLocaleString();
    $('c-alerts').textContent = alerts.length;
    $('enforce').checked = policy.enforce;
    renderSites();
    renderFiles();
    renderTasks(tasks);
    renderAlerts(alerts);
    const m = await api('/ml/model').catch(() => null);
    if (JSON.stringify(m) !== JSON.stringify(modelState)) { modelState = m; renderModelCard(m); }
    drawTierChart();
    drawHeatChart();
    // An operator's action result stays readable for a while instead of being overwritten by
    // the next periodic refresh.
    const updated = 'updated ' + new Date().toLocaleTimeString() + (token ? '' : ' — read-only: open the URL with ?token= to act');
    $('status').textContent = Date.now() - lastSaid.at < SAY_MS ? lastSaid.text + ' · ' + updated : updated;
    document.body.dataset.ready = '1';
  } catch (err) {
    say('error: ' + err.message);
  }
}

refresh();
setInterval(refresh, 2000);
