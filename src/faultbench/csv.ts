// `--csv DIR`: one file per measure, `faultbench-<measure>.csv`, in long form (one line per row
// and profile) so spreadsheets and plotting scripts can pivot it any way. Columns: row (stable
// key), label (the table's case column), unit, then the row's parameters (the union over the
// measure, in order of first appearance; empty where a row has none), profile, value (empty
// for n/a), note.
// RFC 4180 quoting as in report/csv.ts, LF line ends, trailing newline.
import { csvField } from '../report/csv.ts';
import type { FaultbenchResults, MeasureTable } from './types.ts';

/** The CSV text of one measure. */
export function measureCsv(t: MeasureTable, profiles: readonly string[]): string {
  const params: string[] = [];
  for (const r of t.rows) for (const k of Object.keys(r.params)) if (!params.includes(k)) params.push(k);
  const lines = [['row', 'label', 'unit', ...params, 'profile', 'value', 'note'].map(csvField).join(',')];
  for (const r of t.rows) {
    for (const p of profiles) {
      const c = r.cells[p];
      if (!c) continue;
      lines.push([r.key, r.label, r.unit, ...params.map((k) => r.params[k] ?? ''), p, c.value === null ? '' : c.value, c.note ?? ''].map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** File name → CSV text for every measure of a run. */
export function faultbenchCsvFiles(r: FaultbenchResults): Map<string, string> {
  return new Map(r.measures.map((t) => [`faultbench-${t.id}.csv`, measureCsv(t, r.profiles)]));
}
