// Inline SVG charts for the status page: no script, no external asset, a
// <title> that says in words what the chart shows (hover, screen readers).

export type Outcome = 'ok' | 'failed' | 'dropped' | 'idle';

const W = 120;
const H = 22;
const COLORS: Record<Outcome, string> = { ok: '#2e7d32', failed: '#e65100', dropped: '#b00020', idle: '#c8c8c8' };

function svg(title: string, body: string): string {
  return `<svg class="spark" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><title>${title}</title>${body}</svg>`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/**
 * A line over `values` (oldest first), scaled from their minimum to their
 * maximum (a constant runs along the middle); points
 * where `failed` is true get a red dot. `title` must be escaped HTML.
 */
export function sparkline(values: readonly number[], title: string, failed?: readonly boolean[]): string {
  if (values.length === 0) return svg(`${title}: no data yet`, '');
  const min = Math.min(...values);
  const max = Math.max(...values);
  const step = values.length > 1 ? (W - 4) / (values.length - 1) : 0;
  const y = (v: number): number => (max === min ? H / 2 : H - 2 - ((v - min) / (max - min)) * (H - 4));
  const xy = values.map((v, i) => [2 + i * step, y(v)] as const);
  const line = `<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="${xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;
  const dots = xy.map(([x, y], i) => (failed?.[i] ? `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5" fill="${COLORS.dropped}"/>` : '')).join('');
  const last = values[values.length - 1]!;
  const range = `${title}: last ${fmt(last)}, min ${fmt(min)}, max ${fmt(max)} over ${values.length}`;
  return svg(range, (values.length === 1 ? `<circle cx="${xy[0]![0]}" cy="${xy[0]![1].toFixed(1)}" r="2" fill="#1565c0"/>` : line) + dots);
}

/** One bar per interval, coloured by what happened in it. */
export function outcomeStrip(outcomes: readonly Outcome[], title: string): string {
  if (outcomes.length === 0) return svg(`${title}: no data yet`, '');
  const w = Math.max(1, Math.floor(W / Math.max(outcomes.length, 20)));
  const bars = outcomes.map((o, i) => `<rect x="${i * w}" y="2" width="${Math.max(1, w - 1)}" height="${H - 4}" fill="${COLORS[o]}"/>`).join('');
  const counts = (['ok', 'failed', 'dropped', 'idle'] as const).map((o) => `${outcomes.filter((x) => x === o).length} ${o}`).join(', ');
  return svg(`${title}: ${counts}`, bars);
}
