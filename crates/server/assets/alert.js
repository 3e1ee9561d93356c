// Alert detail: the event as seen, what the intelligence reports, the host,
// related alerts, the sightings timeline, next steps, and triage (status,
// assignment, comments, allowlisting a false positive).

import { ApiError, get, post, segment } from './api.js';
import {
  h, replace, field, select, time, severity, status, formError, clearErrors, showError, toast,
  table, panel, copyText,
} from './dom.js';
import { timelineChart } from './chart.js';

/** Next statuses offered from each status. */
const TRANSITIONS = {
  new: ['acknowledged', 'investigating', 'closed'],
  acknowledged: ['investigating', 'closed'],
  investigating: ['closed'],
  closed: ['new'],
};

const ACTION_LABELS = {
  acknowledged: 'Acknowledge',
  investigating: 'Start investigating',
  closed: 'Close…',
  new: 'Reopen',
};

/** Flattens a nested ECS document into `[dotted.name, value]` pairs. */
export function flatten(value, prefix = '', out = []) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      flatten(child, prefix ? `${prefix}.${key}` : key, out);
    }
  } else if (Array.isArray(value) && value.some((item) => item !== null && typeof item === 'object')) {
    value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, out));
  } else {
    out.push([prefix, value]);
  }
  return out;
}

/** Reads `a.b.c` from a nested object, also accepting a literal dotted key. */
function pick(object, path) {
  if (!object) return undefined;
  if (Object.prototype.hasOwnProperty.call(object, path)) return object[path];
  let current = object;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = current[part];
  }
  return current;
}

function valueText(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function safeLink(url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
      return h('a', { href: parsed.href, target: '_blank', rel: 'noopener noreferrer', class: 'break', text: url });
    }
  } catch {
    // Not a URL: shown as text below.
  }
  return h('span', { class: 'break', text: url });
}

function props(pairs) {
  return h('dl', { class: 'props' }, pairs
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([label, value]) => [h('dt', { text: label }), h('dd', null, value instanceof Node ? value : valueText(value))]));
}

function summaryTable(items, emptyText) {
  return table(['Severity', 'Status', 'Alert', 'Indicator', 'Host', 'Last seen'], items.map((item) => [
    severity(item.severity),
    status(item.status, item.resolution),
    h('a', { href: `/alerts/${encodeURIComponent(item.id)}`, text: item.title || item.short_id }),
    h('span', { class: 'mono break', text: item.indicator || '' }),
    h('span', { class: 'mono', text: item.internal_host || '—' }),
    time(item.last_seen),
  ]), { empty: emptyText });
}

function enrichmentPanel(enrichment, index) {
  const indicator = pick(enrichment, 'indicator') || {};
  const matched = pick(enrichment, 'matched') || {};
  const feed = pick(enrichment, 'feed') || {};
  const own = pick(enrichment, 'iocwatch') || {};
  const tags = pick(indicator, 'tags');
  const confidence = pick(indicator, 'confidence');
  const numeric = pick(own, 'confidence');
  const reference = pick(indicator, 'reference');
  return h('div', { class: 'step' },
    h('h3', { text: `Indicator ${index + 1}: ${valueText(pick(matched, 'atomic'))}` }),
    props([
      ['Watchlist (feed)', pick(feed, 'name')],
      ['Matched value', h('span', { class: 'mono break', text: valueText(pick(matched, 'atomic')) })],
      ['Seen in field', h('code', { text: valueText(pick(matched, 'field')) })],
      ['Indicator type', pick(indicator, 'type')],
      ['Listed as', own.original ? h('span', { class: 'mono break', text: own.original }) : undefined],
      ['Description', pick(indicator, 'description')],
      ['Reference', reference ? safeLink(reference) : undefined],
      ['Confidence', confidence !== undefined ? `${confidence}${numeric !== undefined ? ` (${numeric}/100)` : ''}` : numeric],
      ['Tags', Array.isArray(tags) ? tags.join(', ') : tags],
      ['Provider', pick(indicator, 'provider')],
      ['TLP', pick(indicator, 'marking.tlp')],
      ['Malware', own.malware],
      ['First seen', pick(indicator, 'first_seen') ? time(pick(indicator, 'first_seen')) : undefined],
      ['Last seen', pick(indicator, 'last_seen') ? time(pick(indicator, 'last_seen')) : undefined],
      ['Source line', own.source],
    ]));
}

