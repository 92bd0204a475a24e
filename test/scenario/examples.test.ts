// Every shipped example loads, validates against the published JSON Schema, and runs at a
// reduced size with results that make sense for what it is meant to show.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EXAMPLES_DIR, DEFAULT_SCENARIO, loadScenario } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import { listProfiles } from '../../src/devices/profile/load.ts';
import { scenarioJsonSchema } from '../../src/scenario/schema.ts';
import type { DeviceMetrics, RunResults } from '../../src/sim/results.ts';
import { validateJsonSchema } from './json-schema.ts';

/** Size factor for the test runs: 1/8 keeps each example well under a few seconds. */
const SCALE = 0.125;

const dev = (r: RunResults, id: string): DeviceMetrics => {
  const d = r.devices.find((x) => x.id === id);
  if (!d) throw new Error(`no device ${id} in ${r.name}`);
  return d;
};
const linkBytes = (r: RunResults, kind: string) => r.links.filter((l) => l.kind === kind).reduce((s, l) => s + l.bytes, 0);
const remoteOn = (r: RunResults, id: string) => r.links.find((l) => l.id === id)?.remoteBytes ?? 0;
const contention = (r: RunResults, k: keyof DeviceMetrics['contention']) => r.devices.reduce((s, d) => s + d.contention[k], 0);

const runs = new Map<string, RunResults>();
function results(name: string): RunResults {
  let r = runs.get(name);
  if (!r) {
    r = runScenario(loadScenario(join(EXAMPLES_DIR, `${name}.yaml`)), { scale: SCALE });
    runs.set(name, r);
  }
  return r;
}

