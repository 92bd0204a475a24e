// Data integrity under timed runs: random mixes of CPU phases and device kernels (HMM mirror
// GPUs with tiny memories that must evict, an SVA accelerator, a pinning NIC), some running
// concurrently on shared buffers, and move_pages between two NUMA nodes (of pages that devices
// may hold, map or have pinned at that moment), checked word by word against a flat reference
// of every store. Processes fork (copy-on-write while devices may be using the parent), exit and
// exec along the way; each live process's buffers are checked against its own reference.
import { describe, it, expect } from 'vitest';
import { SimMachine } from '../../src/sim/machine.ts';
import { Rng } from '../../src/engine/rng.ts';
import { encodeAccess, type LaneProgram } from '../../src/sim/program.ts';
import { profile, streamLanes, FlatReference } from './helpers.ts';
import { PROT_READ, PROT_WRITE } from '../../src/mm/constants.ts';

const LONG = process.env.HETMEM_LONG === '1';

function randomLanes(rng: Rng, buf: { base: number; pages: number }, lanes: number, accesses: number, writeFraction: number): LaneProgram[] {
  return Array.from({ length: lanes }, (_, i) => {
    const r = rng.fork(`lane${i}`);
    let n = 0;
    return { next: () => (n++ < accesses ? encodeAccess(buf.base + r.int(0, buf.pages), r.nextFloat() < writeFraction) : -1) };
  });
}

/** Endpoints `ids` each under a downstream port of one PCIe gen5 switch (P2P between all of them). */
function underSwitch(ids: string[]) {
  return {
    sockets: [{ id: 'cpu0', memoryBytes: 2 ** 40, memoryBandwidth: 486e9, memoryLatencyPs: 100_000 }],
    rootComplexes: [{ id: 'rc0', socket: 'cpu0', vendorId: 0x8086, deviceId: 0x09a2, rootPorts: [{ id: 'rp0' }] }],
    switches: [{ id: 'sw0', parent: 'rp0', gen: 5 as const, width: 16 as const, upstreamPort: { id: 'sw0-up' }, downstreamPorts: ids.map((id) => ({ id: `dp-${id}` })) }],
    endpoints: ids.map((id) => ({ id, parent: `dp-${id}`, gen: 5 as const, width: 16 as const })),
  };
}

/**
 * Cross-device mix: four HMM-mirror GPUs in one pagemap owner (PCIe P2P under a switch), one
 * mapping peers' memory in place (map-remote), two Xe GPUs whose concurrent migrations meet
 * -EBUSY, an ODP NIC; steps mix kernels, CPU phases, populate_mm (migrate) to any GPU and
 * preferred-location advice, under a random cross-device design.
 */
function runCross(seed: number): { m: SimMachine; ref: FlatReference; bufs: { base: number; pages: number }[]; proc: ReturnType<SimMachine['spawn']> } {
  const rng = new Rng(seed);
  const gpus = ['gpu0', 'gpu1', 'xe0', 'xe1'];
  const m = new SimMachine({
    seed, data: true,
    topology: underSwitch([...gpus, 'nic0']),
    crossDevice: {
      // The -EBUSY designs ('serial', the default, is the mix above's).
      migrateLock: seed % 2 === 1 ? 'none' : 'rwsem',
      peerPages: rng.pick(['owner', 'p2p-page'] as const),
      invalidation: rng.pick(['one-pass', 'two-pass'] as const),
      sourcePeerMigrates: rng.nextFloat() < 0.5,
      timeslicePs: rng.pick([0, 20_000_000]),
    },
    devices: [
      { name: 'gpu0', profile: profile('gpu-pcie4', 4 * 1024 * 1024) },
      { name: 'gpu1', profile: profile('gpu-pcie4'), policies: { placement: { policy: 'map-remote', populateOn: 'requester' }, prefetch: { policy: 'prefetch-none' } } },
      { name: 'xe0', profile: profile('xe2-bmg') },
      { name: 'xe1', profile: profile('xe2-bmg') },
      { name: 'nic0', profile: profile('rdma-nic') },
    ],
  });
  const ref = new FlatReference().attach(m);
  const proc = m.spawn();
  const bufs = [1024, 600].map((pages) => ({ base: proc.mmap(pages, 'anon', 'rw'), pages }));
  const steps = 10;
  const go = (i: number) => {
    if (i >= steps) return;
    // Step 0: the two Xe GPUs write one buffer at once, so their migrations meet.
    if (i === 0) {
      let left = 2;
      for (const x of ['xe0', 'xe1']) m.launch(x, proc, { name: `${x} write`, lanes: streamLanes(bufs[0].base, 128, 8, true), computePs: 1000, accessBytes: 64 }).onDone(() => --left === 0 && go(1));
      return;
    }
    const k = rng.int(1, 4);
    let pending = k;
    const done = () => {
      if (--pending === 0) go(i + 1);
    };
    for (let j = 0; j < k; j++) {
      const buf = rng.pick(bufs);
      const what = rng.int(0, 6);
      const lanes = randomLanes(rng.fork(`s${i}.${j}`), buf, rng.int(1, 16), rng.int(20, 200), rng.nextFloat());
      const off = rng.int(0, buf.pages);
      const n = rng.int(1, buf.pages - off + 1);
      if (what === 0) m.cpuPhase(proc, { name: `cpu${i}`, threads: lanes.slice(0, 4), computePs: 100_000, accessBytes: 4096 }).onDone(done);
      else if (what <= 2) m.launch(rng.pick(gpus), proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 256 }).onDone(done);
      else if (what === 3) m.launch('nic0', proc, { name: `k${i}`, lanes, computePs: 20_000, accessBytes: 4096, regions: [buf] }).onDone(done);
      else if (what === 4) m.migrateRange(rng.pick(gpus), proc, buf.base + off, n).onDone(done);
      else {
        m.advise(rng.pick(gpus), proc, buf.base + off, n, rng.pick([...gpus, 'system']));
        done();
      }
    }
  };
  m.at(0, () => go(0));
  m.run();
  return { m, ref, bufs, proc };
}

