// Watchlists: the list with sizes, creating one, and per watchlist its
// settings, file upload, single indicators (add, remove, expire) and
// change history. Also the allowlist.

import { ApiError, get, post, patch, del, query, segment } from './api.js';
import {
  h, replace, field, select, time, severity, formError, clearErrors, showError, toast, table, num, panel,
} from './dom.js';

const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const PAGE_SIZE = 100;
const HISTORY_LIMIT = 100;

function isAdmin(ctx) {
  return ctx.session.user.role === 'admin';
}

function itemsOf(data) {
  if (Array.isArray(data)) return data;
  return (data && data.items) || [];
}

function textOrDash(value) {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

function splitValues(text) {
  return text.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);
}

/**
 * Builds the settings fields shared by the create and edit forms. `values(forCreate)`
 * leaves out empty fields on create, so the service defaults apply; on
 * update an empty lifetime means "never" and an empty description removes it.
 */
function settingsFields(current = {}) {
  const controls = {
    description: h('input', { type: 'text', size: 40, value: current.description || '' }),
    severity: select([['auto', 'from indicator confidence'], ...SEVERITIES.map((s) => [s, s])], current.severity || 'auto'),
    domain_match: select([['subdomains', 'domain and its subdomains'], ['exact', 'exact domain only']], current.domain_match || 'subdomains'),
    ttl: h('input', { type: 'text', size: 10, value: current.ttl || '' }),
    dedup_window: h('input', { type: 'text', size: 10, value: current.dedup_window || '' }),
    enabled: h('input', { type: 'checkbox', checked: current.enabled !== false }),
  };
  const fields = [
    field('Description', controls.description, { name: 'description' }),
    field('Severity of its alerts', controls.severity, { name: 'severity' }),
    field('Domain matching', controls.domain_match, { name: 'domain_match' }),
    field('Indicator lifetime', controls.ttl, { name: 'ttl', hint: 'Such as 30d or 12h; empty: no expiry.' }),
    field('Dedup window', controls.dedup_window, { name: 'dedup_window', hint: 'Such as 1h; empty: the service default.' }),
    field('Enabled', controls.enabled, { name: 'enabled', inline: true }),
  ];
  function values(forCreate) {
    const body = {
      severity: controls.severity.value,
      domain_match: controls.domain_match.value,
      enabled: controls.enabled.checked,
    };
    const description = controls.description.value.trim();
    const ttl = controls.ttl.value.trim();
    const window = controls.dedup_window.value.trim();
    if (description || !forCreate) body.description = description;
    if (ttl) body.ttl = ttl;
    else if (!forCreate) body.ttl = 'never';
    if (window) body.dedup_window = window;
    return body;
  }
  return { controls, fields, values };
}

export async function renderWatchlists(ctx) {
  const lists = itemsOf(await get('/watchlists'));
  if (!ctx.isCurrent()) return;

  const listTable = table(
    ['Name', 'Description', 'Severity', ['Indicators', 'num'], ['Expired', 'num'], 'Enabled', 'Last update'],
    lists.map((w) => [
      h('a', { href: `/watchlists/${encodeURIComponent(w.name)}`, text: w.name }),
      textOrDash(w.description),
      severity(w.severity || 'auto'),
      num(w.indicators),
      num(w.expired),
      w.enabled ? 'yes' : 'no',
      time(w.updated_at),
    ]),
    { empty: 'No watchlist yet.', caption: 'Watchlists' },
  );

  let createPanel = null;
  if (isAdmin(ctx)) {
    const name = h('input', { type: 'text', size: 20 });
    const settings = settingsFields();
    const form = h('form', { 'aria-label': 'Create a watchlist' },
      h('div', { class: 'form-row' },
        field('Name', name, { name: 'name', hint: "Letters, digits, '-', '_' and '.'." }),
        settings.fields),
      formError(),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Create watchlist' })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      if (!name.value.trim()) {
        showError(form, { field: 'name', message: 'Enter a name for the watchlist.' });
        return;
      }
      try {
        await post('/watchlists', { name: name.value.trim(), ...settings.values(true) });
        toast(`Watchlist ${name.value.trim()} created.`);
        ctx.navigate(`/watchlists/${encodeURIComponent(name.value.trim())}`);
      } catch (error) {
        showError(form, error);
      }
    });
    createPanel = panel('Create a watchlist', form);
  }

  replace(ctx.main, h('h1', { text: 'Watchlists' }), h('div', { class: 'panel' }, listTable), createPanel);
}

