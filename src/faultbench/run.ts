// Runs the seven measures over a list of profiles with a full or a reduced (--quick) configuration.
import type { Profile } from '../devices/profile/schema.ts';
import { linkBandwidth } from '../devices/profile/load.ts';
import { latencyMeasure } from './latency.ts';
import { throughputMeasure, type ThroughputConfig } from './throughput.ts';
import { bandwidthMeasure, DEFAULT_SIZES } from './bandwidth.ts';
import { invalidationMeasure } from './invalidation.ts';
import { oversubscriptionMeasure, type OversubscriptionConfig } from './oversubscription.ts';
import { driversMeasure, type DriversConfig } from './drivers.ts';
import { peersMeasure, type PeersConfig } from './peers.ts';
import { FAULTBENCH_SCHEMA_VERSION, MEASURE_IDS, type FaultbenchResults, type MeasureId, type MeasureTable } from './types.ts';

/** Everything that sizes a faultbench run. */
export interface FaultbenchConfig {
  readonly throughput: ThroughputConfig;
  /** Migration sizes, bytes (multiples of 4 KiB). */
  readonly bandwidthSizes: readonly number[];
  readonly oversubscription: OversubscriptionConfig;
  readonly drivers: DriversConfig;
  readonly peers: PeersConfig;
}

/** The full run. */
export const FULL_CONFIG: FaultbenchConfig = {
  throughput: { batchSizes: [1, 4, 16, 64, 256, 1024], lanes: 1024, laneCounts: [1, 4, 16, 64, 256, 1024], pagesPerLane: 2, share: 4, windowPs: 50_000_000_000 },
  bandwidthSizes: DEFAULT_SIZES,
  oversubscription: { factors: [0.5, 1, 1.25, 1.5, 2], policies: ['evict-lru-chunk', 'evict-lru-page', 'evict-random'], chunks: 2, lanes: 16, passes: 2, randomPerPage: 1 },
  drivers: { pages: 2048, lanes: 32 },
  peers: { pages: 1024, migrateSizes: [65536, 2 << 20, 8 << 20], contenders: [2, 4, 8], contentionPages: 1024 },
};

/** The reduced run (--quick): fewer sizes, fewer lanes, one eviction policy. */
export const QUICK_CONFIG: FaultbenchConfig = {
  throughput: { batchSizes: [1, 16, 256, 1024], lanes: 256, laneCounts: [1, 16, 256], pagesPerLane: 2, share: 4, windowPs: 20_000_000_000 },
  bandwidthSizes: [4096, 65536, 2 << 20, 8 << 20],
  oversubscription: { factors: [0.5, 1, 1.25, 1.5, 2], policies: ['evict-lru-chunk'], chunks: 2, lanes: 16, passes: 1, randomPerPage: 0.5 },
  drivers: { pages: 512, lanes: 32 },
  peers: { pages: 512, migrateSizes: [65536, 2 << 20], contenders: [2, 4], contentionPages: 512 },
};

/** Options of runFaultbench. */
export interface FaultbenchOptions {
  readonly profiles: readonly Profile[];
  readonly seed: number;
  readonly quick?: boolean;
  /** Overrides the configuration (tests run tiny ones). */
  readonly config?: FaultbenchConfig;
  /** Measures to run (default all, in MEASURE_IDS order). */
  readonly measures?: readonly MeasureId[];
  /** Called before each measure starts (progress on stderr). */
  readonly onMeasure?: (id: MeasureId) => void;
}

/** Runs the measures; a pure function of its options (profiles, configuration, seed). */
export function runFaultbench(o: FaultbenchOptions): FaultbenchResults {
  const cfg = o.config ?? (o.quick ? QUICK_CONFIG : FULL_CONFIG);
  const wanted = new Set(o.measures ?? MEASURE_IDS);
  const ps = o.profiles;
  const measures: MeasureTable[] = [];
  const run: Record<MeasureId, () => MeasureTable> = {
    latency: () => latencyMeasure(ps, o.seed),
    throughput: () => throughputMeasure(ps, cfg.throughput, o.seed),
    bandwidth: () => bandwidthMeasure(ps, cfg.bandwidthSizes, o.seed),
    invalidation: () => invalidationMeasure(ps, o.seed),
    oversubscription: () => oversubscriptionMeasure(ps, cfg.oversubscription, o.seed),
    drivers: () => driversMeasure(ps, cfg.drivers, o.seed),
    peers: () => peersMeasure(ps, cfg.peers, o.seed),
  };
  for (const id of MEASURE_IDS) {
    if (!wanted.has(id)) continue;
    o.onMeasure?.(id);
    measures.push(run[id]());
  }
  return {
    schema: FAULTBENCH_SCHEMA_VERSION,
    seed: o.seed,
    quick: !!o.quick,
    profiles: ps.map((p) => p.name),
    profileInfo: Object.fromEntries(ps.map((p) => [p.name, {
      driver: p.driver,
      link: linkDescription(p),
      peer: p.link.peer ? `${p.link.peer.kind} ${trim(p.link.peer.bandwidth / 1e9)} GB/s` : null,
      memory: p.memory.capacity,
    }])),
    measures,
  };
}

function trim(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/** "pcie gen3 x16 15.75 GB/s", "nvlink-c2c 375/297 GB/s (coherent)". */
export function linkDescription(p: Profile): string {
  const l = p.link;
  const h2d = linkBandwidth(p, 'h2d'), d2h = linkBandwidth(p, 'd2h');
  const bw = h2d === d2h ? `${trim(h2d / 1e9)} GB/s` : `${trim(h2d / 1e9)}/${trim(d2h / 1e9)} GB/s`;
  const kind = l.kind === 'pcie' && l.pcie ? `pcie gen${l.pcie.gen} x${l.pcie.width}` : l.kind;
  return `${kind} ${bw}${l.coherent ? ' (coherent)' : ''}`;
}