const checks: Record<string, (r: RunResults) => void> = {
  default(r) {
    const [g0, g1, nic] = [dev(r, 'gpu0'), dev(r, 'gpu1'), dev(r, 'nic0')];
    expect(g0.faults.raised).toBeGreaterThan(0);
    expect(g1.faults.raised).toBeGreaterThan(0);
    expect(g0.kernels.map((k) => k.name)).toEqual(['bfs graph']);
    expect(g1.kernels.map((k) => k.name)).toEqual(['streaming rx', 'bfs graph']);
    // gpu1's traversal takes the graph from gpu0 over NVLink (out of gpu0), not through RAM.
    expect(linkBytes(r, 'nvlink')).toBeGreaterThan(0);
    expect(g0.pagesOut).toBeGreaterThan(0);
    expect(r.cpu.deviceMigrateToRam).toBe(0);
    // The NIC wrote the received data in place; the CPU read it back from gpu1.
    expect(nic.accesses.remote).toBeGreaterThan(0);
    expect(r.cpu.migrateToRam).toBeGreaterThan(0);
  },
  'oversubscribed-eviction'(r) {
    const ids = ['gpu-lru-chunk', 'gpu-lru-page', 'gpu-random'];
    for (const id of ids) {
      const d = dev(r, id);
      expect(d.evictions.pages).toBeGreaterThan(0);
      expect(d.kernels).toHaveLength(1);
      // 3 passes over 1.5× memory: far more migrated in than fits.
      expect(d.pagesIn).toBeGreaterThan(1.5 * 1024);
    }
    // One chunk per eviction under root-chunk LRU; page-sized units otherwise.
    const chunk = dev(r, 'gpu-lru-chunk'), page = dev(r, 'gpu-lru-page');
    expect(chunk.evictions.pages / chunk.evictions.units).toBeGreaterThan(page.evictions.pages / page.evictions.units);
    expect(new Set(ids.map((id) => dev(r, id).evictions.pages)).size).toBeGreaterThan(1);
  },
  'graph-bfs-nvlink'(r) {
    expect(dev(r, 'gpu1').pagesTouched).toBe(dev(r, 'gpu0').pagesTouched);
    // Every page gpu1 takes comes straight out of gpu0 over the bridge.
    expect(dev(r, 'gpu0').pagesOut).toBe(dev(r, 'gpu1').pagesIn);
    expect(linkBytes(r, 'nvlink')).toBeGreaterThanOrEqual(dev(r, 'gpu0').bytesOut);
    expect(r.cpu.migrateToRam).toBe(0);
  },
  'graph-bfs-pcie'(r) {
    const nv = results('graph-bfs-nvlink');
    expect(dev(r, 'gpu1').pagesTouched).toBe(dev(nv, 'gpu1').pagesTouched);
    // Without the bridge every page gpu1 needs comes back through RAM first.
    expect(dev(r, 'gpu0').pagesOut).toBeGreaterThan(0);
    expect(r.cpu.migrateToRam).toBeGreaterThan(0);
    expect(linkBytes(r, 'nvlink')).toBe(0);
    expect(r.endPs).toBeGreaterThan(nv.endPs);
  },
  'nic-crypto-ai-pipeline'(r) {
    const [nic, crypto, ai] = [dev(r, 'nic0'), dev(r, 'crypto0'), dev(r, 'ai0')];
    expect(nic.kernels.map((k) => k.name)).toEqual(Array.from({ length: 8 }, (_, c) => `receive #${c}`));
    expect(crypto.kernels).toHaveLength(8);
    expect(ai.kernels).toHaveLength(16);
    // Stages overlap: the crypto engine decrypts chunk 0 while the NIC receives chunk 1.
    expect(crypto.kernels[0].startPs).toBe(nic.kernels[1].startPs);
    // SVA works in place, the AI engine migrates, the CPU gets the results back.
    expect(crypto.pagesIn).toBe(0);
    expect(crypto.accesses.remote).toBeGreaterThan(0);
    expect(ai.pagesIn).toBeGreaterThan(0);
    expect(r.cpu.migrateToRam).toBeGreaterThan(0);
  },
  'multipath-nic'(r) {
    const maps = (id: string) => dev(r, id).paths.map((p) => p.mappings);
    // 12 MiB on cpu0 and 4 MiB on cpu1 at 1/8 scale: 384 and 128 pages, each mapped once.
    expect(maps('nic-nearest')).toEqual([384, 128]);
    expect(maps('nic-avoid-iommu')).toEqual([0, 512]);
    const [own, other] = maps('nic-least-loaded');
    expect(own + other).toBe(512);
    expect(other).toBeGreaterThan(128);
    // Every byte a NIC moved went over one of its paths; only the translated function misses the IOTLB.
    for (const id of ['nic-nearest', 'nic-least-loaded', 'nic-avoid-iommu']) {
      const d = dev(r, id);
      expect(d.paths.reduce((n, p) => n + p.bytes, 0)).toBe(512 * 4096);
      expect(d.paths[1].iotlbMisses).toBe(0);
      expect(d.paths[0].iotlbMisses).toBe(d.paths[0].mappings);
    }
    const link = (id: string) => r.links.find((l) => l.id === id)?.bytes ?? 0;
    expect(link('nic-nearest->rc0')).toBe(384 * 4096);
    expect(link('nic-avoid-iommu->rc0')).toBe(0);
    expect(link('nic-avoid-iommu-pf1->rc1')).toBe(512 * 4096);
    // nearest never crosses UPI; avoid-iommu sends all of rx0 across it.
    expect(link('cpu1->cpu0')).toBeGreaterThanOrEqual(384 * 4096);
  },
  'numa-placement'(r) {
    const [sva, gpu] = [dev(r, 'sva0'), dev(r, 'gpu0')];
    // 512 pages at 1/8 scale: all of them to cpu0, then the second half (offset 2048 → 256) back.
    expect(r.cpu.numaMigrated).toBe(512 + 256);
    const [far, near] = sva.kernels;
    expect([far.name, near.name]).toEqual(['scan far', 'scan near']);
    expect(far.endPs - far.startPs).toBeGreaterThan(near.endPs - near.startPs);
    expect(linkBytes(r, 'upi')).toBeGreaterThanOrEqual(768 * 4096);
    // map-remote without prefetch: one serviced fault per page, nothing migrated.
    expect(gpu.faults.serviced).toBe(512);
    expect(gpu.pagesIn).toBe(0);
    expect(r.spans.filter((s) => s.name === 'move_pages')).toHaveLength(2);
  },
  'p2p-under-switch'(r) {
    const [g0, g1] = [dev(r, 'gpu0'), dev(r, 'gpu1')];
    // One owner over PCIe P2P: gpu1 reads gpu0's memory in place through the switch only.
    expect(r.crossDevice?.groups).toEqual([['gpu0', 'gpu1']]);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(g1.pagesIn).toBe(0);
    expect(g1.peerPaths['p2p-bus-addr']?.accesses).toBe(g0.pagesIn);
    expect(remoteOn(r, 'gpu0->sw0')).toBe(g1.peerPaths['p2p-bus-addr']?.bytes);
    expect(remoteOn(r, 'sw0->gpu1')).toBe(g1.peerPaths['p2p-bus-addr']?.bytes);
    expect(remoteOn(r, 'rc0->sw0') + remoteOn(r, 'sw0->rc0')).toBe(0);
  },
  'p2p-under-switch-acs'(r) {
    const g1 = dev(r, 'gpu1');
    // ACS redirect: the same peer reads, up through the root complex.
    expect(g1.peerPaths['p2p-bus-addr']).toBeUndefined();
    expect(g1.peerPaths['p2p-host-bridge']?.accesses).toBe(dev(results('p2p-under-switch'), 'gpu1').peerPaths['p2p-bus-addr']?.accesses);
    expect(remoteOn(r, 'rc0->sw0')).toBe(g1.peerPaths['p2p-host-bridge']?.bytes);
    expect(r.cpu.migrateToRam).toBe(0);
  },
  'migrate-to-peer'(r) {
    const [g0, g1] = [dev(r, 'gpu0'), dev(r, 'gpu1')];
    expect(g0.populated).toBeGreaterThan(0);
    // Device to device, once: the second migrate to gpu1 finds the pages there.
    expect(g1.populated).toBe(g0.populated);
    expect(g0.pagesOut).toBe(g1.pagesIn);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(r.spans.some((s) => s.track.startsWith('gpu0/ce') && s.name === 'p2p-pcie')).toBe(true);
    // Both kernels read local memory only.
    expect(g0.accesses.peer + g1.accesses.peer + g0.accesses.remote + g1.accesses.remote).toBe(0);
  },
  'contention-livelock'(r) {
    expect(r.crossDevice?.migrateLock).toBe('none');
    expect(contention(r, 'ebusy')).toBeGreaterThan(0);
    expect(contention(r, 'evictedPages')).toBeGreaterThan(0);
    expect(contention(r, 'rwsemWaits')).toBe(0);
  },
  'contention-rwsem'(r) {
    expect(r.crossDevice?.migrateLock).toBe('rwsem');
    expect(contention(r, 'ebusy')).toBeGreaterThan(0);
    expect(contention(r, 'rwsemWaits')).toBeGreaterThan(0);
    expect(contention(r, 'evictedPages')).toBe(0);
  },
  'nic-odp-into-gpu'(r) {
    // What landed: every page the NIC touches in gpu0's memory goes back to RAM first.
    expect(r.cpu.deviceMigrateToRam).toBeGreaterThan(0);
    expect(dev(r, 'gpu0').pagesOut).toBe(dev(r, 'gpu0').pagesIn);
    expect(dev(r, 'nic0').accesses.peer).toBe(0);
  },
  'nic-odp-into-gpu-p2p'(r) {
    // HMM_PFN_ALLOW_P2P: the NIC writes gpu0's memory in place under the switch.
    const nic = dev(r, 'nic0');
    expect(r.cpu.deviceMigrateToRam).toBe(0);
    expect(dev(r, 'gpu0').pagesOut).toBe(0);
    expect(nic.peerPaths['p2p-bus-addr']?.accesses).toBe(nic.accesses.peer);
    expect(nic.accesses.peer).toBeGreaterThan(0);
    expect(r.endPs).toBeLessThan(results('nic-odp-into-gpu').endPs);
  },
  'atomics-exclusive'(r) {
    const g = dev(r, 'gpu0');
    const k = (name: string) => g.kernels.find((x) => x.name === name)!;
    // At 1/8 scale: 8 counter pages, 128 data pages, 1 flag page. Every CPU fault beyond one per
    // page is a CPU touch taking an exclusive page back from the GPU's atomics.
    expect(r.cpu.faults).toBeGreaterThan(8 + 128 + 2 + 8);
    expect(k('gpu atomics').faults).toBeGreaterThan(8);
    expect(g.tlb.invalidations).toBeGreaterThan(0);
    // The flag (and everything else) stays in system memory; the work is not slowed by the polls.
    expect(g.pagesIn).toBe(0);
    expect(r.cpu.migrateToRam).toBe(0);
    expect(k('work').endPs - k('work').startPs).toBeLessThan(1.05 * (k('work alone').endPs - k('work alone').startPs));
    expect(k('gpu polls flag').faults).toBeLessThanOrEqual(2);
  },
  'cow-after-fork-odp'(r) {
    // At 1/8 scale the buffer is 32 pages; the parent's write breaks COW on each.
    expect(r.cpu.cow).toBe(32);
    const fork = r.spans.find((s) => s.name === 'fork app → child')!;
    for (const id of ['nic0', 'sva0', 'gpu0']) {
      const d = dev(r, id);
      // Each device was reading across the fork and the parent's writes, and the notifier
      // dropped its entries (the ODP MTT, the ATS device TLB, the mirror's page table).
      expect(d.kernels[0].startPs).toBeLessThan(fork.startPs);
      expect(d.kernels[0].endPs).toBeGreaterThan(fork.startPs + fork.durPs);
      expect(d.tlb.invalidations).toBeGreaterThan(0);
      expect(d.pagesIn).toBe(0);
    }
    // The faulting devices faulted again after the invalidations (the SVA device re-walks instead).
    expect(dev(r, 'nic0').faults.raised).toBeGreaterThan(32);
    expect(dev(r, 'gpu0').faults.raised).toBeGreaterThan(32);
    expect(dev(r, 'sva0').tlb.misses).toBeGreaterThan(32);
    expect(r.spans.map((s) => s.name)).toContain('child reads');
  },
  'sva-vs-hmm'(r) {
    const [sva, gpu] = [dev(r, 'sva0'), dev(r, 'gpu0')];
    expect(sva.driver).toBe('sva');
    expect(sva.faults.pri).toBeGreaterThan(0);
    expect(sva.pagesIn).toBe(0);
    expect(sva.accesses.local).toBe(0);
    expect(gpu.pagesIn).toBeGreaterThan(0);
    expect(gpu.accesses.remote).toBe(0);
    expect(gpu.accesses.local).toBe(sva.accesses.remote);
  },
  'offcpu-batch-scheduler'(r) {
    const k = (d: string, n: string) => dev(r, d).kernels.find((x) => x.name === n)!;
    // concurrent: no run queue; fifo: short waits for long; priority: long waits for short.
    expect(k('concurrent-gpu0', 'short').sched).toBeUndefined();
    expect(k('fifo-gpu0', 'short').sched!.queuedPs).toBeGreaterThanOrEqual(k('fifo-gpu0', 'long').sched!.runningPs);
    expect(k('priority-gpu0', 'long').sched!.queuedPs).toBeGreaterThanOrEqual(k('priority-gpu0', 'short').sched!.runningPs);
    // gang: the long job's two kernels start each turn together.
    const turns = (d: string) => r.spans.filter((s) => s.track === `${d}:run-queue` && s.name === 'long').map((s) => s.startPs);
    expect(turns('gang-gpu0')).toEqual(turns('gang-gpu1'));
  },
  'exit-with-live-device-task'(r) {
    expect(dev(r, 'gpu0').kernels.find((x) => x.name === 'app-long')!.stopped).toBe(true);
    expect(dev(r, 'sva0').kernels.find((x) => x.name === 'app-scan')!.stopped).toBe(true);
    const other = dev(r, 'gpu0').kernels.find((x) => x.name === 'other')!;
    expect(other.stopped).toBeUndefined();
    expect(dev(r, 'gpu0').faults.fatal).toBe(0);
  },
  'no-xnack'(r) {
    const [on, off] = [dev(r, 'xnack-on'), dev(r, 'xnack-off')];
    expect(on.faults.raised).toBeGreaterThan(0);
    expect(on.pagesIn).toBeGreaterThan(0);
    expect(off.faults.raised).toBe(0);
    expect(off.pagesIn).toBe(0);
    expect(off.accesses.remote).toBeGreaterThan(0);
  },
};

