/* global document, Node, URLSearchParams, EventSource, FormData */
// The dashboard's UI: plain browser ES module, no build step. Every URL is relative to the page ("<base>/"),
// so it works wherever the handler is mounted. Data is written with textContent only (never as HTML).
const $ = (sel) => document.querySelector(sel);
const state = { config: null, dlNext: null, parkedNext: null, query: '', pending: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'type' || k === 'scope' || k === 'title') e.setAttribute(k, v === true ? '' : String(v));
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function api(path, init) {
  const res = await fetch(`api/${path}`, { headers: { accept: 'application/json', ...(init?.body ? { 'content-type': 'application/json' } : {}) }, credentials: 'same-origin', ...init });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.message ?? `HTTP ${res.status}`);
    Object.assign(err, { status: res.status, code: body?.code, hint: body?.hint });
    throw err;
  }
  return body;
}

function showError(err) {
  const box = $('#error');
  box.hidden = false;
  box.textContent = `${err.code ? `[${err.code}] ` : ''}${err.message}${err.hint ? ` — ${err.hint}` : ''}`;
}
function notice(text) {
  $('#notice').textContent = text;
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
function fmtCount(c) {
  return `${c.exact ? '' : '≈ '}${fmtInt(c.rows)}`;
}
function fmtAge(s) {
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
const fmtTime = (t) => (t ? new Date(t).toLocaleString('en-GB', { hour12: false }) : '–');

function renderSummary(s) {
  $('#backlog-value').textContent = fmtCount(s.backlog);
  $('#backlog-value').dataset.rows = String(s.backlog.rows);
  $('#backlog-method').textContent = s.backlog.exact ? 'counted' : `planner estimate (above ${fmtInt(state.config.exactCountLimit)} rows)`;
  $('#oldest-value').textContent = fmtAge(s.oldestAgeSeconds);
  $('#rate-value').textContent = s.publishRate.perSecond === null ? '–' : `${s.publishRate.perSecond.toFixed(1)}/s`;
  $('#rate-source').textContent = `${s.publishRate.source === 'relay-metrics' ? 'from the relays\' /metrics' : s.publishRate.source === 'derived' ? 'derived from the database' : 'unknown'}: ${s.publishRate.note}`;
  $('#dead-value').textContent = fmtCount(s.deadLetters);
  $('#dead-value').dataset.rows = String(s.deadLetters.rows);
  $('#parked-value').textContent = fmtInt(s.parkedKeys);
  drawTrend(s.trend);
  // A dead letter or a parked key came or went: reload those lists now rather than at the next slow refresh.
  const key = `${s.deadLetters.rows}/${s.parkedKeys}`;
  if (state.lastCounts !== undefined && state.lastCounts !== key) Promise.allSettled([loadDeadLetters(), loadParked(), loadActions()]);
  state.lastCounts = key;
  if (s.error) showError(s.error);
  else $('#error').hidden = true;
  $('#connection').textContent = `Live · updated ${new Date(s.at).toLocaleTimeString('en-GB', { hour12: false })}`;
}

function drawTrend(points) {
  const svg = $('#sparkline');
  svg.replaceChildren();
  const caption = $('#trend-caption');
  if (points.length < 2) {
    caption.textContent = 'Backlog over the last 10 minutes: not enough samples yet.';
    return;
  }
  const t0 = points[0].t;
  const t1 = points.at(-1).t;
  const max = Math.max(1, ...points.map((p) => p.backlog));
  const coords = points.map((p) => `${(((p.t - t0) / Math.max(1, t1 - t0)) * 600).toFixed(1)},${(76 - (p.backlog / max) * 72).toFixed(1)}`).join(' ');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', coords);
  svg.append(line);
  const min = Math.min(...points.map((p) => p.backlog));
  caption.textContent = `Backlog over the last ${fmtAge((t1 - t0) / 1000)}: from ${fmtInt(points[0].backlog)} to ${fmtInt(points.at(-1).backlog)} rows (min ${fmtInt(min)}, max ${fmtInt(max)}), ${points.length} samples.`;
}

async function loadTopics() {
  const t = await api('topics');
  $('#topics-method').textContent = t.method === 'count' ? 'Counted.' : t.method === 'statistics' ? '≈ from the planner\'s statistics (pg_stats) of aggregatetype.' : 'Not counted: the table is large and has no statistics yet (ANALYZE it).';
  $('#topics-table tbody').replaceChildren(...t.topics.map((x) => el('tr', {}, el('td', {}, x.topic), el('td', {}, x.aggregateTypes.join(', ')), el('td', { class: 'num' }, `${t.exact ? '' : '≈ '}${fmtInt(x.rows)}`))));
}

async function loadInstances() {
  const r = await api('instances');
  const parts = [`${r.instances.length} relay instance${r.instances.length === 1 ? ' holds' : 's hold'} locks of this outbox`];
  if (r.slotCount !== null) parts.push(`${r.slotCount} slots`, r.unownedSlots.length ? `unowned: ${r.unownedSlots.join(', ')}` : 'every slot owned');
  if (r.endpoints.length) parts.push(`${r.endpoints.filter((e) => e.reachable).length}/${r.endpoints.length} /health endpoints reachable`);
  $('#relays-note').textContent = `${parts.join(' · ')}. From pg_locks (the relays' advisory locks) and pg_stat_activity; state from the relays' /health.`;
  const rows = r.instances.map((i) => el('tr', { 'data-instance': i.instanceId },
    el('th', { scope: 'row' }, i.instanceId),
    el('td', {}, String(i.pid)),
    el('td', {}, i.slots.length ? `${i.slots.length}: ${i.slots.join(', ')}` : 'none'),
    el('td', {}, i.silentSeconds === null ? '–' : `${fmtAge(i.silentSeconds)} ago`),
    el('td', {}, i.health ? `${i.health.status}${i.health.kafka ? ` · Kafka ${i.health.kafka}` : ''}${i.health.reasons?.length ? ` · ${i.health.reasons.join('; ')}` : ''}` : 'no /health configured for it')));
  for (const e of r.endpoints.filter((x) => !x.reachable || !r.instances.some((i) => i.instanceId === x.health?.instanceId))) {
    rows.push(el('tr', {}, el('th', { scope: 'row' }, e.health?.instanceId ?? e.url), el('td', {}, '–'), el('td', {}, '–'), el('td', {}, '–'), el('td', { class: e.reachable ? '' : 'bad' }, e.reachable ? `${e.health?.status ?? '?'} (holds no lock of this outbox)` : `unreachable: ${e.error ?? ''}`)));
  }
  $('#instances-table tbody').replaceChildren(...rows);
}

async function loadParked(more = false) {
  const r = await api(`parked?limit=50${more && state.parkedNext ? `&after=${encodeURIComponent(state.parkedNext)}` : ''}`);
  state.parkedNext = r.next;
  const rows = r.items.map((p) => el('tr', { 'data-key': p.aggregateid },
    el('th', { scope: 'row' }, `${p.aggregatetype} / ${p.aggregateid}`),
    el('td', {}, p.reason === 'dead-letter' ? el('a', { href: '#dead-letters', 'data-blocker': p.blocker_id, onclick: () => inspect(p.blocker_id) }, `dead letter ${p.blocker_id.slice(0, 8)}… (position ${p.position})`) : `backoff: attempt ${p.attempts}, next at ${fmtTime(p.next_attempt_at)}`),
    el('td', { class: 'err' }, p.error ?? ''),
    el('td', { class: 'num' }, p.waiting === null ? 'not counted' : String(p.waiting))));
  if (more) $('#parked-table tbody').append(...rows);
  else $('#parked-table tbody').replaceChildren(...rows);
  $('#parked-more').hidden = !r.next;
}

async function loadDeadLetters(more = false) {
  const qs = new URLSearchParams({ limit: '50' });
  if (state.query) qs.set('q', state.query);
  if (more && state.dlNext) qs.set('after', state.dlNext);
  const r = await api(`dead-letters?${qs}`);
  state.dlNext = r.next;
  const ro = state.config.readOnly;
  const rows = r.items.map((d) => el('tr', { 'data-id': d.id },
    el('th', { scope: 'row' }, `${d.aggregatetype} / ${d.aggregateid}`),
    el('td', {}, d.type),
    el('td', { class: 'err' }, d.error),
    el('td', {}, fmtTime(d.failed_at)),
    el('td', {},
      el('button', { type: 'button', 'data-action': 'inspect', 'aria-label': `Inspect dead letter ${d.id}`, onclick: () => inspect(d.id) }, 'Inspect'),
      ro ? null : el('button', { type: 'button', 'data-action': 'replay', 'aria-label': `Replay dead letter ${d.id}`, onclick: () => confirmAction(d, 'replay') }, 'Replay'),
      ro ? null : el('button', { type: 'button', 'data-action': 'discard', class: 'danger', 'aria-label': `Discard dead letter ${d.id}`, onclick: () => confirmAction(d, 'discard') }, 'Discard'))));
  if (more) $('#dl-table tbody').append(...rows);
  else $('#dl-table tbody').replaceChildren(...rows);
  $('#dl-empty').hidden = more || r.items.length > 0;
  $('#dl-more').hidden = !r.next;
}

async function loadActions() {
  const r = await api('actions?limit=20');
  $('#actions-table tbody').replaceChildren(...r.items.map((a) => el('tr', { 'data-action-id': a.id },
    el('td', {}, fmtTime(a.at)), el('td', {}, a.actor), el('td', {}, a.action),
    el('td', {}, a.aggregateid ? `${a.target} (${a.aggregatetype} / ${a.aggregateid})` : a.target),
    el('td', { class: a.outcome === 'done' ? 'ok' : 'bad' }, a.outcome))));
}

function openDialog(title, body, confirmLabel) {
  $('#dialog-h').textContent = title;
  $('#dialog-body').replaceChildren(...body);
  const confirm = $('#dialog-confirm');
  confirm.hidden = !confirmLabel;
  confirm.textContent = confirmLabel ?? 'Confirm';
  const dialog = $('#dialog');
  dialog.returnValue = '';
  dialog.showModal();
  (confirmLabel ? $('#dialog-cancel') : $('#dialog-cancel')).focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }));
}

