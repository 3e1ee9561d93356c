// Exposure check: paste indicators in any mix, defanged or not, and see
// which are on a watchlist and which were seen in stored alerts.

import { post } from './api.js';
import { h, replace, field, formError, clearErrors, showError, time, table, panel } from './dom.js';

// The service checks at most 1000 values per request.
const MAX_VALUES = 1000;

/** Splits pasted text into values: one per line, also split at commas, semicolons and spaces. */
export function splitPasted(text) {
  return text.split(/[\s,;]+/).map((value) => value.trim()).filter(Boolean);
}

export async function renderExposure(ctx) {
  const values = h('textarea', { rows: 8, placeholder: '198.51.100[.]23\nhxxps://evil.example/x\n44d88612fea8a8f36de82e1278abb02f' });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { 'aria-label': 'Exposure check' },
    field('Indicators', values, { name: 'values', hint: 'Addresses, networks, domains, URLs, hashes, e-mail addresses; defanged or not, one or more per line.' }),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Check' })));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    replace(results);
    const list = splitPasted(values.value);
    if (list.length === 0) {
      showError(form, { field: 'values', message: 'Paste at least one indicator.' });
      return;
    }
    if (list.length > MAX_VALUES) {
      showError(form, { field: 'values', message: `Paste at most ${MAX_VALUES} values at once; this text has ${list.length}.` });
      return;
    }
    try {
      const data = await post('/search', { values: list });
      if (!ctx.isCurrent()) return;
      replace(results, renderResults(data.results || []));
    } catch (error) {
      showError(form, error);
    }
  });

  replace(ctx.main, h('h1', { text: 'Exposure check' }), panel('Values to check', form), results);
  values.focus();
}

function renderResults(rows) {
  const listed = rows.filter((r) => (r.matches || []).length > 0).length;
  const seen = rows.filter((r) => r.seen && r.seen.alerts > 0).length;
  const invalid = rows.filter((r) => r.error).length;
  return panel('Results',
    h('p', { class: 'exposure-summary', text: `${rows.length} checked: ${listed} on a watchlist, ${seen} seen in alerts, ${invalid} not understood.` }),
    table(['Input', 'Normalised', 'Kind', 'On watchlists', 'Seen in alerts'], rows.map((row) => [
      h('span', { class: 'mono break', text: row.input }),
      row.error ? h('span', { class: 'form-error', text: row.error }) : h('span', { class: 'mono break', text: row.normalized || '' }),
      row.kind || '—',
      (row.matches || []).length
        ? h('ul', null, row.matches.map((m) => h('li', null,
          h('a', { href: `/watchlists/${encodeURIComponent(m.watchlist)}`, text: m.watchlist }),
          m.indicator && m.indicator !== row.normalized ? h('span', { class: 'mono', text: ` as ${m.indicator}` }) : null,
          m.description ? ` — ${m.description}` : null,
          m.confidence !== undefined && m.confidence !== null ? ` (confidence ${m.confidence})` : null)))
        : h('span', { class: 'muted', text: row.error ? '—' : 'not listed' }),
      row.seen && row.seen.alerts > 0
        ? h('div', null,
          h('a', { href: `/alerts?status=all&indicator=${encodeURIComponent(row.normalized || row.input)}`, text: `${row.seen.alerts} alert${row.seen.alerts === 1 ? '' : 's'}` }),
          ', last ', time(row.seen.last_seen),
          (row.seen.alert_ids || []).length
            ? h('div', { class: 'mono' }, row.seen.alert_ids.slice(0, 5).map((id, index) => [
              index ? ' ' : null, h('a', { href: `/alerts/${encodeURIComponent(id)}`, text: id.slice(0, 8) })]))
            : null)
        : h('span', { class: 'muted', text: row.error ? '—' : 'not seen' }),
    ]), { caption: 'Exposure check results' }));
}