function uploadResult(result) {
  const rejected = result.rejected || [];
  return h('div', { class: 'notice', role: 'status' },
    h('p', null, `Added ${result.added}, updated ${result.updated}, skipped as allowlisted ${result.skipped_allowlisted}, rejected ${result.rejected_total ?? rejected.length}.`),
    rejected.length ? table(['Line', 'Value', 'Reason'], rejected.map((r) => [num(r.line), h('span', { class: 'mono break', text: r.value }), r.reason]), { caption: 'Rejected lines' }) : null,
    (result.rejected_total || 0) > rejected.length ? h('p', { class: 'muted', text: `Only the first ${rejected.length} rejected lines are listed.` }) : null);
}

export async function renderWatchlist(ctx) {
  const [name] = ctx.params;
  const admin = isAdmin(ctx);
  const watchlist = await get(`/watchlists/${segment(name)}`);
  if (!ctx.isCurrent()) return;
  ctx.setTitle(`Watchlist ${name}`);

  let offset = 0;
  let filterText = '';
  const selected = new Set();

  // Settings.
  const settings = settingsFields(watchlist);
  const settingsForm = h('form', { 'aria-label': 'Watchlist settings' },
    h('div', { class: 'form-row' }, settings.fields),
    formError(),
    admin ? h('div', { class: 'actions' },
      h('button', { type: 'submit', text: 'Save settings' }),
      h('button', { type: 'button', class: 'danger', text: 'Delete watchlist…', onclick: deleteWatchlist })) : null);
  if (!admin) for (const control of settingsForm.querySelectorAll('input, select')) control.disabled = true;
  settingsForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(settingsForm);
    try {
      await patch(`/watchlists/${segment(name)}`, settings.values(false));
      toast('Settings saved.');
    } catch (error) {
      showError(settingsForm, error);
    }
  });

  async function deleteWatchlist() {
    if (!window.confirm(`Delete the watchlist ${name} and its ${watchlist.indicators} indicators?`)) return;
    try {
      await del(`/watchlists/${segment(name)}`);
      toast(`Watchlist ${name} deleted.`);
      ctx.navigate('/watchlists');
    } catch (error) {
      showError(settingsForm, error);
    }
  }

  // Upload.
  const fileInput = h('input', { type: 'file' });
  const column = h('input', { type: 'text', size: 12 });
  const uploadBroad = h('input', { type: 'checkbox' });
  const uploadOutput = h('div');
  const uploadForm = h('form', { 'aria-label': 'Upload a watchlist file' },
    h('div', { class: 'form-row' },
      field('Watchlist file', fileInput, { name: 'file', hint: 'Plain list, CSV, Zeek intel or JSON lines; gzip accepted.' }),
      field('CSV column', column, { name: 'column', hint: 'Only when the column has an unusual name.' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Upload' }))),
    field('Accept broad networks and public suffixes', uploadBroad, { name: 'allow_broad', inline: true }),
    formError(), uploadOutput);
  uploadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(uploadForm);
    replace(uploadOutput);
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      showError(uploadForm, { field: 'file', message: 'Choose a file to upload.' });
      return;
    }
    try {
      const result = await post(`/watchlists/${segment(name)}/upload${query({ filename: file.name, column: column.value.trim(), allow_broad: uploadBroad.checked ? 'true' : '' })}`, file);
      replace(uploadOutput, uploadResult(result));
      loadIndicators();
      loadHistory();
    } catch (error) {
      showError(uploadForm, error);
    }
  });

  // Add values.
  const values = h('textarea', { rows: 3, placeholder: 'hxxp://bad[.]example/x\n198.51.100[.]7' });
  const description = h('input', { type: 'text', size: 30 });
  const confidence = h('input', { type: 'number', min: 0, max: 100, size: 4 });
  const ttl = h('input', { type: 'text', size: 6 });
  const addBroad = h('input', { type: 'checkbox' });
  const addOutput = h('div');
  const addForm = h('form', { 'aria-label': 'Add indicators' },
    field('Values', values, { name: 'values', hint: 'One or more per line, defanged or not.' }),
    h('div', { class: 'form-row' },
      field('Description', description, { name: 'description' }),
      field('Confidence (0–100)', confidence, { name: 'confidence' }),
      field('Lifetime', ttl, { name: 'ttl', hint: 'Such as 7d; empty: the watchlist lifetime.' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Add' }))),
    field('Accept broad networks and public suffixes', addBroad, { name: 'allow_broad', inline: true }),
    formError(), addOutput);
  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(addForm);
    replace(addOutput);
    const list = splitValues(values.value);
    if (list.length === 0) {
      showError(addForm, { field: 'values', message: 'Enter at least one value.' });
      return;
    }
    const body = { values: list };
    if (description.value.trim()) body.description = description.value.trim();
    if (confidence.value !== '') body.confidence = Number(confidence.value);
    if (ttl.value.trim()) body.ttl = ttl.value.trim();
    if (addBroad.checked) body.allow_broad = true;
    try {
      const result = await post(`/watchlists/${segment(name)}/indicators`, body);
      replace(addOutput, uploadResult(result));
      values.value = '';
      loadIndicators();
      loadHistory();
    } catch (error) {
      showError(addForm, error);
    }
  });

  // Indicators.
  const search = h('input', { type: 'search', size: 24 });
  const indicatorForm = h('form', { role: 'search', 'aria-label': 'Search the indicators' },
    h('div', { class: 'form-row' },
      field('Search indicators', search, { name: 'q' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Search' }))),
    formError());
  const indicatorTable = h('div');
  const pageText = h('span', { class: 'muted' });
  const prev = h('button', { type: 'button', text: '← Previous' });
  const next = h('button', { type: 'button', text: 'Next →' });
  const removeButton = h('button', { type: 'button', class: 'danger', text: 'Remove selected', disabled: true });
  const expireButton = h('button', { type: 'button', text: 'Expire selected now', disabled: true });
  const selectionActions = admin ? h('div', { class: 'actions' }, removeButton, expireButton) : null;

  function updateButtons() {
    removeButton.disabled = selected.size === 0;
    expireButton.disabled = selected.size === 0;
  }

  async function loadIndicators() {
    clearErrors(indicatorForm);
    try {
      const page = await get(`/watchlists/${segment(name)}/indicators${query({ limit: PAGE_SIZE, offset, q: filterText })}`);
      if (!ctx.isCurrent()) return;
      const rows = page.items || [];
      replace(indicatorTable, table(
        [admin ? 'Select' : '', 'Value', 'Kind', 'Description', 'Confidence', 'Tags', 'Reference', 'First seen', 'Last seen', 'Expires'],
        rows.map((item) => {
          let box = '';
          if (admin) {
            box = h('input', { type: 'checkbox', checked: selected.has(item.value), 'aria-label': `Select ${item.value}` });
            box.addEventListener('change', () => {
              if (box.checked) selected.add(item.value);
              else selected.delete(item.value);
              updateButtons();
            });
          }
          return [
            box,
            h('span', { class: 'mono break', text: item.value }),
            textOrDash(item.kind),
            textOrDash(item.description),
            textOrDash(item.confidence),
            Array.isArray(item.tags) ? item.tags.join(', ') : textOrDash(item.tags),
            item.reference ? h('span', { class: 'break', text: item.reference }) : '—',
            time(item.first_seen),
            time(item.last_seen),
            time(item.expires_at),
          ];
        }),
        { empty: filterText ? 'No indicator matches the search.' : 'The watchlist has no indicator.', caption: 'Indicators' },
      ));
      const total = page.total || 0;
      pageText.textContent = `${total === 0 ? 0 : offset + 1}–${offset + rows.length} of ${total}`;
      prev.disabled = offset === 0;
      next.disabled = offset + rows.length >= total;
      updateButtons();
    } catch (error) {
      showError(indicatorForm, error);
    }
  }

  indicatorForm.addEventListener('submit', (event) => {
    event.preventDefault();
    filterText = search.value.trim();
    offset = 0;
    loadIndicators();
  });
  prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE_SIZE); loadIndicators(); });
  next.addEventListener('click', () => { offset += PAGE_SIZE; loadIndicators(); });
  removeButton.addEventListener('click', async () => {
    const list = [...selected];
    if (!window.confirm(`Remove ${list.length} indicator${list.length === 1 ? '' : 's'} from ${name}?`)) return;
    try {
      const result = await del(`/watchlists/${segment(name)}/indicators`, { values: list });
      toast(`Removed ${result ? result.changed : list.length} of ${list.length} indicator${list.length === 1 ? '' : 's'}.`);
      selected.clear();
      loadIndicators();
      loadHistory();
    } catch (error) {
      showError(indicatorForm, error);
    }
  });
  expireButton.addEventListener('click', async () => {
    const list = [...selected];
    try {
      const result = await post(`/watchlists/${segment(name)}/indicators/expire`, { values: list, at: null });
      toast(`Expired ${result ? result.changed : list.length} of ${list.length} indicator${list.length === 1 ? '' : 's'}.`);
      selected.clear();
      loadIndicators();
      loadHistory();
    } catch (error) {
      showError(indicatorForm, error);
    }
  });

  // History.
  const historyBox = h('div');
  async function loadHistory() {
    try {
      const data = await get(`/watchlists/${segment(name)}/history${query({ limit: HISTORY_LIMIT })}`);
      if (!ctx.isCurrent()) return;
      const entries = itemsOf(data);
      const more = (data.total || 0) > entries.length
        ? h('p', { class: 'muted' }, `The latest ${entries.length} of ${data.total} changes; `,
          h('a', { href: `/admin/audit?target=${encodeURIComponent(`watchlist:${name}`)}`, text: 'the audit trail' }), ' has all of them.')
        : null;
      replace(historyBox, auditTable(entries, 'No change recorded yet.'), more);
    } catch (error) {
      replace(historyBox, h('p', { class: 'error-box', text: error.message }));
    }
  }

  replace(ctx.main,
    h('p', null, h('a', { href: '/watchlists', text: '← Watchlists' })),
    h('h1', { text: `Watchlist ${name}` }),
    h('div', { class: 'toolbar' },
      severity(watchlist.severity || 'auto'),
      h('span', null, 'Indicators ', h('strong', { text: textOrDash(watchlist.indicators) })),
      h('span', null, 'Expired ', h('strong', { text: textOrDash(watchlist.expired) })),
      h('span', null, 'Created ', time(watchlist.created_at)),
      h('span', null, 'Last update ', time(watchlist.updated_at))),
    panel('Settings', settingsForm),
    admin ? h('div', { class: 'grid-2' }, panel('Upload a file', uploadForm), panel('Add indicators', addForm)) : null,
    panel('Indicators', indicatorForm, selectionActions, indicatorTable, h('nav', { class: 'pager', 'aria-label': 'Indicator pages' }, prev, next, pageText)),
    panel('History of changes', historyBox));

  await Promise.all([loadIndicators(), loadHistory()]);
}