async function inspect(id) {
  try {
    const d = await api(`dead-letters/${encodeURIComponent(id)}`);
    await openDialog(`Dead letter ${d.aggregatetype} / ${d.aggregateid}`, [
      el('dl', {},
        el('dt', {}, 'Id'), el('dd', {}, d.id),
        el('dt', {}, 'Type'), el('dd', {}, d.type),
        el('dt', {}, 'Position'), el('dd', {}, d.position),
        el('dt', {}, 'Attempts'), el('dd', {}, String(d.attempts)),
        el('dt', {}, 'Error'), el('dd', { class: 'bad' }, d.error)),
      el('h3', {}, 'Headers'), el('pre', { id: 'dialog-headers' }, JSON.stringify(d.headers, null, 2)),
      el('h3', {}, 'Payload'), el('pre', { id: 'dialog-payload' }, JSON.stringify(d.payload, null, 2)),
    ]);
  } catch (err) {
    showError(err);
  }
}

async function confirmAction(d, action) {
  const text = action === 'replay'
    ? 'It goes back into the outbox at its original position; the relay publishes it first, then the messages of its key that waited. Fix the cause first, or it fails again.'
    : 'It is deleted for good: consumers never see this event; the messages of its key that waited flow.';
  const ok = await openDialog(`${action === 'replay' ? 'Replay' : 'Discard'} dead letter ${d.aggregatetype} / ${d.aggregateid}?`, [el('p', {}, text), el('p', {}, `Id: ${d.id}`)], action === 'replay' ? 'Replay' : 'Discard');
  if (!ok) {
    notice(`${action} cancelled.`);
    return;
  }
  try {
    const r = await api(`dead-letters/${encodeURIComponent(d.id)}/${action}`, { method: 'POST', body: JSON.stringify({ confirm: d.id }) });
    notice(`${action === 'replay' ? 'Replayed' : 'Discarded'} ${d.aggregatetype} / ${d.aggregateid} (${d.id}) as ${r.actor}.`);
  } catch (err) {
    showError(err);
  }
  await Promise.allSettled([loadDeadLetters(), loadParked(), loadActions()]);
}

