// DOM helpers shared by the views: element construction, time display,
// form fields with labels and error slots, and API errors next to fields.

let nextId = 0;

/** Returns a document-unique id with the given prefix. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * Creates an element. `attrs` keys: `class`, `text`, `on<event>` handlers,
 * `dataset` (an object), booleans (set when true), anything else as an
 * attribute. Children may be nodes, strings, numbers, arrays or null.
 */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** Formats an RFC 3339 time as `YYYY-MM-DD HH:MM:SS UTC`. */
export function utcText(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}

/** Builds a `<time>` showing UTC, with the browser's local time in its title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('span', { text: String(iso) });
  return h('time', {
    datetime: date.toISOString(),
    title: `Local time: ${date.toLocaleString()}`,
    class: 'nowrap',
    text: utcText(iso),
  });
}

/** Severity badge. */
export function severity(value) {
  const name = value || 'unknown';
  return h('span', { class: `badge sev-${name}`, text: name });
}

/** Status badge; closed alerts also show their resolution. */
export function status(value, resolution) {
  const label = resolution && value === 'closed' ? `closed: ${resolution}` : value || 'unknown';
  return h('span', { class: `badge status-${value}`, text: label });
}

/**
 * Wraps an input, select or textarea in a labelled form field. The control
 * gets an id, `name` and an error slot that `showError` fills when the API
 * names the field.
 */
export function field(label, control, options = {}) {
  const id = options.id || uid('f');
  control.id = id;
  if (options.name) control.name = options.name;
  const errorId = `${id}-error`;
  const hintId = options.hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const wrap = h('div', { class: options.inline ? 'field-inline' : 'field', dataset: { field: options.name || '' } });
  const labelEl = h('label', { for: id, text: label });
  if (options.inline) wrap.append(control, labelEl);
  else wrap.append(labelEl, control);
  if (hintId) wrap.append(h('p', { class: 'hint', id: hintId, text: options.hint }));
  wrap.append(h('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' }));
  return wrap;
}

/** Builds a `<select>` with the given `[value, label]` options. */
export function select(options, selected) {
  return h('select', null, options.map(([value, label]) =>
    h('option', { value, selected: value === selected, text: label })));
}

/** Clears the error messages of a form. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll('.field-error, .form-error')) slot.textContent = '';
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/**
 * Shows an API error in `form`: next to the field it names when the form
 * has that field (`values[3]` and `settings.ttl` fall back to `values` and
 * `settings`), otherwise in the form's general error slot.
 */
export function showError(form, error) {
  let slot = null;
  if (error.field) {
    const candidates = [error.field, error.field.replace(/\[.*$/, ''), error.field.replace(/\..*$/, '')];
    for (const name of candidates) {
      const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (wrap) {
        slot = wrap.querySelector('.field-error');
        const control = wrap.querySelector('input, select, textarea');
        if (control) {
          control.setAttribute('aria-invalid', 'true');
          control.focus();
        }
        break;
      }
    }
  }
  if (!slot) slot = form.querySelector('.form-error');
  if (!slot) {
    slot = h('p', { class: 'form-error', role: 'alert' });
    form.append(slot);
  }
  slot.textContent = error.message;
}

/** Builds a form's general error slot. */
export function formError() {
  return h('p', { class: 'form-error', role: 'alert' });
}

/** Shows a short message in the corner for a few seconds. */
export function toast(message) {
  const box = document.querySelector('.toast');
  if (!box) return;
  const line = h('p', { text: message });
  box.append(line);
  setTimeout(() => line.remove(), 6000);
}

/** Builds a table with a header row. Each row is an array of cells: nodes, text or `num()` cells. */
export function table(headers, rows, options = {}) {
  const head = h('thead', null, h('tr', null, headers.map((header) => {
    const [label, cls] = Array.isArray(header) ? header : [header, null];
    return h('th', { scope: 'col', class: cls, text: label });
  })));
  const body = h('tbody', null, rows.map((cells) => h('tr', null, cells.map((cell) => {
    if (cell && cell.td) return h('td', { class: cell.class }, cell.td);
    return h('td', null, cell);
  }))));
  if (rows.length === 0 && options.empty) return h('p', { class: 'empty', text: options.empty });
  const tableEl = h('table', null, options.caption ? h('caption', { class: 'visually-hidden', text: options.caption }) : null, head, body);
  return h('div', { class: 'table-wrap' }, tableEl);
}

/** Returns a right-aligned number cell for `table`. */
export function num(value) {
  return { td: value === null || value === undefined ? '—' : String(value), class: 'num' };
}

/** Copies text to the clipboard, falling back to a selection when the API is missing. */
export async function copyText(text, fallbackEl) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackEl) {
      const range = document.createRange();
      range.selectNodeContents(fallbackEl);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      return document.execCommand && document.execCommand('copy');
    }
    return false;
  }
}

/** Converts an `<input type="datetime-local">` value read as UTC to RFC 3339. */
export function localInputToUtc(value) {
  if (!value) return '';
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`;
}

/** Converts RFC 3339 to an `<input type="datetime-local">` value in UTC. */
export function utcToLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toISOString().slice(0, 16);
}

/** Builds a section with a heading. */
export function panel(title, ...children) {
  const headingId = uid('h');
  return h('section', { class: 'panel', 'aria-labelledby': headingId }, h('h2', { id: headingId, text: title }), children);
}
