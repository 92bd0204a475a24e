// batches.csv: one row per fault batch, in the uvm-eval per-batch log's field order, so that
// tool's analysis scripts read it unchanged.
import { BATCH_FIELDS, type BatchRecord, type RunResults } from '../sim/results.ts';

/**
 * One CSV field per RFC 4180: quoted (with inner quotes doubled) only if it contains a comma,
 * a double quote, CR or LF. Numbers are written with String() (integers print plainly).
 */
export function csvField(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (no line terminator) of the given record's fields, in BATCH_FIELDS order. */
function batchRow(b: BatchRecord): string {
  return BATCH_FIELDS.map((f) => csvField(b[f])).join(',');
}

/**
 * batches.csv: the header line (BATCH_FIELDS), then one line per BatchRecord in the order of
 * `results.batches`. Lines end with LF (RFC 4180 allows readers to accept it; pandas and
 * Python's csv do), including the last one.
 */
export function batchesCsv(results: RunResults): string {
  const lines = [BATCH_FIELDS.map(csvField).join(',')];
  for (const b of results.batches) lines.push(batchRow(b));
  return lines.join('\n') + '\n';
}
