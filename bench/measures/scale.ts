// Scale: the largest simulated footprint that runs on this machine. Each attempt runs in a
// fresh child (bench/scale-child.ts): 8 GPUs each with 1/16 of the footprint as device-private
// memory and the other half host memory, one mapping over all of it, one 2 MiB run touched in
// every 128 (sparse), the runs of each GPU's slice migrated to it and an eighth of them back.
// The ladder doubles the footprint until an attempt fails, or the next one would exceed the
// time limit or 70% of the machine's memory by extrapolation.
import { totalmem } from 'node:os';
import { runChild } from '../lib/child.ts';
import { nowNs } from '../lib/timing.ts';
import type { ScaleAttempt, ScaleResult } from '../schema.ts';
import type { ChildMeasure } from './types.ts';

const GPUS = 8;
const RUN_EVERY = 128;
const PAGE = 4096;
/** Stop before an attempt predicted to take longer than this. */
const TIME_LIMIT_S = 240;

type ChildOut = Omit<ScaleAttempt, 'footprintBytes' | 'gpus' | 'gpuBytes' | 'hostBytes' | 'ok' | 'error'>;

export const scale: ChildMeasure<ScaleResult> = {
  kind: 'scale',
  id: 'scale',
  title: 'largest footprint that runs',
  async run(ctx) {
    const mem = totalmem();
    const budget = 0.7 * mem;
    const attempts: ScaleAttempt[] = [];
    const last = ctx.config.scaleFootprints.at(-1)!;
    // The full ladder ends at 64 TiB: one mapping of 128 TiB plus its guard pages does not fit
    // below x86-64's 128 TiB user address space.
    let stoppedBecause = `reached the end of the ladder (${fmt(last)}${last === 2 ** 46 ? ': one 128 TiB mapping would not fit in the 47-bit user address space' : ''})`;
    for (const footprint of ctx.config.scaleFootprints) {
      const gpuBytes = footprint / 16, hostBytes = footprint / 2;
      const prev = attempts.at(-1);
      if (prev) {
        const growth = footprint / prev.footprintBytes;
        // Costs are proportional to touched pages, so to the footprint; a margin for noise.
        if (prev.peakRssBytes * growth * 1.2 > budget) {
          stoppedBecause = `the next footprint (${fmt(footprint)}) would need about ${fmt(prev.peakRssBytes * growth)} resident, over 70% of ${fmt(mem)}`;
          break;
        }
        if (prev.seconds * growth * 1.2 > TIME_LIMIT_S) {
          stoppedBecause = `the next footprint (${fmt(footprint)}) would take about ${Math.round(prev.seconds * growth)} s, over the ${TIME_LIMIT_S} s limit`;
          break;
        }
      }
      const t0 = nowNs();
      const r = await runChild<ChildOut>('scale-child.ts', [
        '--gpus', String(GPUS), '--gpu-pages', String(gpuBytes / PAGE), '--host-pages', String(hostBytes / PAGE),
        '--run-every', String(RUN_EVERY), '--rss-limit', String(Math.floor(budget)),
      ], { timeoutMs: 2 * TIME_LIMIT_S * 1000, maxOldSpaceMb: Math.floor(budget / 2 ** 20) });
      const base = { footprintBytes: footprint, gpus: GPUS, gpuBytes, hostBytes };
      if (r.ok) {
        attempts.push({ ...base, ok: true, ...r.value });
        ctx.log(`scale ${fmt(footprint)}: ok in ${r.value.seconds.toFixed(1)} s, peak ${fmt(r.value.peakRssBytes)} resident`);
      } else {
        attempts.push({
          ...base, ok: false, error: r.error, seconds: Math.max(1e-3, Number(nowNs() - t0) / 1e9), peakRssBytes: 0, touchedPages: 0,
          migratedPages: 0, migratedBackPages: 0, deviceRegisteredPages: 0, pfnsReserved: 0, heapBytes: 0, arrayBufferBytes: 0,
        });
        ctx.log(`scale ${fmt(footprint)}: failed (${r.error})`);
        stoppedBecause = `the ${fmt(footprint)} attempt failed: ${r.error}`;
        break;
      }
    }
    const ok = attempts.filter((a) => a.ok);
    return {
      description: `${GPUS} GPUs with footprint/16 of device-private memory each (registered on demand in 256 MiB chunks, as test_hmm does) plus footprint/2 of host memory; one anonymous mapping over all of it; one 2 MiB run in every ${RUN_EVERY} written by the CPU; each GPU slice's runs migrated to that GPU, one in 8 migrated back; no page data`,
      targetFootprintBytes: 2 ** 40,
      machineMemoryBytes: mem,
      attempts,
      largest: ok.length > 0 ? ok.reduce((a, b) => (b.footprintBytes > a.footprintBytes ? b : a)) : null,
      stoppedBecause,
    };
  },
};

/** 1 TiB, 64 GiB, 317.2 MiB. */
export function fmt(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0, v = bytes;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}
