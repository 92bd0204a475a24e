// batches.csv: one row per fault batch, in the uvm-eval per-batch log's field order, so that
// tool's analysis scripts read it unchanged.
import { closeSync, openSync, writeSync } from 'node:fs';
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

/** The header line of batches.csv (no line terminator). */
const HEADER = BATCH_FIELDS.map(csvField).join(',');

/**
 * batches.csv: the header line (BATCH_FIELDS), then one line per BatchRecord in the order of
 * `results.batches`. Lines end with LF (RFC 4180 allows readers to accept it; pandas and
 * Python's csv do), including the last one.
 */
export function batchesCsv(results: RunResults): string {
  const lines = [HEADER];
  for (const b of results.batches) lines.push(batchRow(b));
  return lines.join('\n') + '\n';
}

/** Rows a BatchCsvStream holds before it writes them out. */
const STREAM_ROWS = 4096;

/**
 * batches.csv written while the run goes (SimMachine.batchRecords): a row per batch as it
 * finishes, so a run of millions of batches writes them all while holding at most STREAM_ROWS.
 * Rows are in the order the batches finished (with several devices, not quite start-time
 * order); `hetmem run --out` keeps this file only when results.json could not keep every record
 * (RunResults.batchSummary.kept < count), and otherwise writes `batchesCsv` (sorted) over it.
 * @throws Error from the file system (the caller names the file)
 */
export class BatchCsvStream {
  private readonly fd: number;
  private rows: string[] = [];
  /** Rows written or waiting. */
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, HEADER + '\n');
  }

  /** Appends the row of a finished batch. */
  row(b: BatchRecord): void {
    this.rows.push(batchRow(b));
    this.count++;
    if (this.rows.length >= STREAM_ROWS) this.flush();
  }

  private flush(): void {
    if (this.rows.length === 0) return;
    writeSync(this.fd, this.rows.join('\n') + '\n');
    this.rows = [];
  }

  /** Writes what is left and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