const examples = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();

describe('examples', () => {
  it('ships valid example profiles (name = file name)', () => {
    expect(listProfiles(join(EXAMPLES_DIR, 'profiles')).map((p) => [p.name, p.kind, p.driver])).toEqual([
      ['ai-engine', 'ai-engine', 'hmm-mirror'],
      ['crypto-engine', 'crypto', 'sva'],
    ]);
  });
  it('every example names the schema for editors', () => {
    for (const name of examples) expect(readFileSync(join(EXAMPLES_DIR, `${name}.yaml`), 'utf8').split('\n')[0], name).toBe('# yaml-language-server: $schema=hetmem.schema.json');
  });
  it('ships the default scenario and a check for every example', () => {
    expect(DEFAULT_SCENARIO).toBe(join(EXAMPLES_DIR, 'default.yaml'));
    expect(examples).toEqual(Object.keys(checks).sort());
  });
  for (const name of examples) {
    it(`${name} runs at ${SCALE}× with sensible results`, () => {
      const r = results(name);
      expect(r.name).toBe(name);
      expect(r.endPs).toBeGreaterThan(0);
      expect(r.devices.every((d) => d.kernels.length > 0)).toBe(true);
      expect(r.devices.every((d) => d.faults.fatal === 0)).toBe(true);
      checks[name](r);
    });
  }
});

