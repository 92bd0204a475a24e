// faultbench split into (measure, profile) jobs: merged, the one-profile tables must be the
// one-process run byte for byte, and `hetmem faultbench --jobs 2` (a pool of child processes)
// must print what `--jobs 1` prints.
import { describe, it, expect } from 'vitest';
import { listProfiles } from '../../src/devices/profile/load.ts';
import { faultbenchJobs, mergeFaultbench, runFaultbenchJob } from '../../src/faultbench/jobs.ts';
import { runFaultbench, type FaultbenchConfig, type FaultbenchOptions } from '../../src/faultbench/run.ts';
import { MEASURE_IDS, type MeasureTable } from '../../src/faultbench/types.ts';
import { main } from '../../src/cli/main.ts';

/** Small enough for every shipped profile, large enough that every measure has numbers. */
const TINY: FaultbenchConfig = {
  throughput: { batchSizes: [1, 16], lanes: 16, laneCounts: [1, 16], pagesPerLane: 1, share: 2, windowPs: 2_000_000_000 },
  bandwidthSizes: [4096, 65536],
  oversubscription: { factors: [0.5, 1.5], policies: ['evict-lru-chunk', 'evict-random'], chunks: 2, lanes: 4, passes: 1, randomPerPage: 0.5 },
  drivers: { pages: 64, lanes: 8 },
  peers: { pages: 64, migrateSizes: [65536], contenders: [2], contentionPages: 64 },
};

describe('faultbench jobs', () => {
  it('one job per (measure, profile), measure by measure; merged they are the one-process run on every shipped profile', () => {
    const profiles = listProfiles();
    const o: FaultbenchOptions = { profiles, seed: 7, config: TINY };
    const jobs = faultbenchJobs(o);
    expect(jobs.map((j) => `${j.measure}/${j.profile.name}`)).toEqual(MEASURE_IDS.flatMap((m) => profiles.map((p) => `${m}/${p.name}`)));
    const merged = mergeFaultbench(o, jobs.map(runFaultbenchJob));
    const whole = runFaultbench(o);
    expect(JSON.stringify(merged, null, 2)).toBe(JSON.stringify(whole, null, 2));
    // Not vacuous: numbers and n/a cells, and the throughput histograms, came through.
    const cells = merged.measures.flatMap((m) => m.rows.flatMap((r) => Object.values(r.cells)));
    expect(cells.some((c) => typeof c.value === 'number' && c.value > 0)).toBe(true);
    expect(cells.some((c) => c.value === null)).toBe(true);
    expect(merged.measures.find((m) => m.id === 'throughput')!.histograms!.length).toBeGreaterThan(1);
  }, 600_000);

  it('a subset of measures keeps their order; tables whose rows disagree are refused', () => {
    const profiles = listProfiles().filter((p) => ['gpu-pcie4', 'rdma-nic'].includes(p.name));
    const o: FaultbenchOptions = { profiles, seed: 1, config: TINY, measures: ['bandwidth', 'latency'] };
    const jobs = faultbenchJobs(o);
    expect(jobs.map((j) => j.measure)).toEqual(['latency', 'latency', 'bandwidth', 'bandwidth']);
    const tables = jobs.map(runFaultbenchJob);
    expect(mergeFaultbench(o, tables)).toEqual(runFaultbench(o));
    const bent: MeasureTable = { ...tables[1], rows: tables[1].rows.slice(1) };
    expect(() => mergeFaultbench(o, [tables[0], bent, tables[2], tables[3]])).toThrow('faultbench: measure latency gave rdma-nic other rows than gpu-pcie4');
    expect(() => mergeFaultbench(o, tables.slice(1))).toThrow('faultbench: 3 tables for 4 jobs');
  });
});

describe('hetmem faultbench --jobs', () => {
  /** The whole CLI in this process (main wires sweep's pool); stdout, stderr and the code. */
  async function hetmem(...argv: string[]) {
    let out = '', err = '';
    const io = { out: { write: (s: string) => (out += s, true) }, err: { write: (s: string) => (err += s, true) }, env: {} } as unknown as Parameters<typeof main>[1];
    const code = await main(argv, io);
    return { code, out, err };
  }

  it('prints the same bytes on a pool of 2 child processes as in one process', async () => {
    const argv = ['faultbench', '--profiles', 'sva-accelerator,rdma-nic,mi250x-noxnack', '--quick', '--seed', '2'];
    const one = await hetmem(...argv, '--jobs', '1');
    const two = await hetmem(...argv, '--jobs', '2');
    expect(one).toMatchObject({ code: 0, err: '' });
    expect(one.out).toMatch(/^hetmem faultbench: 3 profiles, seed 2, quick run\n/);
    expect(two).toEqual(one);
    const json1 = await hetmem(...argv, '--jobs', '1', '--json');
    const json2 = await hetmem(...argv, '--jobs', '2', '--json');
    expect(json2.out).toBe(json1.out);
    expect(JSON.parse(json1.out)).toMatchObject({ profiles: ['sva-accelerator', 'rdma-nic', 'mi250x-noxnack'] });
  }, 600_000);
});
