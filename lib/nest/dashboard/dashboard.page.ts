import { createHash } from 'node:crypto';

/*
 * The dashboard's one page: plain HTML with its CSS and JavaScript inline (no build step, no CDN, nothing fetched
 * but the page's own JSON and event stream), so it works offline and ships inside `dist/lib`. It finds its JSON
 * relative to its own URL (global prefixes and reverse proxies included) and renders with textContent only.
 */

const STYLE = `
:root {
  --bg: #f4f5f7; --panel: #ffffff; --text: #1f2328; --muted: #636c76; --border: #d9dee3; --hover: #f6f8fa; --bar: #e5e8ec;
  --ok: #1a7f37; --ok-bg: #dcf6e3; --info: #0969da; --info-bg: #ddf0ff; --warn: #9a6700; --warn-bg: #fff4c2;
  --bad: #cf222e; --bad-bg: #ffe8e6; --off: #59636e; --off-bg: #e9edf1;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #8d96a0; --border: #30363d; --hover: #1c2128; --bar: #30363d;
    --ok: #3fb950; --ok-bg: rgba(46,160,67,.18); --info: #58a6ff; --info-bg: rgba(56,139,253,.18); --warn: #d29922;
    --warn-bg: rgba(187,128,9,.22); --bad: #f85149; --bad-bg: rgba(248,81,73,.18); --off: #8d96a0; --off-bg: rgba(110,118,129,.22);
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.top { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center; justify-content: space-between;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--border); }
.brand { display: flex; align-items: center; gap: 10px; }
h1 { margin: 0; font-size: 18px; font-weight: 650; letter-spacing: -.01em; }
h2 { margin: 0 0 10px; font-size: 12px; font-weight: 650; letter-spacing: .07em; text-transform: uppercase; color: var(--muted); }
main, footer { max-width: 1560px; margin: 0 auto; padding: 20px 24px 4px; }
footer { padding-bottom: 24px; }
section { margin-bottom: 26px; }
.meta { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border: 1px solid var(--border); border-radius: 999px;
  background: var(--panel); font-size: 12px; white-space: nowrap; }
.chip b { font-weight: 600; }
.chip.ok { color: var(--ok); background: var(--ok-bg); border-color: transparent; }
.chip.bad { color: var(--bad); background: var(--bad-bg); border-color: transparent; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
.conn[data-conn="live"] .dot { background: var(--ok); box-shadow: 0 0 0 3px var(--ok-bg); }
.conn[data-conn="reconnecting"] .dot, .conn[data-conn="stale"] .dot { background: var(--warn); box-shadow: 0 0 0 3px var(--warn-bg); }
.conn[data-conn="offline"] .dot { background: var(--bad); box-shadow: 0 0 0 3px var(--bad-bg); }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; }
.stat { padding: 12px 16px; }
.label { color: var(--muted); font-size: 12px; }
.value { margin-top: 2px; font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; letter-spacing: -.01em; }
.sub { min-height: 1.45em; color: var(--muted); font-size: 12px; }
.providers { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
.provider { padding: 12px 16px; border-left: 4px solid var(--ok); }
.provider.some { border-left-color: var(--warn); }
.provider.none { border-left-color: var(--bad); }
.provider .row { display: flex; align-items: baseline; justify-content: space-between; gap: 8px; margin-bottom: 8px; }
.provider .name { font-weight: 600; }
.provider .count { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
.provider .breakdown { margin-top: 6px; color: var(--muted); font-size: 12px; }
.bar { height: 6px; overflow: hidden; border-radius: 3px; background: var(--bar); }
.bar > span { display: block; width: 0; height: 100%; background: var(--ok); transition: width .3s ease; }
.bar.warn > span { background: var(--warn); }
.bar.bad > span { background: var(--bad); }
.section-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th { padding: 9px 12px; border-bottom: 1px solid var(--border); color: var(--muted); font-size: 12px; font-weight: 600; text-align: left; white-space: nowrap; }
td { padding: 8px 12px; border-bottom: 1px solid var(--border); vertical-align: middle; white-space: nowrap; }
thead th { position: sticky; top: 0; z-index: 1; background: var(--panel); }
.scroll { max-height: 520px; overflow-y: auto; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: var(--hover); }
.num { text-align: right; white-space: nowrap; }
#keys td:first-child { box-shadow: inset 4px 0 0 var(--stripe, transparent); }
#keys tr[data-state="ACTIVE"] { --stripe: var(--ok); }
#keys tr[data-state="ACTIVE"][data-available="false"] { --stripe: var(--warn); }
#keys tr[data-state="PROBATION"] { --stripe: var(--info); }
#keys tr[data-state="COOLDOWN"] { --stripe: var(--warn); }
#keys tr[data-state="QUARANTINE"] { --stripe: var(--bad); }
#keys tr[data-state="DISABLED"] { --stripe: var(--off); }
#keys tr[data-state="DISABLED"] td:not(:first-child):not(.actions-col) { opacity: .65; }
.pill { display: inline-block; padding: 2px 9px; border-radius: 999px; font-size: 11.5px; font-weight: 650; letter-spacing: .03em; white-space: nowrap; }
.st-ACTIVE, .o-ok { color: var(--ok); background: var(--ok-bg); }
.st-PROBATION { color: var(--info); background: var(--info-bg); }
.st-COOLDOWN, .o-warn { color: var(--warn); background: var(--warn-bg); }
.st-QUARANTINE, .o-bad { color: var(--bad); background: var(--bad-bg); }
.st-DISABLED, .o-off { color: var(--off); background: var(--off-bg); }
.key-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; font-weight: 600; }
.models, .avail { color: var(--muted); font-size: 12px; }
.models { max-width: 240px; overflow: hidden; text-overflow: ellipsis; }
.via { margin-left: 6px; color: var(--muted); font-size: 12px; }
.avail:empty { display: none; }
.left { font-weight: 600; }
.left.ending { color: var(--muted); font-weight: 400; }
.rate { display: flex; align-items: center; gap: 8px; min-width: 150px; }
.rate .bar { flex: 0 0 64px; }
td[data-col="state"] { min-width: 130px; max-width: 260px; white-space: normal; }
.avail { margin-top: 3px; line-height: 1.35; }
.avail.problem { color: var(--bad); }
h2 .small { margin-left: 6px; font-weight: 400; letter-spacing: normal; text-transform: none; }
.actions-col { display: none; }
body.actions-on .actions-col { display: table-cell; }
.actions { display: flex; gap: 6px; }
button { padding: 3px 10px; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); color: var(--text); font: inherit; font-size: 12px; cursor: pointer; }
button:hover { background: var(--hover); }
button.danger { color: var(--bad); }
button:disabled { opacity: .5; cursor: progress; }
button[hidden] { display: none; }
.msg { margin: 10px 0 0; padding: 8px 12px; border-radius: 8px; background: var(--info-bg); color: var(--info); font-size: 13px; }
.msg.error { background: var(--bad-bg); color: var(--bad); }
.empty { margin: 0; padding: 14px 16px; color: var(--muted); }
.muted { color: var(--muted); }
.small { font-size: 12px; }
`;

