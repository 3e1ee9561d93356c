// Charts drawn as SVG: hourly alert counts and a sightings timeline. Every
// bar carries a <title> so its value shows on hover and to screen readers.

import { h, utcText } from './dom.js';

const WIDTH = 720;

/** Picks the axis step (1, 2 or 5 times a power of ten) and the number of grid steps, at most 4, for counts up to `value`. */
function axisScale(value) {
  const raw = Math.max(1, value) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw);
  step = Math.max(1, step);
  const ticks = Math.max(1, Math.ceil(Math.max(1, value) / step));
  return { step, ticks, max: step * ticks };
}

function hourLabel(iso) {
  const date = new Date(iso);
  return `${String(date.getUTCHours()).padStart(2, '0')}:00`;
}

/**
 * Draws a bar chart of `buckets` (`[{at, count}]`, oldest first), with a
 * text summary for screen readers.
 */
export function barChart(buckets, label) {
  const height = 220;
  const left = 40;
  const bottom = 26;
  const top = 10;
  const plotWidth = WIDTH - left - 10;
  const plotHeight = height - top - bottom;
  const highest = Math.max(0, ...buckets.map((b) => b.count));
  const scale = axisScale(highest);
  const { max } = scale;
  const slot = buckets.length ? plotWidth / buckets.length : plotWidth;
  const total = buckets.reduce((sum, b) => sum + b.count, 0);

  const svg = h('svg:svg', {
    class: 'chart', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img',
    'aria-label': `${label}: ${total} alerts in ${buckets.length} hours, at most ${highest} in one hour`,
  });
  for (let i = 0; i <= scale.ticks; i += 1) {
    const y = top + plotHeight - (plotHeight * i) / scale.ticks;
    svg.append(
      h('svg:line', { class: 'grid', x1: left, x2: WIDTH - 10, y1: y, y2: y }),
      h('svg:text', { x: left - 6, y: y + 4, 'text-anchor': 'end', text: String(scale.step * i) }),
    );
  }
  buckets.forEach((bucket, index) => {
    const barHeight = max ? (plotHeight * bucket.count) / max : 0;
    const x = left + index * slot + slot * 0.1;
    const bar = h('svg:rect', {
      class: 'bar', x: x.toFixed(1), y: (top + plotHeight - barHeight).toFixed(1),
      width: Math.max(1, slot * 0.8).toFixed(1), height: barHeight.toFixed(1),
    }, h('svg:title', { text: `${utcText(bucket.at)}: ${bucket.count} alert${bucket.count === 1 ? '' : 's'}` }));
    svg.append(bar);
    const every = Math.max(1, Math.ceil(buckets.length / 12));
    if (index % every === 0) {
      svg.append(h('svg:text', { x: (x + slot * 0.4).toFixed(1), y: height - 8, 'text-anchor': 'middle', text: hourLabel(bucket.at) }));
    }
  });
  svg.append(h('svg:line', { class: 'axis', x1: left, x2: WIDTH - 10, y1: top + plotHeight, y2: top + plotHeight }));
  return svg;
}

/** Draws a strip with one tick per sighting between `first` and `last`. */
export function timelineChart(times, first, last) {
  const width = 360;
  const height = 46;
  const left = 4;
  const right = width - 4;
  const stamps = times.map((t) => new Date(t).getTime()).filter((t) => !Number.isNaN(t));
  const start = Math.min(new Date(first).getTime() || Infinity, ...stamps);
  const end = Math.max(new Date(last).getTime() || -Infinity, ...stamps);
  const span = end - start || 1;
  const svg = h('svg:svg', {
    class: 'chart timeline', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${stamps.length} sightings from ${utcText(start)} to ${utcText(end)}`,
  });
  svg.append(h('svg:line', { class: 'axis', x1: left, x2: right, y1: 20, y2: 20 }));
  for (const stamp of stamps) {
    const x = left + ((stamp - start) / span) * (right - left);
    svg.append(h('svg:rect', { class: 'tick', x: (x - 1).toFixed(1), y: 8, width: 2, height: 24 },
      h('svg:title', { text: utcText(stamp) })));
  }
  svg.append(
    h('svg:text', { x: left, y: height - 2, text: utcText(start) }),
    h('svg:text', { x: right, y: height - 2, 'text-anchor': 'end', text: utcText(end) }),
  );
  return svg;
}
