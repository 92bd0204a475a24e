// Sweeps across machines: the submitter puts each point on a BullMQ queue in Redis (job id = the
// point's key, so enqueueing twice is enqueueing once), `hetmem worker` processes on any machine
// run them on their local pool, and the submitter collects each result from its finished job
// and stores it. A worker killed mid-point stops renewing its job's lock; BullMQ moves the job
// back to the queue (a stalled job) and another worker runs it, so nothing is lost and a point may
// run twice, which the idempotent rows absorb. Failed attempts are retried with exponential
// back-off.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { LocalPool, defaultJobs } from './pool.ts';
import { failedPoints, SweepRunError, type PointFailure } from './errors.ts';
import type { PointPayload } from './load.ts';
import type { PointResult } from './point.ts';
import type { SweepProgress } from './progress.ts';

/**
 * Wall-clock milliseconds: how long Redis has been unreachable and when to print a progress line.
 * Never read by a point: results stay deterministic wherever a point runs.
 */
function wallMs(): number {
  return performance.now();
}

/** Attempts per point before the sweep gives up on it. */
export const ATTEMPTS = 5;
/** First retry delay, doubled on each further attempt (ms). */
export const BACKOFF_MS = 1000;

/** The URL without its password, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SweepRunError(`${url}: expected a Redis URL such as redis://10.0.0.5:6379`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SweepRunError(`${url}: expected a redis:// or rediss:// URL`);
  return u;
}

/** Connection options for a URL; `worker` connections wait forever for Redis (BullMQ needs that). */
function connection(url: string, worker: boolean): RedisOptions {
  const u = parseUrl(url);
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(worker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  };
}

/**
 * Checks that Redis answers, within `timeoutMs`.
 * @throws SweepRunError one line, `URL: cannot reach Redis: REASON`
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const c = new Redis({ ...connection(url, false), lazyConnect: true, retryStrategy: () => null, connectTimeout: timeoutMs });
  let cause: Error | undefined;
  c.on('error', (e: Error) => (cause ??= e));
  try {
    await c.connect();
    await c.ping();
  } catch (e) {
    // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than "Connection is closed".
    throw new SweepRunError(`${shown(url)}: cannot reach Redis: ${(cause ?? (e as Error)).message.split('\n')[0]}`);
  } finally {
    c.disconnect();
  }
}

/**
 * Enqueues `toRun` and waits for every result, handing each to `onResult` as its job finishes. A
 * point that fails on every attempt does not stop the others: once every point has finished or
 * failed, the failures are thrown as one line.
 * @throws SweepRunError when Redis is unreachable (at the start, or for `lostMs` ms later), or
 *   points failed on every attempt
 */
export async function runOnRedis(
  url: string, name: string, toRun: readonly PointPayload[],
  onResult: (p: PointPayload, r: PointResult, where: string) => Promise<void>, progress: SweepProgress, lostMs = 30_000,
): Promise<void> {
  await checkRedis(url);
  // A client of our own, handed to the queue: BullMQ leaves a client it was given open, so the
  // finally below can stop it. Without that, a Redis lost for good keeps ioredis reconnecting
  // (the process never exits) and printing an unhandled error per try once the queue is closed.
  const client = new Redis(connection(url, false));
  let socketError: Error | undefined;
  client.on('error', (e: Error) => (socketError = e)); // reported through the polls below
  const queue = new Queue(name, { connection: client });
  queue.on('error', () => {});
  try {
    const jobOpts = { attempts: ATTEMPTS, backoff: { type: 'exponential', delay: BACKOFF_MS }, removeOnComplete: false, removeOnFail: false };
    await queue.addBulk(toRun.map((p) => ({ name: 'point', data: p, opts: { ...jobOpts, jobId: p.key } })));
    const left = new Map(toRun.map((p) => [p.key, p]));
    const failures: PointFailure[] = [];
    let lastOk = wallMs();
    let lastLine = wallMs();
    while (left.size > 0) {
      try {
        for (const [key, p] of [...left]) {
          const job: Job | undefined = await queue.getJob(key);
          if (job === undefined) {
            // Removed by someone (queue obliterated, cleaned): enqueue it again.
            await queue.add('point', p, { ...jobOpts, jobId: key });
            continue;
          }
          if (job.finishedOn !== undefined && job.returnvalue !== null && job.returnvalue !== undefined) {
            left.delete(key);
            await onResult(p, job.returnvalue as PointResult, `worker ${job.processedBy ?? '?'}`);
          } else if (job.failedReason && job.attemptsMade >= ATTEMPTS) {
            left.delete(key);
            failures.push({ index: p.index, key, error: job.failedReason.split('\n')[0] });
            progress.line(`point ${p.index}: failed on every attempt (${ATTEMPTS}): ${job.failedReason.split('\n')[0]}`);
          }
        }
        lastOk = wallMs();
      } catch (e) {
        if (e instanceof SweepRunError) throw e;
        // The socket's own error (ECONNREFUSED...) says more than the refused command's.
        if (wallMs() - lastOk > lostMs) throw new SweepRunError(`${shown(url)}: lost Redis for ${Math.round(lostMs / 1000)} s: ${(socketError ?? (e as Error)).message.split('\n')[0]}`);
      }
      if (wallMs() - lastLine > 10_000) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed').catch(() => undefined);
        if (counts) progress.line(`queue: ${counts.waiting} waiting, ${counts.active} running, ${counts.delayed} retrying`);
        lastLine = wallMs();
      }
      if (left.size > 0) await new Promise((r) => setTimeout(r, 200));
    }
    if (failures.length > 0) throw failedPoints(failures, toRun.length, ` on every attempt (${ATTEMPTS})`);
  } finally {
    await queue.close().catch(() => {});
    client.disconnect();
  }
}

/** Options of a worker. */
export interface WorkerOptions {
  readonly queue?: string;
  /** Points run at once (default: every core). */
  readonly jobs?: number;
  /** Job lock duration, ms: a worker silent this long is taken for dead and its point rerun (default 30 s). */
  readonly lockMs?: number;
  /** Called with one line per point started or finished. */
  readonly log?: (line: string) => void;
}

/**
 * Runs points from the queue until `stop` resolves.
 * @throws SweepRunError when Redis cannot be reached at the start
 */
export async function runWorker(url: string, o: WorkerOptions, stop: Promise<void>): Promise<void> {
  await checkRedis(url);
  const jobs = o.jobs ?? defaultJobs();
  const pool = new LocalPool(jobs);
  const lockMs = o.lockMs ?? 30_000;
  const log = o.log ?? (() => {});
  const worker = new Worker(o.queue ?? 'hetmem-sweep', async (job: Job<PointPayload>) => {
    log(`point ${job.data.index} ${job.data.key}: started (attempt ${job.attemptsMade + 1})`);
    const r = await pool.run(job.data);
    log(`point ${job.data.index} ${job.data.key}: done`);
    return r;
  }, {
    connection: connection(url, true), concurrency: jobs, lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)), maxStalledCount: ATTEMPTS,
  });
  worker.on('error', (e) => log(`redis: ${e.message.split('\n')[0]}`));
  try {
    await stop;
  } finally {
    await worker.close(true).catch(() => {});
    pool.close();
  }
}