const SCRIPT = `
'use strict';
(function () {
  var base = location.pathname.replace(/\\/+$/, '');
  var $ = function (id) { return document.getElementById(id); };
  var STATES = ['ACTIVE', 'PROBATION', 'COOLDOWN', 'QUARANTINE', 'DISABLED'];
  var STATE_WORDS = { PROBATION: 'on probation', COOLDOWN: 'cooling down', QUARANTINE: 'quarantined', DISABLED: 'disabled' };
  var OUTCOME = { success: 'ok', rate_limit: 'warn', auth: 'bad', transient: 'bad', local_error: 'bad', bad_request: 'off', cancelled: 'off' };
  var MAX_EVENTS = 100;
  var offset = 0;
  var lastFrameAt = 0;
  var lastSeq = 0;
  var connState = 'connecting';
  var rows = new Map();

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function set(node, text) { text = String(text); if (node.textContent !== text) node.textContent = text; }
  function int(n) { return Math.round(n).toLocaleString('en-US'); }
  function compact(n) {
    if (n < 1000) return String(n);
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e4 ? 1 : 0) + 'k';
    return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + 'M';
  }
  function money(usd) {
    if (usd === 0) return '$0';
    if (usd >= 100) return '$' + int(usd);
    var digits = Math.min(8, Math.max(2, 1 - Math.floor(Math.log10(usd))));
    return '$' + usd.toFixed(digits);
  }
  function cost(t) {
    if (t.unpricedSuccesses > 0 && t.costUsd === 0) return 'unknown';
    return money(t.costUsd) + (t.unpricedSuccesses > 0 ? ' + ?' : '');
  }
  function costTitle(t) {
    return t.unpricedSuccesses > 0 ? t.unpricedSuccesses + ' answer(s) of models without a price are not counted' : 'estimated from the price table';
  }
  function pct(r) { return r === null || r === undefined ? '\\u2014' : (r * 100).toFixed(r === 1 || r === 0 ? 0 : 1) + '%'; }
  function duration(ms) {
    var s = Math.ceil(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  function clock(iso) { return new Date(iso).toLocaleTimeString([], { hour12: false }); }
  function failures(t) {
    var parts = [];
    for (var k in t.failures) if (t.failures[k] > 0) parts.push(t.failures[k] + ' ' + k.replace('_', ' '));
    return parts.join(' \\u00b7 ');
  }
  function bar(fraction, cls) {
    var b = el('div', 'bar' + (cls ? ' ' + cls : ''));
    var fill = el('span');
    fill.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%';
    b.appendChild(fill);
    return b;
  }
  function setBar(b, fraction) {
    b.firstChild.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%';
    b.className = 'bar' + (fraction >= 0.9 ? '' : fraction >= 0.5 ? ' warn' : ' bad');
  }

  function setConn(state) {
    connState = state;
    var c = $('conn');
    c.dataset.conn = state;
    set($('conn-text'), state);
  }

  // ── header and summary ──
  function renderStatus(st, totals) {
    var pool = $('pool');
    pool.hidden = st.pool === null;
    if (st.pool !== null) set(pool, 'pool ' + st.pool);
    set($('strategy'), 'strategy ' + st.strategy);
    var store = $('store');
    set(store, st.store.backend === 'memory' ? 'store memory' : 'store redis \\u00b7 ' + st.store.status);
    store.className = 'chip' + (st.store.backend === 'redis' ? (st.store.status === 'up' ? ' ok' : ' bad') : '');
    store.title = st.store.detail || '';
    document.body.classList.toggle('actions-on', st.actions);

    var k = st.keys;
    set($('s-available'), k.available + ' / ' + k.total);
    var benched = [];
    for (var i = 1; i < STATES.length; i++) if (k.byState[STATES[i]] > 0) benched.push(k.byState[STATES[i]] + ' ' + STATE_WORDS[STATES[i]]);
    set($('s-states'), benched.length ? benched.join(' \\u00b7 ') : 'all keys active');
    set($('s-attempts'), int(totals.attempts));
    set($('s-since'), 'since ' + clock(st.usageSince));
    set($('s-success'), totals.attempts ? pct(totals.successes / totals.attempts) : '\\u2014');
    set($('s-failures'), failures(totals) || 'no failures');
    set($('s-tokens'), compact(totals.inputTokens + totals.outputTokens));
    set($('s-tokens-sub'), compact(totals.inputTokens) + ' in \\u00b7 ' + compact(totals.outputTokens) + ' out');
    set($('s-cost'), cost(totals));
    $('s-cost').title = costTitle(totals);
    document.title = k.available + '/' + k.total + ' keys available \\u00b7 LLM key pool';
  }

  function renderProviders(list, keys) {
    var box = $('providers');
    box.textContent = '';
    list.forEach(function (p) {
      var frac = p.keys ? p.available / p.keys : 0;
      var card = el('div', 'card provider' + (p.available === 0 ? ' none' : p.available < p.keys ? ' some' : ''));
      card.dataset.provider = p.provider;
      var row = el('div', 'row');
      row.appendChild(el('span', 'name', p.provider));
      row.appendChild(el('span', 'count', p.available + ' / ' + p.keys));
      card.appendChild(row);
      card.appendChild(bar(frac, p.available === 0 ? 'bad' : p.available < p.keys ? 'warn' : ''));
      var parts = [p.available + ' available'];
      var counts = {};
      var held = 0;
      var limited = 0;
      keys.forEach(function (k) {
        if (k.provider !== p.provider) return;
        if (k.reason) held++;
        else if (k.state !== 'ACTIVE') counts[k.state] = (counts[k.state] || 0) + 1;
        else if (!k.available) limited++;
      });
      for (var i = 1; i < STATES.length; i++) if (counts[STATES[i]]) parts.push(counts[STATES[i]] + ' ' + STATE_WORDS[STATES[i]]);
      if (held) parts.push(held + ' held back');
      if (limited) parts.push(limited + ' at its limit');
      card.appendChild(el('div', 'breakdown', parts.join(' \\u00b7 ')));
      box.appendChild(card);
    });
    $('providers-empty').hidden = list.length > 0;
  }

  // ── keys ──
  function button(label, action, cls) {
    var b = el('button', cls, label);
    b.type = 'button';
    b.dataset.action = action;
    return b;
  }
  function makeRow(k) {
    var tr = el('tr');
    tr.dataset.keyId = k.keyId;
    var c = {};
    function cell(name, cls) { var td = el('td', cls); td.dataset.col = name; tr.appendChild(td); c[name] = td; return td; }
    var key = cell('key');
    key.appendChild(el('div', 'key-id', k.keyId));
    key.appendChild(c.models = el('div', 'models'));
    cell('provider');
    var st = cell('state');
    st.appendChild(c.pill = el('span', 'pill'));
    st.appendChild(c.avail = el('div', 'avail'));
    c.left = cell('left', 'num left');
    cell('failures', 'num');
    cell('leases', 'num');
    var wrap = el('div', 'rate');
    wrap.appendChild(c.rateBar = bar(0));
    wrap.appendChild(c.rateText = el('span'));
    cell('recent').appendChild(wrap);
    cell('attempts', 'num');
    cell('tokens', 'num');
    cell('cost', 'num');
    var box = el('div', 'actions');
    box.appendChild(c.disable = button('Disable', 'disable', 'danger'));
    box.appendChild(c.enable = button('Enable', 'enable'));
    box.appendChild(c.reset = button('Clear', 'reset'));
    cell('actions', 'actions-col').appendChild(box);
    var r = { tr: tr, c: c, key: k, untilMs: null };
    box.addEventListener('click', function (ev) {
      var b = ev.target.closest('button');
      if (b) act(b.dataset.action, r.key.keyId, b);
    });
    return r;
  }
  function updateRow(r, k) {
    var c = r.c;
    r.key = k;
    r.tr.dataset.state = k.state;
    r.tr.dataset.available = String(k.available);
    set(c.models, k.models.length ? k.models.join(', ') : 'any model');
    c.models.title = c.models.textContent;
    set(c.provider, k.provider);
    set(c.pill, k.state);
    c.pill.className = 'pill st-' + k.state;
    var healthy = k.state === 'ACTIVE' || k.state === 'PROBATION';
    set(c.avail, k.reason ? 'held back here: ' + k.reason : healthy && !k.available ? 'at its limit' : '');
    c.avail.className = 'avail' + (k.reason ? ' problem' : '');
    r.untilMs = k.until ? Date.parse(k.until) : null;
    set(c.failures, int(k.consecutiveFailures));
    set(c.leases, int(k.leasesInUse));
    var rate = k.recent.successRate;
    setBar(c.rateBar, rate === null ? 0 : rate);
    c.rateBar.hidden = rate === null;
    set(c.rateText, rate === null ? '\\u2014' : pct(rate) + ' of ' + k.recent.attempts);
    c.recent.title = k.recent.lastOutcome ? 'last: ' + k.recent.lastOutcome + ' at ' + clock(k.recent.lastAt) : 'no recent attempt';
    set(c.attempts, int(k.usage.attempts));
    c.attempts.title = failures(k.usage) || 'no failures';
    set(c.tokens, compact(k.usage.inputTokens) + ' / ' + compact(k.usage.outputTokens));
    set(c.cost, cost(k.usage));
    c.cost.title = costTitle(k.usage);
    c.disable.hidden = k.state === 'DISABLED';
    c.enable.hidden = k.state !== 'DISABLED';
    c.reset.hidden = !(k.state === 'COOLDOWN' || k.state === 'QUARANTINE' || k.state === 'PROBATION' || (k.state === 'ACTIVE' && k.consecutiveFailures > 0));
    set(c.reset, k.state === 'COOLDOWN' || k.state === 'QUARANTINE' ? 'Clear' : 'Reset');
    c.reset.title = k.state === 'COOLDOWN' ? 'End the cooldown now (ACTIVE)' : k.state === 'QUARANTINE' ? 'End the quarantine now (ACTIVE)' : 'Back to ACTIVE, failure count cleared';
    c.disable.title = 'Take the key out of rotation (every worker) until enabled';
    c.enable.title = 'Put the key back into rotation';
  }
  function renderKeys(keys) {
    var body = $('keys').tBodies[0];
    var seen = new Set();
    keys.forEach(function (k) {
      seen.add(k.keyId);
      var r = rows.get(k.keyId);
      if (!r) { r = makeRow(k); rows.set(k.keyId, r); }
      updateRow(r, k);
      body.appendChild(r.tr);
    });
    rows.forEach(function (r, id) { if (!seen.has(id)) { r.tr.remove(); rows.delete(id); } });
    $('keys-empty').hidden = keys.length > 0;
  }

  // ── events ──
  function renderEvents(list, info) {
    var body = $('events').tBodies[0];
    if (info.total < lastSeq) { body.textContent = ''; lastSeq = 0; }
    list.forEach(function (e) {
      if (e.seq <= lastSeq) return;
      lastSeq = e.seq;
      var tr = el('tr');
      tr.dataset.seq = String(e.seq);
      tr.dataset.keyId = e.keyId;
      tr.dataset.outcome = e.outcome;
      tr.appendChild(el('td', 'muted', clock(e.at)));
      tr.appendChild(el('td', 'key-id', e.keyId));
      var model = el('td', '', e.model);
      model.appendChild(el('span', 'via', e.provider));
      tr.appendChild(model);
      var o = el('td');
      o.appendChild(el('span', 'pill o-' + (OUTCOME[e.outcome] || 'off'), e.outcome.replace('_', ' ')));
      if (e.errorClass) o.title = e.errorClass;
      tr.appendChild(o);
      tr.appendChild(el('td', 'num', e.status === undefined ? '' : String(e.status)));
      tr.appendChild(el('td', 'num', int(e.latencyMs) + ' ms'));
      tr.appendChild(el('td', 'num', e.inputTokens === undefined ? '' : compact(e.inputTokens) + ' / ' + compact(e.outputTokens || 0)));
      tr.appendChild(el('td', 'num', e.costUsd === undefined ? '' : e.costUsd === 'unknown' ? 'unknown' : money(e.costUsd)));
      tr.appendChild(el('td', 'muted small', e.source + (e.attempt > 1 ? ' \\u00b7 attempt ' + e.attempt : '') + (e.fallback ? ' \\u00b7 fallback' : '')));
      body.insertBefore(tr, body.firstChild);
    });
    while (body.rows.length > MAX_EVENTS) body.deleteRow(body.rows.length - 1);
    $('events-empty').hidden = body.rows.length > 0;
    set($('events-info'), info.capacity ? 'last ' + Math.min(info.size, MAX_EVENTS) + ' of ' + int(info.total) + ' in this process' : 'recent events are off (recentEvents: 0)');
  }

  function render(s) {
    offset = s.status.now - Date.now();
    lastFrameAt = Date.now();
    renderStatus(s.status, s.totals);
    renderProviders(s.status.providers, s.keys);
    renderKeys(s.keys);
    renderEvents(s.events, s.status.recentEvents);
    tick();
  }

  // ── countdowns, staleness ──
  function tick() {
    var now = Date.now() + offset;
    rows.forEach(function (r) {
      if (r.untilMs === null) { set(r.c.left, '\\u2014'); r.c.left.className = 'num left ending'; return; }
      var left = r.untilMs - now;
      set(r.c.left, left > 0 ? duration(left) : 'ending');
      r.c.left.className = 'num left' + (left > 0 ? '' : ' ending');
    });
    if (lastFrameAt) {
      var ago = Math.round((Date.now() - lastFrameAt) / 1000);
      set($('updated'), ago < 2 ? 'updated just now' : 'updated ' + ago + 's ago');
      if (connState === 'live' && ago > 30) setConn('stale');
    }
  }
  setInterval(tick, 250);

  // ── operator actions (only when the server has them on) ──
  function say(text, error) {
    var m = $('action-msg');
    m.hidden = false;
    m.className = 'msg' + (error ? ' error' : '');
    set(m, text);
  }
  function act(action, keyId, b) {
    b.disabled = true;
    fetch(base + '/keys/' + encodeURIComponent(keyId) + '/' + action, { method: 'POST', headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) throw new Error(body && body.message ? String(body.message) : res.status + ' ' + res.statusText);
          if (body.key && rows.has(keyId)) updateRow(rows.get(keyId), body.key);
          say(action + ': ' + keyId + ' done', false);
        });
      })
      .catch(function (e) { say('Could not ' + action + ' ' + keyId + ': ' + e.message, true); })
      .then(function () { b.disabled = false; });
  }

  // ── live stream ──
  function connect() {
    var es = new EventSource(base + '/stream');
    es.addEventListener('state', function (m) { setConn('live'); render(JSON.parse(m.data)); });
    es.onopen = function () { setConn('live'); };
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED) { setConn('offline'); setTimeout(connect, 5000); }
      else setConn('reconnecting');
    };
  }
  connect();
})();
`;