type Proc = ReturnType<SimMachine['spawn']>;

function runRandom(seed: number, data: boolean): { m: SimMachine; ref: FlatReference; bufs: { base: number; pages: number }[]; procs: Proc[]; forks: number; execs: number } {
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
  const first = m.spawn();
  const sizes = [1500, 700, 300];
  const bufs = sizes.map((pages) => ({ base: first.mmap(pages, 'anon', 'rw'), pages }));
  // The live processes: the first, the children its forks make, the images execs map. A child
  // has the parent's buffers at the same addresses (fork), an exec'd image maps them again.
  let procs: Proc[] = [first];
  let forks = 0, execs = 0;
  const steps = 14;
  const go = (i: number) => {
    if (i >= steps) return;
    // Every fourth step forks, exits or execs (alone: exit and exec wait for the process's
    // activities; a fork may land while devices use the parent, so it shares its step).
    const mmStep = i % 4 === 3 ? rng.int(0, 3) : -1;
    const k = mmStep === 1 || mmStep === 2 ? 1 : rng.int(1, 3);
    let pending = k;
    const done = () => {
      if (--pending === 0) go(i + 1);
    };
    for (let j = 0; j < k; j++) {
      const buf = rng.pick(bufs);
      const proc = rng.pick(procs);
      if (j === 0 && mmStep === 0) {
        // fork(): the child's reference starts as a copy of the parent's.
        let child: Proc | undefined;
        m.mmCall(proc, 'fork', 0, () => {
          child = proc.fork();
          ref.fork(proc.mm, child.mm);
        }).onDone(done);
        procs.push(child!);
        forks++;
        continue;
      }
      if (j === 0 && mmStep === 1 && procs.length > 1) {
        m.mmCall(proc, 'exit', 0, () => proc.exit()).onDone(done);
        procs = procs.filter((p) => p !== proc);
        continue;
      }
      if (j === 0 && mmStep === 2) {
        // execve(): the old image goes; the new one maps the buffers at the same addresses, empty.
        const image = m.spawn();
        m.mmCall(proc, 'exec', 0, () => {
          proc.exit();
          for (const b of bufs) {
            const ok = image.mmapRaw(b.pages, 'anon', PROT_READ | PROT_WRITE);
            if (typeof ok === 'number') throw new Error('exec: mmap failed');
            if (ok.start !== b.base) {
              image.munmap(ok.start, b.pages);
              throw new Error('exec: the new image maps elsewhere');
            }
          }
        }).onDone(done);
        procs = procs.map((p) => (p === proc ? image : p));
        execs++;
        continue;
      }
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
  return { m, ref, bufs, procs, forks, execs };
}

/** Every word of `bufs` as `proc` reads it now against the reference; returns the words checked. */
function checkAgainst(seed: number, ref: FlatReference, bufs: { base: number; pages: number }[], proc: ReturnType<SimMachine['spawn']>): number {
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
  return checked;
}

describe('timed runs keep every byte (flat reference)', () => {
  let numaMoved = 0, forks = 0, execs = 0;
  const seeds = LONG ? Array.from({ length: 200 }, (_, i) => i + 1) : [1, 2, 3, 4, 5, 6];
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      const { m, ref, bufs, procs, forks: f, execs: x } = runRandom(seed, true);
      forks += f;
      execs += x;
      let checked = 0;
      for (const proc of procs) checked += checkAgainst(seed, ref, bufs, proc);
      expect(checked).toBeGreaterThan(0);
      // The mix did exercise the machinery.
      const r = m.results('integrity');
      expect(r.devices.reduce((a, d) => a + d.accesses.local + d.accesses.remote + d.accesses.peer, 0)).toBeGreaterThan(0);
      numaMoved += r.cpu.numaMigrated;
    });
  }
  it('the seeds above moved pages between NUMA nodes', () => expect(numaMoved).toBeGreaterThan(0));
  it('the seeds above forked and exec\'d with devices attached', () => {
    expect(forks).toBeGreaterThan(0);
    expect(execs).toBeGreaterThan(0);
  });

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

describe('cross-device runs keep every byte: peer mappings, migrate steps, advice, -EBUSY contention', () => {
  // Odd seeds run migrateLock none, even ones rwsem; four seeds keep the file near a minute on a shared core.
  const seeds = LONG ? Array.from({ length: 100 }, (_, i) => i + 1) : [1, 2, 5, 6];
  const seen = { peer: 0, populated: 0, ebusy: 0 };
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      const { m, ref, bufs, proc } = runCross(seed);
      expect(checkAgainst(seed, ref, bufs, proc)).toBeGreaterThan(0);
      const r = m.results('cross');
      for (const d of r.devices) {
        seen.peer += d.accesses.peer;
        seen.populated += d.populated;
        seen.ebusy += d.contention.ebusy;
      }
    });
  }
  it('the seeds above reached peers in place, migrated with populate_mm and met -EBUSY', () => {
    expect(seen.peer).toBeGreaterThan(0);
    expect(seen.populated).toBeGreaterThan(0);
    expect(seen.ebusy).toBeGreaterThan(0);
  });
});
