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
    expect(Object.keys(schema.$defs as object).sort()).toEqual(['Activity', 'Advise', 'CpuPhase', 'CrossDevice', 'Exit', 'Kernel', 'Migrate', 'Move', 'Policies', 'Stage', 'Workload']);
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