function renderAudit(a) {
  const box = $('#audit-result');
  if (!a) {
    box.replaceChildren(el('p', { class: 'small' }, 'No audit run yet.'));
    return;
  }
  if (a.error) {
    box.replaceChildren(el('p', { class: 'bad' }, `${a.error.message} — ${a.error.hint}`));
    return;
  }
  const c = a.report.counts;
  const row = (label, n) => el('tr', {}, el('th', { scope: 'row' }, label), el('td', { class: `num ${n ? 'bad' : 'ok'}`, 'data-count': label }, String(n)));
  box.replaceChildren(
    el('p', {}, `Last audit ${fmtTime(a.at)} by ${a.actor}: ${a.report.source.table} ↔ ${a.report.source.topic}, ${c.rows} rows, ${c.messages} messages, ${a.report.durationMs} ms.`),
    el('table', { id: 'audit-table' }, el('caption', { class: 'sr-only' }, 'Audit findings'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Finding'), el('th', { scope: 'col', class: 'num' }, 'Count'))),
      el('tbody', {}, row('ghosts', c.ghosts), row('black holes', c.blackHoles), row('duplicates', c.duplicates), row('order violations', a.report.orderChecked ? c.orderViolations : 'not checked'), row('premature', c.premature ?? 'not checked'))));
}

function renderPanels(panels) {
  if (!panels.length) return;
  $('#panels').hidden = false;
  $('#nav-panels').hidden = false;
  $('#panels-list').replaceChildren(...panels.map((p) => {
    const out = el('div', { class: 'panel-result', 'aria-live': 'polite', 'data-panel-result': p.id });
    return el('section', { class: 'panel', 'aria-labelledby': `panel-${p.id}-h`, 'data-panel': p.id },
      el('h3', { id: `panel-${p.id}-h` }, p.title),
      p.description ? el('p', { class: 'small' }, p.description) : null,
      el('div', { class: 'buttons' }, p.actions.map((a) => el('button', {
        type: 'button', 'data-panel-action': a.id, disabled: state.config.readOnly && a.write,
        title: state.config.readOnly && a.write ? 'read-only dashboard' : undefined,
        onclick: async (ev) => {
          const b = ev.currentTarget;
          b.disabled = true;
          out.replaceChildren(el('p', {}, `${a.label}: running…`));
          try {
            const r = await api(`panels/${p.id}/${a.id}`, { method: 'POST', body: '{}' });
            out.replaceChildren(el('p', {}, `${a.label}: done in ${r.ms} ms`), el('pre', {}, JSON.stringify(r.result, null, 2)));
          } catch (err) {
            out.replaceChildren(el('p', { class: 'bad' }, `${a.label}: ${err.message}`));
          } finally {
            b.disabled = false;
          }
        },
      }, a.label))), out);
  }));
}

function connect() {
  const es = new EventSource('api/events');
  es.addEventListener('summary', (ev) => {
    try {
      renderSummary(JSON.parse(ev.data));
    } catch (err) {
      showError(err);
    }
  });
  es.onerror = () => {
    $('#connection').textContent = 'Live updates interrupted — reconnecting…';
  };
}

let slowTimer;
function refreshLists() {
  clearTimeout(slowTimer);
  Promise.allSettled([loadTopics(), loadInstances(), loadParked(), loadDeadLetters(), loadActions()]).finally(() => {
    slowTimer = setTimeout(refreshLists, Math.max(1000, state.config.refreshMs * 3));
  });
}

async function main() {
  try {
    state.config = await api('config');
  } catch (err) {
    showError(err);
    $('#connection').textContent = 'Not connected.';
    return;
  }
  const c = state.config;
  document.title = `${c.title} — outbox dashboard`;
  $('#title').textContent = c.title;
  $('#outbox-name').textContent = c.outbox;
  $('#user').textContent = c.user;
  $('#mode').hidden = !c.readOnly;
  document.body.dataset.readOnly = String(c.readOnly);
  const form = $('#audit-form');
  for (const k of ['table', 'topic', 'brokers', 'entityId', 'eventId', 'sequence']) form.elements[k].value = c.audit[k];
  renderPanels(c.panels);
  $('#dl-search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.query = $('#dl-q').value.trim();
    loadDeadLetters().catch(showError);
  });
  $('#dl-more').addEventListener('click', () => loadDeadLetters(true).catch(showError));
  $('#parked-more').addEventListener('click', () => loadParked(true).catch(showError));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    $('#audit-run').disabled = true;
    $('#audit-result').replaceChildren(el('p', {}, 'Auditing…'));
    try {
      renderAudit(await api('audit', { method: 'POST', body: JSON.stringify(body) }));
    } catch (err) {
      renderAudit(await api('audit').catch(() => null));
      showError(err);
    } finally {
      $('#audit-run').disabled = false;
    }
  });
  api('audit').then(renderAudit, showError);
  api('summary').then(renderSummary, showError);
  connect();
  refreshLists();
}

main();