function nextStepsPanel(steps) {
  if (!steps || steps.length === 0) return panel('Recommended response', h('p', { class: 'muted', text: 'No recommended steps for this kind of indicator.' }));
  return panel('Recommended response', steps.map((step) => {
    const code = step.command ? h('pre', { class: 'mono', text: step.command }) : null;
    const copyButton = step.command ? h('button', {
      type: 'button',
      class: 'small',
      text: 'Copy',
      'aria-label': `Copy the commands for: ${step.title}`,
    }) : null;
    if (copyButton) {
      copyButton.addEventListener('click', async () => {
        const copied = await copyText(step.command, code);
        copyButton.textContent = copied ? 'Copied' : 'Selected: press Ctrl+C';
        setTimeout(() => { copyButton.textContent = 'Copy'; }, 2500);
      });
    }
    return h('div', { class: 'step' },
      h('h3', { text: step.title }),
      step.detail ? h('p', { text: step.detail }) : null,
      code ? h('div', { class: 'command' }, code, copyButton) : null);
  }));
}

export async function renderAlert(ctx) {
  const [id] = ctx.params;
  const data = await get(`/alerts/${segment(id)}`);
  if (!ctx.isCurrent()) return;

  const { alert, document: doc = {}, history = [], comments = [], related = {}, sightings = [] } = data;
  const nextSteps = data.next_steps || [];
  ctx.setTitle(`Alert ${alert.short_id}`);
  const enrichments = pick(doc, 'threat.enrichments') || [];
  const matchedValue = alert.indicator || (enrichments[0] ? valueText(pick(enrichments[0], 'matched.atomic')) : '');
  const canTriage = ctx.session.user.role === 'analyst' || ctx.session.user.role === 'admin';
  const isAdmin = ctx.session.user.role === 'admin';

  // Header.
  const header = h('div', { class: 'panel' },
    h('p', null, h('a', { href: '/alerts', text: '← Alert queue' })),
    h('h1', null, alert.title || `Alert ${alert.short_id}`),
    h('div', { class: 'toolbar' },
      severity(alert.severity), status(alert.status, alert.resolution),
      h('span', { class: 'mono', text: `id ${alert.short_id}` }),
      h('span', null, 'Watchlist ', h('strong', { text: alert.watchlist || '—' })),
      h('span', null, 'Sightings ', h('strong', { text: alert.count })),
      h('span', null, 'First seen ', time(alert.first_seen)),
      h('span', null, 'Last seen ', time(alert.last_seen)),
      h('span', null, 'Assignee ', h('strong', { text: alert.assignee || 'nobody' }))));

  // Event as seen.
  const original = pick(doc, 'event.original');
  const parsed = flatten(doc).filter(([name]) => !name.startsWith('threat.enrichments')
    && name !== 'event.original' && !name.startsWith('iocwatch.next_steps'));
  const eventPanel = panel('Event as seen',
    h('h3', { text: 'Raw line (event.original)' }),
    original ? h('pre', { class: 'raw-line', text: original }) : h('p', { class: 'muted', text: 'The source did not keep the raw line.' }),
    h('h3', { text: 'Parsed fields' }),
    table(['Field', 'Value'], parsed.map(([name, value]) => [
      h('code', { text: name }), h('span', { class: 'mono break', text: valueText(value) }),
    ]), { caption: 'Parsed fields of the event' }));

  const intelPanel = panel('What the intelligence says',
    enrichments.length ? enrichments.map(enrichmentPanel) : h('p', { class: 'muted', text: 'The alert document has no enrichment.' }));

  const hostPanel = panel('Internal host and direction', props([
    ['Internal host', h('span', { class: 'mono', text: alert.internal_host || 'none (no address in the home networks)' })],
    ['Direction', alert.direction || pick(doc, 'iocwatch.direction') || '—'],
    ['Source', [pick(doc, 'source.ip'), pick(doc, 'source.port')].filter((v) => v !== undefined).join(' port ') || undefined],
    ['Destination', [pick(doc, 'destination.ip'), pick(doc, 'destination.port')].filter((v) => v !== undefined).join(' port ') || undefined],
    ['Dataset', pick(doc, 'event.dataset')],
    ['Log file', pick(doc, 'log.file.path')],
    ['Byte offset', pick(doc, 'log.offset')],
    ['Event time', pick(doc, '@timestamp') ? time(pick(doc, '@timestamp')) : undefined],
  ]));

  const timelinePanel = panel(`Sightings (${alert.count})`,
    sightings.length ? timelineChart(sightings.map((s) => s.at), alert.first_seen, alert.last_seen) : null,
    sightings.length
      ? h('details', null, h('summary', { text: `Sighting times (${sightings.length === 100 ? 'latest 100' : sightings.length})` }),
        h('ul', null, sightings.map((s) => h('li', null, time(s.at)))))
      : h('p', { class: 'muted', text: 'No sighting times are stored.' }));

  const relatedPanel = panel('Related alerts',
    h('h3', { text: `Same internal host (${alert.internal_host || '—'})` }),
    summaryTable(related.same_host || [], 'No other alert for this host.'),
    h('h3', { class: 'spaced', text: `Same indicator (${matchedValue})` }),
    summaryTable(related.same_indicator || [], 'No other alert for this indicator.'));

  const historyPanel = panel('History', history.length ? h('ol', { class: 'history' }, history.map((entry) => h('li', null,
    time(entry.at), ' ', h('strong', { text: entry.actor }), `: ${entry.from || 'created'} → ${entry.to}`,
    entry.resolution ? ` (${entry.resolution})` : null,
    entry.comment ? h('div', { class: 'muted', text: entry.comment }) : null))) : h('p', { class: 'muted', text: 'No status change yet.' }));

  const commentList = h('div', null, comments.length ? comments.map((c) => h('div', { class: 'step' },
    h('p', { class: 'muted' }, h('strong', { text: c.author }), ' · ', time(c.at)),
    h('p', { class: 'comment-text', text: c.text }))) : h('p', { class: 'muted', text: 'No comment yet.' }));

  const triage = canTriage ? triagePanel(ctx, alert, matchedValue, isAdmin) : panel('Triage', h('p', { class: 'muted', text: 'Your role can read alerts but not change them.' }));
  const commentPanel = panel('Comments', commentList, canTriage ? commentForm(ctx, alert) : null);

  replace(ctx.main,
    header,
    h('div', { class: 'detail-layout' },
      // The intelligence and the response come first, then the evidence.
      h('div', null, intelPanel, nextStepsPanel(nextSteps), eventPanel, relatedPanel),
      h('div', null, triage, hostPanel, timelinePanel, commentPanel, historyPanel)));
}

