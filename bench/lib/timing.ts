// Wall-clock helpers. The bench is the one place in the repository that reads the clock: the
// model itself only knows engine time.
import { readFileSync } from 'node:fs';

/** Nanoseconds from a monotonic clock. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** A full major GC when node runs with --expose-gc (the bench scripts do); a no-op otherwise. */
export function fullGc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** Whether global.gc is available (memory figures are meaningless without it). */
export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Heap plus array-buffer bytes (typed-array backing stores live outside the V8 heap). */
export function usedBytes(): { heap: number; arrayBuffers: number; total: number; rss: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers, total: m.heapUsed + m.arrayBuffers, rss: m.rss };
}

/**
 * Peak resident set size of this process so far, in bytes. On Linux this is VmHWM, the high-water
 * mark of this address space: getrusage's maxrss would also count the parent's resident size,
 * which exec carries over into a child's maxrss.
 */
export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Least-squares slope of log(y) against log(x): 1 means y grows linearly with x, less than 1
 * sub-linearly. Needs at least two points with positive coordinates.
 */
export function logLogSlope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const ps = points.filter((p) => p.x > 0 && p.y > 0);
  if (ps.length < 2) return NaN;
  const lx = ps.map((p) => Math.log(p.x)), ly = ps.map((p) => Math.log(p.y));
  const mx = lx.reduce((a, b) => a + b, 0) / ps.length, my = ly.reduce((a, b) => a + b, 0) / ps.length;
  let num = 0, den = 0;
  for (let i = 0; i < ps.length; i++) {
    num += (lx[i] - mx) * (ly[i] - my);
    den += (lx[i] - mx) ** 2;
  }
  return num / den;
}