const BODY = `
<header class="top">
  <div class="brand">
    <h1>LLM key pool</h1>
    <span class="chip" id="pool" hidden></span>
  </div>
  <div class="meta">
    <span class="chip" id="strategy">strategy</span>
    <span class="chip" id="store">store</span>
    <span class="chip conn" id="conn" data-conn="connecting"><i class="dot"></i><span id="conn-text">connecting</span></span>
    <span class="muted small" id="updated"></span>
  </div>
</header>
<main>
  <section class="cards" aria-label="Summary">
    <div class="card stat"><div class="label">Keys available</div><div class="value" id="s-available">&mdash;</div><div class="sub" id="s-states"></div></div>
    <div class="card stat"><div class="label">Attempts</div><div class="value" id="s-attempts">&mdash;</div><div class="sub" id="s-since"></div></div>
    <div class="card stat"><div class="label">Success rate</div><div class="value" id="s-success">&mdash;</div><div class="sub" id="s-failures"></div></div>
    <div class="card stat"><div class="label">Tokens</div><div class="value" id="s-tokens">&mdash;</div><div class="sub" id="s-tokens-sub"></div></div>
    <div class="card stat"><div class="label">Estimated cost</div><div class="value" id="s-cost">&mdash;</div><div class="sub">this process, since start</div></div>
  </section>
  <section aria-label="Providers">
    <h2>Providers</h2>
    <div class="providers" id="providers"></div>
    <p class="empty card" id="providers-empty" hidden>No provider.</p>
  </section>
  <section aria-label="Keys">
    <div class="section-head">
      <h2>Keys</h2>
      <div class="legend"><span class="pill st-ACTIVE">ACTIVE</span><span class="pill st-PROBATION">PROBATION</span><span class="pill st-COOLDOWN">COOLDOWN</span><span class="pill st-QUARANTINE">QUARANTINE</span><span class="pill st-DISABLED">DISABLED</span></div>
    </div>
    <div class="card table-wrap">
      <table id="keys">
        <thead><tr><th>Key</th><th>Provider</th><th>State</th><th class="num">Time left</th><th class="num">Failures</th><th class="num">Leases</th><th>Recent success</th><th class="num">Attempts</th><th class="num">Tokens in / out</th><th class="num">Cost</th><th class="actions-col">Actions</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="keys-empty" hidden>No key in this pool.</p>
    </div>
    <p class="msg" id="action-msg" role="status" hidden></p>
  </section>
  <section aria-label="Recent events">
    <h2>Recent events <span class="muted small" id="events-info"></span></h2>
    <div class="card table-wrap scroll">
      <table id="events">
        <thead><tr><th>Time</th><th>Key</th><th>Model</th><th>Outcome</th><th class="num">Status</th><th class="num">Latency</th><th class="num">Tokens in / out</th><th class="num">Cost</th><th>Call</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" id="events-empty">No event yet.</p>
    </div>
  </section>
</main>
<footer class="muted small">nestjs-llm-rotate dashboard &middot; key ids only, never a secret &middot; tokens and cost count this process since start; key states are the pool's (shared through Redis)</footer>
`;

/** The page (the same bytes for every request: what differs comes over the event stream). */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>LLM key pool</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own inline script and style (by hash) and nothing else; requests only to
 * its own origin (the JSON, the event stream, the actions); not framable.
 */
export const DASHBOARD_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
