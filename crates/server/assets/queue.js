// Alert queue: filters kept in the URL, paging, row selection with bulk
// actions, keyboard shortcuts and live updates (Server-Sent Events, falling
// back to polling).

import { get, post, query } from './api.js';
import {
  h, replace, field, select, time, severity, status, formError, clearErrors, showError,
  toast, localInputToUtc, utcToLocalInput,
} from './dom.js';

const STATUSES = ['new', 'acknowledged', 'investigating', 'closed'];
const OPEN_STATUSES = ['new', 'acknowledged', 'investigating'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const PAGE_SIZE = 50;
const POLL_MS = 15000;

/** Reads the queue filters from the URL; no `status` means the open ones, `status=all` means every one. */
function readFilters(params) {
  const rawStatus = params.get('status');
  let statuses = OPEN_STATUSES;
  if (rawStatus === 'all') statuses = [];
  else if (rawStatus) statuses = rawStatus.split(',').filter((s) => STATUSES.includes(s));
  return {
    statuses,
    min_severity: params.get('min_severity') || '',
    watchlist: params.get('watchlist') || '',
    host: params.get('host') || '',
    indicator: params.get('indicator') || '',
    since: params.get('since') || '',
    until: params.get('until') || '',
    q: params.get('q') || '',
    offset: Math.max(0, Number.parseInt(params.get('offset') || '0', 10) || 0),
  };
}

function filtersToUrlParams(filters) {
  const params = new URLSearchParams();
  const isDefault = filters.statuses.length === OPEN_STATUSES.length
    && OPEN_STATUSES.every((s) => filters.statuses.includes(s));
  if (filters.statuses.length === 0) params.set('status', 'all');
  else if (!isDefault) params.set('status', filters.statuses.join(','));
  for (const key of ['min_severity', 'watchlist', 'host', 'indicator', 'since', 'until', 'q']) {
    if (filters[key]) params.set(key, filters[key]);
  }
  if (filters.offset) params.set('offset', String(filters.offset));
  return params;
}

function apiQuery(filters) {
  return query({
    status: filters.statuses.length ? filters.statuses : '',
    min_severity: filters.min_severity,
    watchlist: filters.watchlist,
    host: filters.host,
    indicator: filters.indicator,
    since: filters.since,
    until: filters.until,
    q: filters.q,
    limit: PAGE_SIZE,
    offset: filters.offset,
  });
}

function isTyping(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export async function renderQueue(ctx) {
  let filters = readFilters(ctx.query);
  const selected = new Set();
  const knownIds = new Set();
  const newIds = new Set();
  let items = [];
  let total = 0;
  let watchlists = [];

  try {
    watchlists = await get('/watchlists');
  } catch {
    watchlists = [];
  }
  if (!ctx.isCurrent()) return;

  // Filters.
  const statusBoxes = STATUSES.map((name) => h('input', {
    type: 'checkbox', value: name, checked: filters.statuses.includes(name), id: `status-${name}`,
  }));
  const statusSet = h('fieldset', { 'data-field': 'status' },
    h('legend', { text: 'Status' }),
    statusBoxes.map((box) => h('label', { for: box.id }, box, ` ${box.value}`)),
    h('p', { class: 'field-error' }));
  const minSeverity = select([['', 'any'], ...SEVERITIES.map((s) => [s, `${s} or higher`])], filters.min_severity);
  const watchlist = select([['', 'any'], ...watchlists.map((w) => [w.name, w.name])], filters.watchlist);
  const host = h('input', { type: 'text', value: filters.host, size: 16 });
  const indicator = h('input', { type: 'text', value: filters.indicator, size: 20 });
  const since = h('input', { type: 'datetime-local', value: utcToLocalInput(filters.since) });
  const until = h('input', { type: 'datetime-local', value: utcToLocalInput(filters.until) });
  const search = h('input', { type: 'search', value: filters.q, size: 24, placeholder: 'Press / to search' });

  const filterForm = h('form', { class: 'panel', role: 'search', 'aria-label': 'Alert filters' },
    h('div', { class: 'form-row' },
      statusSet,
      field('Minimum severity', minSeverity, { name: 'min_severity' }),
      field('Watchlist', watchlist, { name: 'watchlist' }),
      field('Internal host', host, { name: 'host' }),
      field('Indicator', indicator, { name: 'indicator' }),
      field('Raised or sighted from (UTC)', since, { name: 'since' }),
      field('Raised before (UTC)', until, { name: 'until' }),
      field('Search', search, { name: 'q' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', text: 'Apply filters' }),
        h('button', { type: 'button', text: 'Reset', onclick: () => ctx.navigate('/alerts') }))),
    formError());

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    filters = {
      statuses: statusBoxes.filter((b) => b.checked).map((b) => b.value),
      min_severity: minSeverity.value,
      watchlist: watchlist.value,
      host: host.value.trim(),
      indicator: indicator.value.trim(),
      since: localInputToUtc(since.value),
      until: localInputToUtc(until.value),
      q: search.value.trim(),
      offset: 0,
    };
    ctx.setQuery(filtersToUrlParams(filters));
    load();
  });

  // Bulk actions.
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select every alert on this page' });
  const selectionText = h('span', { class: 'muted', 'aria-live': 'polite', text: 'No alert selected' });
  const ackButton = h('button', { type: 'button', text: 'Acknowledge selected', disabled: true });
  const investigateButton = h('button', { type: 'button', text: 'Investigate selected', disabled: true });
  const closeButton = h('button', { type: 'button', text: 'Close selected…', disabled: true });
  const bulkResolution = select([
    ['', 'choose…'], ['true-positive', 'true positive'], ['false-positive', 'false positive'], ['benign', 'benign'],
  ], '');
  const bulkComment = h('input', { type: 'text', size: 40 });
  const bulkCloseForm = h('form', { class: 'panel', hidden: true, 'aria-label': 'Close the selected alerts' },
    h('div', { class: 'form-row' },
      field('Resolution', bulkResolution, { name: 'resolution' }),
      field('Comment', bulkComment, { name: 'comment' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', text: 'Close alerts' }),
        h('button', { type: 'button', text: 'Cancel', onclick: () => { bulkCloseForm.hidden = true; closeButton.focus(); } }))),
    formError());

  const liveText = h('span', { class: 'live', 'aria-live': 'off', text: 'Connecting for live updates…' });
  const toolbar = h('div', { class: 'toolbar' },
    selectionText, ackButton, investigateButton, closeButton, liveText,
    h('span', { class: 'keys' },
      h('kbd', { text: 'j' }), '/', h('kbd', { text: 'k' }), ' move, ',
      h('kbd', { text: 'x' }), ' select, ', h('kbd', { text: 'Enter' }), ' open, ',
      h('kbd', { text: 'a' }), ' acknowledge selected, ', h('kbd', { text: '/' }), ' search'));

  const tableBody = h('tbody');
  const summaryText = h('p', { class: 'muted', 'aria-live': 'polite' });
  const prevButton = h('button', { type: 'button', text: '← Newer' });
  const nextButton = h('button', { type: 'button', text: 'Older →' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prevButton, nextButton, summaryText);

  const alertTable = h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'visually-hidden', text: 'Alerts, newest first' }),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, selectAll),
      ['Severity', 'Status', 'Alert', 'Watchlist', 'Indicator', 'Internal host', 'Direction'].map((label) => h('th', { scope: 'col', text: label })),
      h('th', { scope: 'col', class: 'num', text: 'Count' }),
      h('th', { scope: 'col', text: 'Last seen' }),
      h('th', { scope: 'col', text: 'Assignee' }))),
    tableBody));

  replace(ctx.main, h('h1', { text: 'Alert queue' }), filterForm, toolbar, bulkCloseForm, alertTable, pager);

  function updateSelection() {
    const count = selected.size;
    selectionText.textContent = count ? `${count} selected` : 'No alert selected';
    for (const button of [ackButton, investigateButton, closeButton]) button.disabled = count === 0;
    selectAll.checked = items.length > 0 && items.every((item) => selected.has(item.id));
    for (const row of tableBody.querySelectorAll('tr[data-id]')) {
      row.classList.toggle('is-selected', selected.has(row.dataset.id));
    }
  }

  function row(item) {
    const box = h('input', {
      type: 'checkbox', checked: selected.has(item.id), 'aria-label': `Select alert ${item.short_id}`,
    });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(item.id);
      else selected.delete(item.id);
      updateSelection();
    });
    const tr = h('tr', { dataset: { id: item.id }, class: newIds.has(item.id) ? 'is-new' : null },
      h('td', null, box),
      h('td', null, severity(item.severity)),
      h('td', null, status(item.status, item.resolution)),
      h('td', null, h('a', { href: `/alerts/${encodeURIComponent(item.id)}`, class: 'row-link' }, item.title || item.short_id),
        h('div', { class: 'muted mono', text: item.short_id })),
      h('td', { text: item.watchlist || '' }),
      h('td', { class: 'mono break', text: item.indicator || '' }),
      h('td', { class: 'mono', text: item.internal_host || '—' }),
      h('td', { text: item.direction || '—' }),
      h('td', { class: 'num', text: item.count }),
      h('td', null, time(item.last_seen)),
      h('td', { text: item.assignee || '—' }));
    return tr;
  }

  function draw() {
    const focusedId = document.activeElement && document.activeElement.closest
      ? (document.activeElement.closest('tr[data-id]') || {}).dataset?.id : null;
    replace(tableBody, items.map(row));
    if (items.length === 0) {
      tableBody.append(h('tr', null, h('td', { colspan: 11, class: 'empty', text: 'No alert matches these filters.' })));
    }
    const first = total === 0 ? 0 : filters.offset + 1;
    const last = filters.offset + items.length;
    summaryText.textContent = `Alerts ${first}–${last} of ${total}`;
    prevButton.disabled = filters.offset === 0;
    nextButton.disabled = last >= total;
    updateSelection();
    if (focusedId) {
      const link = tableBody.querySelector(`tr[data-id="${CSS.escape(focusedId)}"] .row-link`);
      if (link) link.focus();
    }
  }

  async function load() {
    clearErrors(filterForm);
    try {
      const page = await get(`/alerts${apiQuery(filters)}`);
      if (!ctx.isCurrent()) return;
      items = page.items || [];
      total = page.total || 0;
      for (const item of items) {
        if (knownIds.size > 0 && !knownIds.has(item.id) && filters.offset === 0) newIds.add(item.id);
      }
      for (const item of items) knownIds.add(item.id);
      draw();
    } catch (error) {
      if (!ctx.isCurrent()) return;
      showError(filterForm, error);
    }
  }

  prevButton.addEventListener('click', () => {
    filters.offset = Math.max(0, filters.offset - PAGE_SIZE);
    ctx.setQuery(filtersToUrlParams(filters));
    load();
  });
  nextButton.addEventListener('click', () => {
    filters.offset += PAGE_SIZE;
    ctx.setQuery(filtersToUrlParams(filters));
    load();
  });
  selectAll.addEventListener('change', () => {
    for (const item of items) {
      if (selectAll.checked) selected.add(item.id);
      else selected.delete(item.id);
    }
    draw();
  });

  async function bulk(action, extra = {}) {
    const ids = [...selected];
    if (ids.length === 0) return null;
    const result = await post('/alerts/bulk', { ids, action, ...extra });
    const failed = result.failed || [];
    toast(`${result.updated} alert${result.updated === 1 ? '' : 's'} updated${failed.length ? `, ${failed.length} failed: ${failed.map((f) => `${f.id}: ${f.error}`).join('; ')}` : ''}.`);
    selected.clear();
    for (const f of failed) selected.add(f.id);
    await load();
    return result;
  }

  async function bulkSimple(action) {
    try {
      await bulk(action);
    } catch (error) {
      toast(error.message);
    }
  }

  ackButton.addEventListener('click', () => bulkSimple('acknowledge'));
  investigateButton.addEventListener('click', () => bulkSimple('investigate'));
  closeButton.addEventListener('click', () => {
    bulkCloseForm.hidden = false;
    bulkResolution.focus();
  });
  bulkCloseForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(bulkCloseForm);
    if (!bulkResolution.value) {
      showError(bulkCloseForm, { field: 'resolution', message: 'Choose a resolution for the closed alerts.' });
      return;
    }
    if (!bulkComment.value.trim()) {
      showError(bulkCloseForm, { field: 'comment', message: 'Write a comment that explains the resolution.' });
      return;
    }
    try {
      await bulk('close', { resolution: bulkResolution.value, comment: bulkComment.value.trim() });
      bulkCloseForm.hidden = true;
      bulkComment.value = '';
    } catch (error) {
      showError(bulkCloseForm, error);
    }
  });

  // Keyboard shortcuts: j/k move between rows, x selects, a acknowledges
  // the selection, / focuses the search field.
  function rowLinks() {
    return [...tableBody.querySelectorAll('.row-link')];
  }
  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === 'Escape') event.target.blur();
      return;
    }
    const links = rowLinks();
    const current = document.activeElement && document.activeElement.closest ? document.activeElement.closest('tr[data-id]') : null;
    const index = current ? links.findIndex((l) => current.contains(l)) : -1;
    if (event.key === 'j' || event.key === 'k') {
      if (links.length === 0) return;
      const step = event.key === 'j' ? 1 : -1;
      const target = index === -1 ? 0 : Math.min(links.length - 1, Math.max(0, index + step));
      links[target].focus();
      links[target].scrollIntoView({ block: 'nearest' });
      event.preventDefault();
    } else if (event.key === 'x' && current) {
      const box = current.querySelector('input[type="checkbox"]');
      box.checked = !box.checked;
      box.dispatchEvent(new Event('change'));
      event.preventDefault();
    } else if (event.key === 'a' && selected.size > 0) {
      bulkSimple('acknowledge');
      event.preventDefault();
    } else if (event.key === '/') {
      search.focus();
      event.preventDefault();
    }
  }
  document.addEventListener('keydown', onKey);
  ctx.onCleanup(() => document.removeEventListener('keydown', onKey));

  // Live updates.
  let reloadTimer = null;
  function scheduleReload() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      load();
    }, 400);
  }
  ctx.onCleanup(() => clearTimeout(reloadTimer));

  let pollTimer = null;
  function startPolling(reason) {
    liveText.classList.remove('on');
    liveText.textContent = `Refreshing every ${POLL_MS / 1000} s (${reason})`;
    if (!pollTimer) pollTimer = setInterval(() => { if (filters.offset === 0) load(); }, POLL_MS);
  }
  ctx.onCleanup(() => clearInterval(pollTimer));

  function onAlertEvent(message) {
    let summary;
    try {
      summary = JSON.parse(message.data);
    } catch {
      return;
    }
    const index = items.findIndex((item) => item.id === summary.id);
    if (index !== -1) {
      items[index] = summary;
      const existing = tableBody.querySelector(`tr[data-id="${CSS.escape(summary.id)}"]`);
      const hadFocus = existing && existing.contains(document.activeElement);
      const replacement = row(summary);
      if (existing) existing.replaceWith(replacement);
      if (hadFocus) replacement.querySelector('.row-link').focus();
    } else if (filters.offset === 0) {
      scheduleReload();
    }
  }

  await load();
  if (!ctx.isCurrent()) return;

  if (typeof EventSource === 'function') {
    const after = new Date().toISOString();
    const source = new EventSource(`/api/v1/alerts/events${query({ after })}`);
    let failures = 0;
    source.addEventListener('open', () => {
      failures = 0;
      liveText.classList.add('on');
      liveText.textContent = 'Live';
    });
    source.addEventListener('alert', onAlertEvent);
    source.addEventListener('error', () => {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        startPolling('live updates unavailable');
      }
    });
    ctx.onCleanup(() => source.close());
  } else {
    startPolling('this browser has no EventSource');
  }
}
