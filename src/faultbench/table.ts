// The terminal output of `hetmem faultbench`: a header naming the profiles, then one table per
// measure with the profiles as columns. An n/a cell reads "n/a [k]" and a qualified number
// "123 [k]"; footnote k under the table says why. Deterministic text, no locale.
import { formatColumns, trimFixed } from '../report/format.ts';
import { MEASURE_IDS, type Cell, type FaultbenchResults, type MeasureTable } from './types.ts';

/** A number for a table cell: thousands separators from 1,000 up, else ≤ 4 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return (v < 0 ? '-' : '') + String(Math.round(a)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (a === 0) return '0';
  return trimFixed(Number(v.toPrecision(4)), 6);
}

/** Footnotes of one table: note text → number (1-based, in order of first use, row by row). */
export function footnotes(t: MeasureTable, profiles: readonly string[]): Map<string, number> {
  const notes = new Map<string, number>();
  for (const r of t.rows) {
    for (const p of profiles) {
      const n = r.cells[p]?.note;
      if (n !== undefined && !notes.has(n)) notes.set(n, notes.size + 1);
    }
  }
  return notes;
}

/** The text of one cell given the table's footnotes. */
export function cellText(c: Cell | undefined, notes: ReadonlyMap<string, number>): string {
  if (!c) return '-';
  const mark = c.note !== undefined ? ` [${notes.get(c.note)}]` : '';
  return (c.value === null ? 'n/a' : formatValue(c.value)) + mark;
}

/** One measure as an aligned text table with its footnotes, numbered as in the issue (1 latency … 6 drivers). */
export function measureText(t: MeasureTable, profiles: readonly string[]): string {
  const index = MEASURE_IDS.indexOf(t.id) + 1;
  const notes = footnotes(t, profiles);
  const head = ['case', 'unit', ...profiles];
  const body = t.rows.map((r) => [r.label, r.unit, ...profiles.map((p) => cellText(r.cells[p], notes))]);
  const lines = [
    `${index}. ${t.title}`,
    `   ${t.meaning}`,
    '',
    formatColumns([head, ...body], ['left', 'left', ...profiles.map(() => 'right' as const)], '   '),
  ];
  if (notes.size > 0) {
    lines.push('');
    for (const [text, k] of notes) lines.push(`   [${k}] ${text}`);
  }
  return lines.join('\n');
}

/** The whole terminal output. */
export function faultbenchText(r: FaultbenchResults): string {
  const info = formatColumns(r.profiles.map((p) => {
    const i = r.profileInfo[p];
    return [p, i.driver, i.link, i.peer ? `peer ${i.peer}` : 'no peer link'];
  }), [], '   ');
  return [
    `hetmem faultbench: ${r.profiles.length} profile${r.profiles.length === 1 ? '' : 's'}, seed ${r.seed}${r.quick ? ', quick run' : ''}`,
    '',
    info,
    '',
    ...r.measures.map((t) => measureText(t, r.profiles) + '\n'),
  ].join('\n');
}
