// Data integrity under timed runs: random mixes of CPU phases and device kernels (HMM mirror
// GPUs with tiny memories that must evict, an SVA accelerator, a pinning NIC), some running
// concurrently on shared buffers, and move_pages between two NUMA nodes (of pages that devices
// may hold, map or have pinned at that moment), checked word by word against a flat reference
// of every store.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import { profile, FlatReference } from './helpers.ts';

const LONG = process.env.HETMEM_LONG === '1';

function randomLanes(rng: Rng, buf: { base: number; pages: number }, lanes: number, accesses: number, writeFraction: number): LaneProgram[] {
  return Array.from({ length: lanes }, (_, i) => {
    const r = rng.fork(`lane${i}`);
    let n = 0;
    return { next: () => (n++ < accesses ? encodeAccess(buf.base + r.int(0, buf.pages), r.nextFloat() < writeFraction) : -1) };
  });
}

function runRandom(seed: number, data: boolean): { m: SimMachine; ref: FlatReference; bufs: { base: number; pages: number }[]; proc: ReturnType<SimMachine['spawn']> } {
  const rng = new Rng(seed);
  const m = new SimMachine({
    seed, data,
    devices: [
      { name: 'gpu0', profile: profile('pascal-pcie3', 4 * 1024 * 1024), policies: { eviction: { policy: rng.pick(['evict-lru-chunk', 'evict-lru-page', 'evict-random']) } } },
      { name: 'gpu1', profile: profile('gpu-pcie4', 2 * 1024 * 1024), policies: { placement: { policy: rng.pick(['first-touch', 'map-remote']) } } },
      { name: 'sva0', profile: profile('sva-accelerator') },
      { name: 'nic0', profile: profile('rdma-nic') },
    ],
    numaNodes: 2,
  });
  const ref = new FlatReference().attach(m);
  const proc = m.spawn();
  const bufs = [1500, 700, 300].map((pages) => ({ base: proc.mmap(pages, 'anon', 'rw'), pages }));
  const steps = 10;
  const go = (i: number) => {
    if (i >= steps) return;
    const k = rng.int(1, 3);
    let pending = k;
    const done = () => {
      if (--pending === 0) go(i + 1);
    };
    for (let j = 0; j < k; j++) {
      const buf = rng.pick(bufs);
      const what = rng.int(0, 6);
      const lanes = randomLanes(rng.fork(`s${i}.${j}`), buf, rng.int(1, 16), rng.int(20, 200), rng.nextFloat());
      if (what === 0) m.cpuPhase(proc, { name: `cpu${i}`, threads: lanes.slice(0, 4), computePs: 100_000, accessBytes: 4096 }).onDone(done);
      else if (what === 1) m.launch('gpu0', proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 256 }).onDone(done);
      else if (what === 2) m.launch('gpu1', proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 256 }).onDone(done);
      else if (what === 3) m.launch('sva0', proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 64 }).onDone(done);
      else if (what === 4) m.launch('nic0', proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 4096, regions: [buf] }).onDone(done);
      else {
        const off = rng.int(0, buf.pages);
        m.movePages(proc, buf.base + off, rng.int(1, buf.pages - off + 1), rng.int(0, 2)).onDone(done);
      }
    }
  };
  m.at(0, () => go(0));
  m.run();
  return { m, ref, bufs, proc };
}

describe('timed runs keep every byte (flat reference)', () => {
  let numaMoved = 0;
  const seeds = LONG ? Array.from({ length: 200 }, (_, i) => i + 1) : [1, 2, 3, 4, 5, 6];
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      const { m, ref, bufs, proc } = runRandom(seed, true);
      let checked = 0;
      for (const b of bufs) {
        for (let v = b.base; v < b.base + b.pages; v++) {
          const bytes = proc.read(v);
          const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          const expected = ref.pages.get(`${proc.mm.id}:${v}`);
          for (let off = 0; off < 4096; off += 4) {
            const want = expected?.get(off) ?? 0;
            const got = words.getUint32(off, true);
            if (got !== want) throw new Error(`seed ${seed}: vpn ${v} offset ${off}: got ${got}, reference ${want}`);
          }
          checked += expected?.size ?? 0;
        }
      }
      expect(checked).toBeGreaterThan(0);
      // The mix did exercise the machinery.
      const r = m.results('integrity');
      expect(r.devices.reduce((a, d) => a + d.accesses.local + d.accesses.remote + d.accesses.peer, 0)).toBeGreaterThan(0);
      numaMoved += r.cpu.numaMigrated;
    });
  }
  it('the seeds above moved pages between NUMA nodes', () => expect(numaMoved).toBeGreaterThan(0));

  it('a run without page data has the same timing and counters as one with data', () => {
    const a = runRandom(7, true).m.results('x');
    const b = runRandom(7, false).m.results('x');
    expect(b.data).toBe(false);
    expect(JSON.stringify({ ...b, data: true })).toBe(JSON.stringify(a));
  });

  it('same seed, same results, byte for byte', () => {
    expect(JSON.stringify(runRandom(11, true).m.results('x'))).toBe(JSON.stringify(runRandom(11, true).m.results('x')));
  });
});
