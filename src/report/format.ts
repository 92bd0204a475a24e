// Small text helpers shared by the terminal tables and the HTML report.

/** Integer with comma thousands separators (locale-independent): 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (!Number.isInteger(n)) return trimFixed(n, 2);
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A fraction as a percentage with one decimal: 0.1234 → "12.3%". */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  return `${trimFixed(fraction * 100, 1)}%`;
}

/** toFixed(digits) with trailing zeros (and a bare trailing dot) removed; never "-0". */
export function trimFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  const t = s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  return t === '-0' ? '0' : t;
}

/**
 * The value at quantile q (0..1) of `values` by the nearest-rank method on a sorted copy;
 * NaN for an empty list.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export type Align = 'left' | 'right';

/**
 * Aligned plain-text columns separated by two spaces; `align[i]` defaults to 'left'. Every
 * line starts with `indent`; trailing spaces are trimmed. Returns lines joined by LF, without
 * a final newline.
 */
export function formatColumns(rows: readonly (readonly string[])[], align: readonly Align[] = [], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => indent + r.map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

/** A relative change as a signed percentage: 0.1234 → "+12.3%", -0.000437 → "-0.044%". */
export function formatSignedPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  const pct = fraction * 100;
  const sign = pct > 0 ? '+' : pct < 0 ? '-' : '';
  const a = Math.abs(pct);
  const text = a === 0 ? '0' : a < 1 ? trimFixed(Number(a.toPrecision(2)), 6) : trimFixed(a, 1);
  return `${sign}${text}%`;
}

const RATE_UNITS = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'] as const;

/** A data rate in decimal SI units, as link bandwidths are quoted: 26.4e9 → "26.4 GB/s". */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond)) return `${bytesPerSecond} B/s`;
  let v = Math.abs(bytesPerSecond);
  let unit = 0;
  while (v >= 1000 && unit < RATE_UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  return `${bytesPerSecond < 0 ? '-' : ''}${trimFixed(v, 2)} ${RATE_UNITS[unit]}`;
}
