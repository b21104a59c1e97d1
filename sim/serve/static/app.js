/* The what-if page: builds a request from the controls, posts it, shows the answer. No framework. */
'use strict';

var T = {
  zh: {
    title: '计划延误推演（What-if）', slips: '延误事项', add_slip: '+ 增加延误',
    slips_note: '选择事项，输入延误（天、周、月、年）或延误至某一日期。延误按增加工作量计算，沿依赖关系传递。',
    scenario: '情景', no_scenario: '（无：基准）', risks_shocks: '风险与冲击开关',
    switch_note: '“关闭”：概率设为 0；“必然发生”：概率设为 1；“按计划”：不变。',
    as_planned: '按计划', off: '关闭', certain: '必然发生',
    run: '计算', reset: '重置', running: '计算中…', done: '完成',
    cost: '项目总费用（亿元，P50）', headline: '总体结论', paired_note: '差值为同一随机数下逐次配对的差（共同随机数），± 为标准误。',
    moves: '连带延误的事项', moves_note: '平均完成时间推迟（配对重复的均值 ± 标准误）、推迟概率、零方差计划中的推迟，以及从延误事项出发的依赖路径。',
    targets: '各目标达成概率', show_changed: '只看有变化的', show_headline: '总体目标', show_all: '全部',
    filter_ph: '筛选编号或名称',
    save: '保存为情景文件', save_note: '保存为 scenarios/ 目录下的 YAML 情景文件，可用 sim run 或 sim batch 运行。',
    download: '下载 YAML', save_dir: '保存到 scenarios/', saved: '已保存：',
    by: '延误', to: '延误至', days: '天', weeks: '周', months: '月', years: '年', remove: '删除',
    item_ph: '事项编号，如 T14',
    c_id: '编号', c_name: '名称', c_section: '类别', c_deadline: '期限', c_base: '基准 P', c_whatif: '推演 P',
    c_diff: '差值', c_se: '标准误', c_rag: '评级', c_path: '依赖路径', c_shift: '平均推迟（天）',
    c_plater: '推迟概率', c_p50: 'P50 完成（基准 → 推演）', c_flat: '零方差推迟（天）', c_onpath: '在路径上',
    expected: '预计达成目标数', of: '共', targets_due: '个目标', p_all: '全部总体目标同时达成的概率',
    base_label: '基准', runs: '次重复', seed: '随机种子', as_of: '基准日', seconds: '秒', cached: '（缓存）',
    no_moves: '没有事项移动。', no_rows: '没有符合条件的目标。', error: '输入有误', green: '绿', amber: '黄', red: '红',
    yes: '是', slipped: '（延误事项）', unreachable: '按计划无法达成', pp: '个百分点', mean_paren: '（均值）'
  },
  en: {
    title: 'What-if: slips and risks', slips: 'Slipped items', add_slip: '+ Add a slip',
    slips_note: 'Pick an item and a slip (days, weeks, months, years) or a date to slip to. A slip is added work and moves along the dependency links.',
    scenario: 'Scenario', no_scenario: '(none: the base)', risks_shocks: 'Risks and shocks on/off',
    switch_note: '"off": probability 0; "certain": probability 1; "as planned": unchanged.',
    as_planned: 'as planned', off: 'off', certain: 'certain',
    run: 'Evaluate', reset: 'Reset', running: 'running…', done: 'done',
    cost: 'Programme cost (CNY 100 m, P50)', headline: 'Headline', paired_note: 'Differences are paired replication by replication on common random numbers; ± is the standard error.',
    moves: 'What else slips', moves_note: 'Mean finish shift over the paired replications (± SE), P(later), the shift in the zero-variance plan, and the dependency path from a slipped item.',
    targets: 'P(met) of every target', show_changed: 'changed only', show_headline: 'headline', show_all: 'all',
    filter_ph: 'filter id or name',
    save: 'Save as a scenario', save_note: 'A YAML scenario for the scenarios/ directory, to run with sim run or sim batch.',
    download: 'Download YAML', save_dir: 'Save to scenarios/', saved: 'saved: ',
    by: 'by', to: 'to date', days: 'days', weeks: 'weeks', months: 'months', years: 'years', remove: 'remove',
    item_ph: 'item id, e.g. T14',
    c_id: 'id', c_name: 'name', c_section: 'section', c_deadline: 'deadline', c_base: 'P base', c_whatif: 'P what-if',
    c_diff: 'difference', c_se: 'SE', c_rag: 'RAG', c_path: 'dependency path', c_shift: 'mean shift (days)',
    c_plater: 'P(later)', c_p50: 'P50 finish (base → what-if)', c_flat: 'zero-variance shift (days)', c_onpath: 'on path',
    expected: 'Expected targets met', of: 'of', targets_due: 'targets', p_all: 'P(all headline targets met)',
    base_label: 'base', runs: 'replications', seed: 'seed', as_of: 'as of', seconds: 's', cached: ' (cached)',
    no_moves: 'No item moves.', no_rows: 'No target matches.', error: 'Input problem', green: 'green', amber: 'amber', red: 'red',
    yes: 'yes', slipped: ' (slipped)', unreachable: 'unreachable as planned', pp: ' pp', mean_paren: ' (mean)'
  }
};

