// Dashboard: alerts over time, open alerts by severity, top indicators and
// hosts, and the state of every source and sink. Refreshed every 30 s.

import { get, query } from './api.js';
import { h, replace, field, select, time, table, num, panel } from './dom.js';
import { barChart } from './chart.js';

const REFRESH_MS = 30000;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

function rate(value) {
  if (typeof value !== 'number') return '—';
  return value >= 10 ? value.toFixed(0) : value.toFixed(2);
}

export async function renderDashboard(ctx) {
  const hoursParam = Number.parseInt(ctx.query.get('hours') || '24', 10);
  const hours = [24, 72, 168].includes(hoursParam) ? hoursParam : 24;

  const range = select([['24', 'last 24 hours'], ['72', 'last 3 days'], ['168', 'last 7 days']], String(hours));
  range.addEventListener('change', () => ctx.navigate(`/dashboard?hours=${range.value}`, { replace: true }));
  const updated = h('span', { class: 'muted', 'aria-live': 'polite' });
  const body = h('div');
  replace(ctx.main, h('h1', { text: 'Dashboard' }),
    h('div', { class: 'toolbar' }, field('Time range', range, { name: 'hours' }), updated), body);

  async function load() {
    const data = await get(`/dashboard${query({ hours })}`);
    if (!ctx.isCurrent()) return;
    const open = data.open_by_severity || {};
    const sources = data.sources || [];
    const sinks = data.sinks || [];
    const openTotal = SEVERITIES.reduce((sum, s) => sum + (open[s] || 0), 0);

    replace(body,
      h('div', { class: 'grid-2' },
        panel(`Alerts per hour, ${range.selectedOptions[0].textContent}`, barChart(data.alerts_over_time || [], 'Alerts per hour')),
        panel(`Open alerts (${openTotal})`, h('div', { class: 'stats' }, SEVERITIES.map((s) => h('a', {
          class: 'stat', href: `/alerts?min_severity=${s}`,
        }, h('div', { class: `value sev-${s === 'critical' ? 'high' : s}`, text: open[s] || 0 }), h('div', { class: 'label', text: s })))))),
      h('div', { class: 'grid-2' },
        panel('Top indicators', table(['Indicator', 'Watchlist', ['Alerts', 'num']], (data.top_indicators || []).map((row) => [
          h('a', { href: `/alerts?status=all&indicator=${encodeURIComponent(row.indicator)}`, class: 'mono break', text: row.indicator }),
          row.watchlist || '—', num(row.alerts),
        ]), { empty: 'No alert in this time range.' })),
        panel('Top internal hosts', table(['Host', ['Alerts', 'num']], (data.top_hosts || []).map((row) => [
          h('a', { href: `/alerts?status=all&host=${encodeURIComponent(row.host)}`, class: 'mono', text: row.host }),
          num(row.alerts),
        ]), { empty: 'No alert in this time range.' }))),
      h('div', { class: 'grid-2' },
        panel('Sources', table(['Name', 'Type', ['Events/s', 'num'], ['Lines', 'num'], 'Last event'], sources.map((s) => [
          s.name, s.type, num(rate(s.events_per_second)), num(s.lines), time(s.last_line),
        ]), { empty: 'No source is configured.' })),
        panel('Sinks', table(['Name', 'Type', 'Status', ['Queued', 'num'], 'Oldest queued', ['Delivered', 'num'], ['Failed', 'num'], 'Last delivery', 'Last error'], sinks.map((s) => [
          s.name, s.type, s.status || '—', num(s.queue_depth), time(s.queue_oldest), num(s.delivered), num(s.failed),
          time(s.last_delivery), s.last_error ? h('span', { class: 'break', text: s.last_error }) : '—',
        ]), { empty: 'No sink is configured.' }))));
    updated.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshes every ${REFRESH_MS / 1000} s`;
  }

  await load();
  const timer = setInterval(() => {
    load().catch((error) => { updated.textContent = `Refresh failed: ${error.message}`; });
  }, REFRESH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}
