// The sweep's results in DuckDB: one row per point (its key, position, parameters as JSON and one
// column per axis, the headline metrics, and the full results JSON), written by the submitting
// process only, each row as its point finishes, so an interrupted sweep keeps every finished
// point. Rows are keyed by the point's content hash and written with INSERT OR REPLACE: a point
// delivered twice (at-least-once queues) leaves one identical row.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { METRICS, type PointResult } from './point.ts';
import type { PointPayload } from './load.ts';

/** Column name of an axis: `p_` + the path with every other character than [A-Za-z0-9] as `_`. */
export function axisColumn(path: string): string {
  return `p_${path.replace(/[^A-Za-z0-9]/g, '_')}`;
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** One stored point, as read back. */
export interface StoredPoint {
  readonly key: string;
  readonly idx: number;
  readonly sweep: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, number>;
  readonly results: string;
}

/** An open sweep database. */
export class SweepStore {
  private constructor(private readonly db: DuckDBInstance, private readonly con: DuckDBConnection, readonly path: string) {}

  /** Opens (creating if needed) the database at `path`. */
  static async open(path: string): Promise<SweepStore> {
    const db = await DuckDBInstance.create(path);
    const con = await db.connect();
    await con.run(`CREATE TABLE IF NOT EXISTS points (
      key VARCHAR PRIMARY KEY, sweep VARCHAR, idx INTEGER, params JSON,
      ${METRICS.map((m) => `${m} DOUBLE`).join(', ')}, results JSON)`);
    await con.run('CREATE TABLE IF NOT EXISTS sweeps (name VARCHAR PRIMARY KEY, description VARCHAR)');
    return new SweepStore(db, con, path);
  }

  /** Records a sweep's name and description (the sweep file's; the report shows them). */
  async putSweep(name: string, description: string | undefined): Promise<void> {
    await this.con.run('INSERT OR REPLACE INTO sweeps (name, description) VALUES ($1, $2)', [name, description ?? null]);
  }

  /** The description recorded for sweep `name`, if any. */
  async sweepDescription(name: string): Promise<string | undefined> {
    const r = await this.con.runAndReadAll('SELECT description FROM sweeps WHERE name = $1', [name]);
    const d = r.getRowObjectsJS()[0]?.description;
    return d === null || d === undefined ? undefined : String(d);
  }

  /** Adds a column per axis (numbers as DOUBLE, anything else as its JSON text or the string). */
  async addAxes(axes: readonly string[], points: readonly PointPayload[]): Promise<void> {
    for (const a of axes) {
      const numeric = points.every((p) => typeof p.params[a] === 'number' || p.params[a] === undefined);
      await this.con.run(`ALTER TABLE points ADD COLUMN IF NOT EXISTS ${quote(axisColumn(a))} ${numeric ? 'DOUBLE' : 'VARCHAR'}`);
    }
  }

  /** Keys of the points already stored. */
  async doneKeys(): Promise<Set<string>> {
    const r = await this.con.runAndReadAll('SELECT key FROM points');
    return new Set(r.getRowObjectsJS().map((o) => String(o.key)));
  }

  /** Stores a finished point (replacing a row with the same key). */
  async put(sweep: string, p: PointPayload, r: PointResult): Promise<void> {
    if (p.key !== r.key) throw new Error(`result for point ${r.key} stored as ${p.key}`);
    const axisCols = Object.keys(p.params);
    const cols = ['key', 'sweep', 'idx', 'params', ...METRICS, 'results', ...axisCols.map(axisColumn)];
    const values = [
      p.key, sweep, p.index, JSON.stringify(p.params), ...METRICS.map((m) => r.metrics[m]), r.results,
      ...axisCols.map((a) => {
        const v = p.params[a];
        return typeof v === 'number' ? v : typeof v === 'string' ? v : JSON.stringify(v);
      }),
    ];
    await this.con.run(`INSERT OR REPLACE INTO points (${cols.map(quote).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  }

  /** Every stored point, by position then key. */
  async all(): Promise<StoredPoint[]> {
    const r = await this.con.runAndReadAll(`SELECT key, sweep, idx, params, results, ${METRICS.join(', ')} FROM points ORDER BY idx, key`);
    return r.getRowObjectsJS().map((o) => ({
      key: String(o.key),
      sweep: String(o.sweep),
      idx: Number(o.idx),
      params: JSON.parse(String(o.params)) as Record<string, unknown>,
      metrics: Object.fromEntries(METRICS.map((m) => [m, Number(o[m])])),
      results: String(o.results),
    }));
  }

  /** Writes the points table to a Parquet file. */
  async exportParquet(file: string): Promise<void> {
    await this.con.run(`COPY points TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`);
  }

  close(): void {
    this.con.closeSync();
    this.db.closeSync();
  }
}