var state = { lang: localStorage.getItem('whatif-lang') || 'zh', meta: null, result: null, busy: false };

function t(key) { return (T[state.lang] || T.en)[key] || key; }
function $(sel) { return document.querySelector(sel); }
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) { e.textContent = text; }
  return e;
}
function nameOf(x) { return state.lang === 'zh' ? (x.name_zh || x.name_en) : (x.name_en || x.name_zh); }
function pct(p) { return p === null || p === undefined ? '—' : (100 * p).toFixed(1) + '%'; }
function pp(d) {
  if (d === null || d === undefined) { return '—'; }
  var v = 100 * d;
  if (Math.abs(v) < 0.05) { return '0.0' + t('pp'); }
  return (v > 0 ? '+' : '−') + Math.abs(v).toFixed(1) + t('pp');
}
function signed(x, digits) {
  if (x === null || x === undefined) { return '—'; }
  if (Math.abs(x) < Math.pow(10, -digits) / 2) { return (0).toFixed(digits); }
  return (x > 0 ? '+' : '−') + Math.abs(x).toFixed(digits);
}

/* ---- controls ------------------------------------------------------------------------------ */
function addSlip(init) {
  init = init || {};
  var row = el('div', { 'class': 'slip' });
  var item = el('input', { 'class': 'item', list: 'item-list', autocomplete: 'off', 'aria-label': 'item' });
  item.value = init.item || '';
  var mode = el('select', { 'class': 'mode', 'aria-label': 'mode' });
  ['by', 'to'].forEach(function (m) { var o = el('option', { value: m }, t(m)); mode.appendChild(o); });
  var amount = el('input', { 'class': 'amount', type: 'number', step: 'any', min: '0', 'aria-label': 'amount' });
  amount.value = init.by !== undefined ? init.by : '';
  var unit = el('select', { 'class': 'unit', 'aria-label': 'unit' });
  ['days', 'weeks', 'months', 'years'].forEach(function (u) { unit.appendChild(el('option', { value: u }, t(u))); });
  unit.value = init.unit || 'months';
  var when = el('input', { 'class': 'when', type: 'date', 'aria-label': 'date', hidden: '' });
  var remove = el('button', { type: 'button', 'class': 'remove' }, t('remove'));
  var name = el('div', { 'class': 'name' });
  function sync() {
    var to = mode.value === 'to';
    amount.hidden = to; unit.hidden = to; when.hidden = !to;
    var it = (state.meta && state.meta.itemsById[item.value.trim()]) || null;
    name.textContent = it ? nameOf(it) + ' · ' + it.plan_finish : '';
  }
  mode.addEventListener('change', sync);
  item.addEventListener('input', sync);
  remove.addEventListener('click', function () { row.remove(); });
  [item, mode, amount, unit, when, remove, name].forEach(function (x) { row.appendChild(x); });
  $('#slips').appendChild(row);
  sync();
  return row;
}

function readRequest() {
  var slips = [];
  document.querySelectorAll('#slips .slip').forEach(function (row) {
    var item = row.querySelector('.item').value.trim();
    var mode = row.querySelector('.mode').value;
    var amount = row.querySelector('.amount').value;
    if (!item && amount === '') { return; }  // an empty row is no slip
    if (mode === 'to') {
      slips.push({ item: item, to: row.querySelector('.when').value });
    } else {
      var by = amount === '' ? null : Number(amount);
      slips.push({ item: item, by: by, unit: row.querySelector('.unit').value });
    }
  });
  var req = { slips: slips, scenario: $('#scenario').value || null, risks: {}, shocks: {} };
  document.querySelectorAll('#risks select').forEach(function (s) { if (s.value) { req.risks[s.name] = s.value; } });
  document.querySelectorAll('#shocks select').forEach(function (s) { if (s.value) { req.shocks[s.name] = s.value; } });
  return req;
}