/** Builds a table of audit entries (`{at, actor, action, target, before, after}`). */
export function auditTable(entries, emptyText) {
  const short = (value) => {
    if (value === null || value === undefined) return '';
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return h('span', { class: 'mono break', title: text, text: text.length > 160 ? `${text.slice(0, 160)}…` : text });
  };
  return table(['When', 'Who', 'Action', 'Target', 'Before', 'After'], entries.map((entry) => [
    time(entry.at), textOrDash(entry.actor), textOrDash(entry.action),
    h('span', { class: 'mono break', text: textOrDash(entry.target) }), short(entry.before), short(entry.after),
  ]), { empty: emptyText, caption: 'Changes' });
}

export async function renderAllowlist(ctx) {
  const admin = isAdmin(ctx);
  const entries = itemsOf(await get('/allowlist'));
  if (!ctx.isCurrent()) return;

  const rows = entries.map((entry) => {
    const value = entry.value ?? entry.original;
    const removeButton = admin ? h('button', { type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove ${value} from the allowlist` }) : null;
    if (removeButton) {
      removeButton.addEventListener('click', async () => {
        if (!window.confirm(`Remove ${value} from the allowlist? It can raise alerts again.`)) return;
        try {
          await del(`/allowlist/${segment(value)}`);
          toast(`${value} removed from the allowlist.`);
          ctx.navigate('/allowlist', { replace: true });
        } catch (error) {
          toast(error.message);
        }
      });
    }
    return [
      h('span', { class: 'mono break', text: value }),
      entry.original && entry.original !== value ? h('span', { class: 'mono break', text: entry.original }) : '—',
      textOrDash(entry.comment),
      textOrDash(entry.added_by ?? entry.actor),
      time(entry.added_at ?? entry.created_at),
      removeButton || '',
    ];
  });

  let addPanel = null;
  if (admin) {
    const value = h('input', { type: 'text', size: 30 });
    const comment = h('input', { type: 'text', size: 40 });
    const form = h('form', { 'aria-label': 'Add to the allowlist' },
      h('div', { class: 'form-row' },
        field('Value', value, { name: 'value', hint: 'Address, network, domain (with subdomains), URL, hash; defanged or not.' }),
        field('Reason', comment, { name: 'comment' }),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Add to allowlist' }))),
      formError());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      if (!value.value.trim()) {
        showError(form, { field: 'value', message: 'Enter the value to allow.' });
        return;
      }
      try {
        await post('/allowlist', { value: value.value.trim(), comment: comment.value.trim() || null });
        toast(`${value.value.trim()} added to the allowlist.`);
        ctx.navigate('/allowlist', { replace: true });
      } catch (error) {
        if (error instanceof ApiError && !error.field && error.status === 400) error.field = 'value';
        showError(form, error);
      }
    });
    addPanel = panel('Add a value', form);
  }

  replace(ctx.main,
    h('h1', { text: 'Allowlist' }),
    h('p', { class: 'muted', text: 'Values on the allowlist never raise alerts, whichever watchlist lists them.' }),
    addPanel,
    h('div', { class: 'panel' }, table(['Value', 'As written', 'Reason', 'Added by', 'Added', ''], rows, { empty: 'The allowlist is empty.', caption: 'Allowlist' })));
}