function reload(ctx) {
  ctx.navigate(location.pathname, { replace: true });
}

function triagePanel(ctx, alert, matchedValue, isAdmin) {
  const statusButtons = (TRANSITIONS[alert.status] || []).map((target) => {
    const button = h('button', { type: 'button', class: target === 'closed' ? 'primary' : null, text: ACTION_LABELS[target] });
    button.dataset.status = target;
    return button;
  });
  const statusError = formError();

  // Close form.
  const resolution = select([
    ['', 'choose…'], ['true-positive', 'true positive'], ['false-positive', 'false positive'], ['benign', 'benign'],
  ], '');
  const comment = h('textarea', { rows: 3 });
  const allowBox = h('input', { type: 'checkbox', checked: true });
  const allowComment = h('input', { type: 'text', size: 30 });
  const allowFields = h('div', { hidden: true, class: 'panel' },
    field(`Add ${matchedValue} to the allowlist`, allowBox, { name: 'allowlist', inline: true,
      hint: isAdmin ? 'Values on the allowlist never raise alerts again.' : 'Only administrators can change the allowlist.' }),
    field('Allowlist comment', allowComment, { name: 'allowlist_comment' }));
  if (!isAdmin) allowBox.checked = false;
  if (!isAdmin) allowBox.disabled = true;
  const closeForm = h('form', { hidden: true, 'aria-label': 'Close the alert' },
    field('Resolution', resolution, { name: 'resolution' }),
    allowFields,
    field('Comment', comment, { name: 'comment', hint: 'Why the alert is closed; required.' }),
    formError(),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary', text: 'Close alert' }),
      h('button', { type: 'button', text: 'Cancel', onclick: () => { closeForm.hidden = true; } })));

  resolution.addEventListener('change', () => {
    allowFields.hidden = resolution.value !== 'false-positive' || !matchedValue;
  });

  closeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(closeForm);
    if (!resolution.value) {
      showError(closeForm, { field: 'resolution', message: 'Choose a resolution: true positive, false positive or benign.' });
      return;
    }
    if (!comment.value.trim()) {
      showError(closeForm, { field: 'comment', message: 'Write a comment that explains the resolution.' });
      return;
    }
    try {
      await post(`/alerts/${segment(alert.id)}/status`, {
        status: 'closed', resolution: resolution.value, comment: comment.value.trim(),
      });
    } catch (error) {
      showError(closeForm, error);
      return;
    }
    if (resolution.value === 'false-positive' && allowBox.checked && matchedValue) {
      try {
        await post('/allowlist', {
          value: matchedValue,
          comment: allowComment.value.trim() || `False positive, alert ${alert.short_id}: ${comment.value.trim()}`,
        });
        toast(`Closed; ${matchedValue} is now on the allowlist.`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) toast(`Closed; ${matchedValue} was already on the allowlist.`);
        else toast(`The alert is closed, but adding ${matchedValue} to the allowlist failed: ${error.message}`);
      }
    } else {
      toast('Alert closed.');
    }
    reload(ctx);
  });

  for (const button of statusButtons) {
    button.addEventListener('click', async () => {
      const target = button.dataset.status;
      if (target === 'closed') {
        closeForm.hidden = false;
        resolution.focus();
        return;
      }
      statusError.textContent = '';
      try {
        await post(`/alerts/${segment(alert.id)}/status`, { status: target });
        toast(`Alert ${target === 'new' ? 'reopened' : target}.`);
        reload(ctx);
      } catch (error) {
        statusError.textContent = error.message;
      }
    });
  }

  // Assignment.
  const assignee = h('input', { type: 'text', value: alert.assignee || '', size: 16 });
  const assignForm = h('form', { 'aria-label': 'Assign the alert' },
    h('div', { class: 'form-row' },
      field('Assignee', assignee, { name: 'assignee', hint: 'A user name; empty to unassign.' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', text: 'Assign' }),
        h('button', { type: 'button', text: 'Assign to me', onclick: () => { assignee.value = ctx.session.user.name; assignForm.requestSubmit(); } }))),
    formError());
  assignForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(assignForm);
    try {
      await post(`/alerts/${segment(alert.id)}/assign`, { assignee: assignee.value.trim() || null });
      toast(assignee.value.trim() ? `Assigned to ${assignee.value.trim()}.` : 'Unassigned.');
      reload(ctx);
    } catch (error) {
      showError(assignForm, error);
    }
  });

  return panel('Triage',
    h('p', null, 'Status: ', status(alert.status, alert.resolution)),
    h('div', { class: 'actions' }, statusButtons),
    statusError,
    closeForm,
    h('hr'),
    assignForm);
}

function commentForm(ctx, alert) {
  const text = h('textarea', { rows: 3 });
  const form = h('form', { 'aria-label': 'Add a comment' },
    field('New comment', text, { name: 'text' }),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', text: 'Add comment' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!text.value.trim()) {
      showError(form, { field: 'text', message: 'Write the comment first.' });
      return;
    }
    try {
      await post(`/alerts/${segment(alert.id)}/comments`, { text: text.value.trim() });
      toast('Comment added.');
      reload(ctx);
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}