function switchRow(x) {
  var label = el('label');
  var sel = el('select', { name: x.id, 'aria-label': x.id });
  [['', 'as_planned'], ['off', 'off'], ['certain', 'certain']].forEach(function (o) {
    sel.appendChild(el('option', { value: o[0] }, t(o[1])));
  });
  label.appendChild(sel);
  label.appendChild(el('span', {}, x.id + ' · ' + nameOf(x) + ' (p = ' + x.probability + ')'));
  return label;
}

/* ---- talking to the server ------------------------------------------------------------------ */
function post(url, body) {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (r) {
      var type = r.headers.get('Content-Type') || '';
      var read = type.indexOf('json') >= 0 ? r.json() : r.text();
      return read.then(function (data) {
        if (!r.ok) { throw data && data.error ? data : { error: 'HTTP ' + r.status, issues: [] }; }
        return data;
      });
    });
}

function showError(err) {
  var box = $('#error');
  if (!err) { box.hidden = true; box.textContent = ''; return; }
  var zh = state.lang === 'zh';
  var lines = [t('error') + ': ' + ((zh && err.error_zh) || err.error || String(err))];
  (err.issues || []).slice(1).forEach(function (i) {
    lines.push((i.field ? i.field + ': ' : '') + ((zh && i.message_zh) || i.message));
  });
  box.textContent = lines.join('\n');
  box.hidden = false;
}

/* the status line is kept as a function of the language, so the language toggle re-says it */
function setStatus(say, st) {
  state.status = { say: say, st: st };
  var s = $('#status'); s.textContent = say(); s.setAttribute('data-state', st);
}

function run() {
  if (state.busy) { return; }
  state.busy = true;
  setStatus(function () { return t('running'); }, 'running');
  var t0 = performance.now();
  post('/api/whatif', readRequest()).then(function (res) {
    showError(null);
    state.result = res;
    render();
    var ms = ((performance.now() - t0) / 1000).toFixed(2);
    setStatus(function () { return t('done') + ' · ' + ms + ' ' + t('seconds') + (res.cached ? t('cached') : ''); }, 'done');
  }).catch(function (err) {
    showError(err);
    setStatus(function () { return t('error'); }, 'error');
  }).then(function () { state.busy = false; });
}

function scenarioBody() { return { whatif: readRequest(), name: $('#save-name').value.trim() || 'what-if' }; }

function download() {
  post('/api/scenario', scenarioBody()).then(function (text) {
    showError(null);
    $('#yaml').textContent = text; $('#yaml').hidden = false;
    var a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/x-yaml' })),
                      download: scenarioBody().name + '.yaml' });
    document.body.appendChild(a); a.click(); a.remove();
  }).catch(showError);
}

function saveDir() {
  post('/api/scenario/save', scenarioBody()).then(function (res) {
    showError(null);
    $('#save-status').textContent = t('saved') + res.saved;
    var o = el('option', { value: res.name }, res.name);
    $('#scenario').appendChild(o);
  }).catch(function (err) { showError(err); $('#save-status').textContent = ''; });
}

/* ---- rendering ----------------------------------------------------------------------------- */
function card(title, big, sub, diff) {
  var c = el('div', { 'class': 'card' });
  c.appendChild(el('h3', {}, title));
  var b = el('div', { 'class': 'big' }, big);
  c.appendChild(b);
  var s = el('div', { 'class': 'sub' + (diff > 1e-12 ? ' up' : diff < -1e-12 ? ' down' : '') }, sub);
  c.appendChild(s);
  return c;
}

