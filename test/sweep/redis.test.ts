// Sweeps across machines with a real Redis (Debian's redis-server on a free loopback port): two
// `hetmem worker` processes run the points; one is killed mid-point; every point still arrives,
// equal to a local run's. A dead Redis is one line. Skipped only where redis-server is missing
// (.ci/run installs it).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSweep } from '../../src/sweep/load.ts';
import { runSweep } from '../../src/sweep/run.ts';
import { runPoint } from '../../src/sweep/point.ts';
import { SweepStore } from '../../src/sweep/store.ts';
import { checkRedis } from '../../src/sweep/queue.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
const io = { err: { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream, env: {} };

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

  it('a dead Redis is one line naming the URL', async () => {
    const port = await freePort();
    await expect(checkRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(new RegExp(`^redis://127\\.0\\.0\\.1:${port}: cannot reach Redis: connect ECONNREFUSED`));
  });
});
