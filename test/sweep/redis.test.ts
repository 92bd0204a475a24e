// Sweeps across machines with a real Redis (Debian's redis-server on a free loopback port): two
// `hetmem worker` processes run the points; one is killed mid-point; every point still arrives,
// equal to a local run's. A dead Redis is one line. Skipped only where redis-server is missing
// (.ci/run installs it).
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSweep } from '../../src/sweep/load.ts';
import { runSweep } from '../../src/sweep/run.ts';
import { runPoint } from '../../src/sweep/point.ts';
import { SweepStore } from '../../src/sweep/store.ts';
import { checkRedis, ATTEMPTS } from '../../src/sweep/queue.ts';
import { SweepRunError } from '../../src/sweep/errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
const io = { err: { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream, env: {} };

/** Starts redis-server on a free loopback port and waits until it answers. */
async function startRedis(): Promise<{ server: ChildProcess; url: string }> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await checkRedis(url, 500);
      return { server, url };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  server.kill();
  throw new Error('redis-server did not start');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!HAVE_REDIS)('BullMQ on a real Redis', () => {
  let redis: ChildProcess;
  let url = '';
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      try {
        await checkRedis(url, 500);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('redis-server did not start');
  });

  afterAll(() => {
    for (const w of workers) w.kill('SIGKILL');
    redis?.kill();
  });

  it('two workers, one killed mid-point: every point arrives, equal to a local run', async () => {
    const s = loadSweep(join(ROOT, 'test', 'fixtures', 'sweeps', 'small.yaml'));
    const started: string[][] = [[], []];
    for (let i = 0; i < 2; i++) {
      const w = spawn(process.execPath, [join(ROOT, 'bin', 'hetmem.mjs'), 'worker', '--redis', url, '--jobs', '1', '--lock-ms', '2000', '--queue', 'test-sweep'], { stdio: ['ignore', 'ignore', 'pipe'] });
      w.stderr!.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line.includes('started')) started[i].push(line);
      });
      workers.push(w);
    }
    // Kill worker 0 as soon as it has a point in hand.
    const killer = (async () => {
      while (started[0].length === 0) await new Promise((r) => setTimeout(r, 50));
      workers[0].kill('SIGKILL');
    })();
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-redis-'));
    const r = await runSweep(s, { db: join(dir, 'd.duckdb'), redis: url, queue: 'test-sweep' }, io);
    await killer;
    expect(r).toEqual({ total: 4, ran: 4, skipped: 0 });
    expect(workers[0].signalCode).toBe('SIGKILL');
    // The point worker 0 held was run again by worker 1.
    const lost = started[0][0].split(' ')[3];
    expect(started[1].some((l) => l.includes(lost))).toBe(true);
    const store = await SweepStore.open(join(dir, 'd.duckdb'));
    const rows = await store.all();
    store.close();
    expect(rows).toHaveLength(4);
    for (const p of s.points) {
      const local = await runPoint(p);
      const row = rows.find((x) => x.key === p.key)!;
      expect(row.results).toBe(local.results);
    }
  }, 300_000);

  it('a point failing on every attempt is reported in one line; the other points are stored', async () => {
    const w = spawn(process.execPath, [join(ROOT, 'bin', 'hetmem.mjs'), 'worker', '--redis', url, '--jobs', '2', '--queue', 'test-fails'], { stdio: 'ignore' });
    workers.push(w);
    const s = loadSweep(join(ROOT, 'test', 'fixtures', 'sweeps', 'one-fails.yaml'));
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-redis-'));
    const lines: string[] = [];
    const seen = { err: { write: (t: string) => (lines.push(t), true), isTTY: false } as unknown as NodeJS.WritableStream, env: {} };
    const e = await runSweep(s, { db: join(dir, 'f.duckdb'), redis: url, queue: 'test-fails' }, seen).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(SweepRunError);
    const m = (e as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    expect(m).toMatch(new RegExp(`^1 of 3 points failed on every attempt \\(${ATTEMPTS}\\), the others are stored .*: point 2 \\(${s.points[2].key}\\): .*prefetch-throws\\.ts: prefetch decision .*: threw Error: boom$`));
    // Reported on the progress stream as it happened, too.
    expect(lines.join('')).toMatch(/point 2: failed on every attempt/);
    const store = await SweepStore.open(join(dir, 'f.duckdb'));
    const rows = await store.all();
    store.close();
    expect(rows.map((r) => r.idx)).toEqual([0, 1]);
    expect(rows[1].results).toBe((await runPoint(s.points[1])).results);
  }, 300_000);

  it('Redis lost after the sweep started: after lostMs the sweep stops with one line naming the URL', async () => {
    // A Redis of its own, stopped once the points are queued; no worker ever takes them.
    const own = await startRedis();
    const s = loadSweep(join(ROOT, 'test', 'fixtures', 'sweeps', 'one-fails.yaml'));
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-redis-'));
    const started = Date.now();
    const printed = vi.spyOn(console, 'error');
    const run = runSweep(s, { db: join(dir, 'l.duckdb'), redis: own.url, queue: 'test-lost', lostMs: 2000 }, io).then(() => undefined, (x: unknown) => x);
    await new Promise((r) => setTimeout(r, 1500));
    own.server.kill('SIGKILL');
    const e = await run;
    expect(e).toBeInstanceOf(SweepRunError);
    const m = (e as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    expect(m).toMatch(new RegExp(`^${own.url.replace(/[.]/g, '\\.')}/?: lost Redis for 2 s: connect ECONNREFUSED`));
    // Nothing keeps reconnecting behind the line (ioredis would print an unhandled error per try).
    await new Promise((r) => setTimeout(r, 1500));
    expect(printed.mock.calls.filter((c) => String(c[0]).includes('Unhandled error'))).toEqual([]);
    printed.mockRestore();
    // It waited out the limit, not much more.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 120_000);

  it('a dead Redis is one line naming the URL', async () => {
    const port = await freePort();
    await expect(checkRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^redis://127\\.0\\.0\\.1:${port}: cannot reach Redis: connect ECONNREFUSED`));
  });
});