function renderCards(h, cost) {
  var box = $('#cards'); box.textContent = '';
  (h.end_dates || []).forEach(function (e) {
    var lbl = state.lang === 'zh' ? e.zh : e.en;
    var big = e.whatif.mean.toFixed(1) + ' / ' + e.targets;
    var sub = t('base_label') + ' ' + e.base.mean.toFixed(1) + ' · Δ ' + signed(e.diff, 2) + ' ± ' + e.se.toFixed(2) +
      ' · P10–P90 ' + e.whatif.p10 + '–' + e.whatif.p90;
    var c = card(t('expected') + ' · ' + lbl, big, sub, e.diff);
    c.setAttribute('data-end', e.date);
    box.appendChild(c);
  });
  if (h.p_all_headline) {
    var a = h.p_all_headline;
    var c = card(t('p_all') + ' (' + a.targets + ')', pct(a.whatif),
                 t('base_label') + ' ' + pct(a.base) + ' · Δ ' + pp(a.diff) + ' ± ' + pp(a.se).replace('+', ''), a.diff);
    c.setAttribute('data-end', 'all-headline');
    box.appendChild(c);
  }
  if (cost) {  // issue 15: the invested items' outturn cost, paired against the base
    var k = card(t('cost'), cost.p50.toFixed(1), t('base_label') + ' ' + cost.base_mean.toFixed(1) + t('mean_paren') + ' · Δ ' +
                 signed(cost.difference, 2) + ' ± ' + cost.difference_se.toFixed(2) + ' · P90 ' + cost.p90.toFixed(1),
                 cost.difference);
    k.setAttribute('data-end', 'cost');
    box.appendChild(k);
  }
}

function head(table, keys) {
  var tr = el('tr');
  keys.forEach(function (k) { tr.appendChild(el('th', {}, t(k))); });
  table.tHead.textContent = ''; table.tHead.appendChild(tr);
}

function cell(tr, text, cls) { var td = el('td', cls ? { 'class': cls } : {}, text); tr.appendChild(td); return td; }

function renderMoves(rows) {
  var table = $('#moves');
  head(table, ['c_id', 'c_name', 'c_shift', 'c_plater', 'c_p50', 'c_flat', 'c_path']);
  var body = table.tBodies[0]; body.textContent = '';
  if (!rows.length) { var tr = el('tr'); var td = cell(tr, t('no_moves')); td.colSpan = 7; body.appendChild(tr); return; }
  rows.forEach(function (r) {
    var tr = el('tr', { 'data-id': r.id, 'data-shift': r.mean_shift_days });
    cell(tr, r.id);
    cell(tr, nameOf(r) + (r.slipped ? t('slipped') : ''), 'name');
    cell(tr, signed(r.mean_shift_days, 1) + ' ± ' + r.se_days.toFixed(1), 'num');
    cell(tr, pct(r.p_later), 'num');
    cell(tr, r.p50_base + ' → ' + r.p50_whatif, 'num');
    cell(tr, signed(r.flat_shift_days, 1), 'num');
    cell(tr, r.path, 'path');
    body.appendChild(tr);
  });
}

function renderTargets() {
  var res = state.result; if (!res) { return; }
  var table = $('#targets');
  head(table, ['c_id', 'c_name', 'c_whatif', 'c_diff', 'c_se', 'c_base', 'c_rag', 'c_deadline', 'c_section', 'c_onpath']);
  var show = document.querySelector('input[name=show]:checked').value;
  var q = $('#filter').value.trim().toLowerCase();
  var rows = res.targets.slice().sort(function (a, b) {
    return Math.abs(b.diff || 0) - Math.abs(a.diff || 0) || (a.p - b.p);
  });
  var body = table.tBodies[0]; body.textContent = '';
  var shown = 0;
  rows.forEach(function (r) {
    var changed = Math.abs(r.diff || 0) > 0;
    var visible = (show === 'all' || (show === 'changed' && changed) || (show === 'headline' && r.headline)) &&
      (!q || r.id.toLowerCase().indexOf(q) >= 0 || nameOf(r).toLowerCase().indexOf(q) >= 0);
    var tr = el('tr', { 'data-id': r.id, 'data-diff': r.diff, 'data-p': r.p, 'data-base': r.p_base,
                        'data-onpath': r.on_path ? '1' : '0' });
    if (!visible) { tr.hidden = true; } else { shown++; }
    cell(tr, r.id);
    var nm = cell(tr, nameOf(r), 'name');
    if (r.unreachable) {
      nm.appendChild(el('div', { 'class': 'why' }, t('unreachable') + ': ' + (state.lang === 'zh' ? r.reason_zh : r.reason_en)));
    }
    cell(tr, pct(r.p), 'num');
    var d = cell(tr, pp(r.diff), 'num'); d.className += r.diff > 0 ? ' up' : r.diff < 0 ? ' down' : '';
    cell(tr, pp(r.se).replace('+', ''), 'num');
    cell(tr, pct(r.p_base), 'num');
    var rag = cell(tr, ''); if (r.rag) { rag.appendChild(el('span', { 'class': 'rag ' + r.rag }, t(r.rag))); }
    cell(tr, r.deadline, 'num');
    cell(tr, state.lang === 'zh' ? r.section_zh : r.section_en);
    cell(tr, r.on_path ? t('yes') : '');
    body.appendChild(tr);
  });
  if (!shown) { var tr = el('tr'); var td = cell(tr, t('no_rows')); td.colSpan = 10; body.appendChild(tr); }
}