describe('the JSON Schema', () => {
  const schema = scenarioJsonSchema();
  it('examples/hetmem.schema.json is what `hetmem schema` prints', () => {
    expect(JSON.parse(readFileSync(join(EXAMPLES_DIR, 'hetmem.schema.json'), 'utf8'))).toEqual(schema);
  });
  it('is a draft 2020-12 schema with descriptions', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.$defs as object).sort()).toEqual(['Activity', 'Advise', 'CpuPhase', 'CrossDevice', 'Exec', 'Exit', 'Fork', 'Kernel', 'Madvise', 'Migrate', 'Move', 'Mprotect', 'Munmap', 'Policies', 'Stage', 'Workload']);
    const props = schema.properties as Record<string, { description?: string }>;
    for (const k of ['seed', 'data', 'quantum', 'devices', 'processes', 'steps']) expect(props[k].description, k).toBeTruthy();
  });
  for (const name of examples) {
    it(`accepts ${name}.yaml`, () => {
      const doc = parse(readFileSync(join(EXAMPLES_DIR, `${name}.yaml`), 'utf8'));
      expect(validateJsonSchema(schema, doc)).toEqual([]);
    });
  }
  it('rejects unknown keys, wrong types and unknown workload types', () => {
    const doc = parse(readFileSync(DEFAULT_SCENARIO, 'utf8'));
    expect(validateJsonSchema(schema, { ...doc, colour: 'red' })).toContain('$: unknown key colour');
    expect(validateJsonSchema(schema, { ...doc, seed: 'one' })).toContain('$.seed: expected integer, got string');
    const bad = structuredClone(doc);
    bad.steps[2].kernel.workload.type = 'stream';
    expect(validateJsonSchema(schema, bad).length).toBeGreaterThan(0);
  });
});