function render() {
  var res = state.result; if (!res) { return; }
  renderCards(res.headline, res.cost);
  renderMoves(res.moves);
  renderTargets();
}

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll('[data-t]').forEach(function (e) { e.textContent = t(e.getAttribute('data-t')); });
  document.querySelectorAll('[data-tp]').forEach(function (e) { e.placeholder = t(e.getAttribute('data-tp')); });
  document.title = t('title');
  if (state.status) { setStatus(state.status.say, state.status.st); }
  $('header.top h1').textContent = t('title');
  $('#lang').textContent = state.lang === 'zh' ? 'EN' : '中文';
  document.querySelectorAll('.slip .item').forEach(function (e) { e.placeholder = t('item_ph'); });
  var m = state.meta;
  if (m) {
    $('#base-info').textContent = t('base_label') + ': ' + (m.label || 'params') + ' · ' + m.runs + ' ' + t('runs') +
      ' · ' + t('seed') + ' ' + m.seed + ' · ' + t('as_of') + ' ' + m.as_of;
    var first = $('#scenario').options[0]; if (first) { first.textContent = t('no_scenario'); }
    fillSwitches();
    var list = $('#item-list'); list.textContent = '';
    m.items.forEach(function (it) {
      if (it.status !== 'done') { list.appendChild(el('option', { value: it.id }, it.id + ' ' + nameOf(it))); }
    });
  }
  document.querySelectorAll('.slip').forEach(function (row) {
    var mode = row.querySelector('.mode'), unit = row.querySelector('.unit');
    Array.prototype.forEach.call(mode.options, function (o) { o.textContent = t(o.value); });
    Array.prototype.forEach.call(unit.options, function (o) { o.textContent = t(o.value); });
    row.querySelector('.remove').textContent = t('remove');
    row.querySelector('.item').dispatchEvent(new Event('input'));
  });
  render();
}

function fillSwitches() {
  ['risks', 'shocks'].forEach(function (kind) {
    var box = $('#' + kind), keep = {};
    box.querySelectorAll('select').forEach(function (s) { keep[s.name] = s.value; });
    box.textContent = '';
    state.meta[kind].forEach(function (x) {
      var row = switchRow(x); row.querySelector('select').value = keep[x.id] || ''; box.appendChild(row);
    });
  });
}

function init() {
  $('#lang').addEventListener('click', function () {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('whatif-lang', state.lang);
    translate();
  });
  $('#add-slip').addEventListener('click', function () { addSlip(); });
  $('#run').addEventListener('click', run);
  $('#reset').addEventListener('click', function () {
    $('#slips').textContent = ''; addSlip(); $('#scenario').value = '';
    document.querySelectorAll('#switches select').forEach(function (s) { s.value = ''; });
    run();
  });
  $('#controls').addEventListener('keydown', function (e) { if (e.key === 'Enter' && e.target.tagName === 'INPUT') { run(); } });
  $('#download').addEventListener('click', download);
  $('#save').addEventListener('click', saveDir);
  document.querySelectorAll('input[name=show]').forEach(function (r) { r.addEventListener('change', renderTargets); });
  $('#filter').addEventListener('input', renderTargets);
  $('#scenario').addEventListener('change', function () {
    var s = (state.meta.scenarios || []).filter(function (x) { return x.name === $('#scenario').value; })[0];
    $('#scenario-note').textContent = s ? s.description : '';
  });
  addSlip();
  translate();
  var m = JSON.parse(document.getElementById('meta').textContent);  // the server's plan and base, embedded
  m.itemsById = {}; m.items.forEach(function (it) { m.itemsById[it.id] = it; });
  state.meta = m;
  var sel = $('#scenario'); sel.textContent = '';
  sel.appendChild(el('option', { value: '' }, t('no_scenario')));
  m.scenarios.forEach(function (s) { sel.appendChild(el('option', { value: s.name }, s.name)); });
  state.result = m.base;
  translate();
  setStatus(function () { return t('done'); }, 'ready');
}

init();  // the page's script runs after its body
