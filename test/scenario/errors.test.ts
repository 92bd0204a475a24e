// Scenario validation: every problem is one line `FILE:LINE:COL: what was expected`, pointing at
// the offending node — bad types, unknown keys, missing fields, YAML syntax, quantities, enums,
// unions, and the cross-reference checks (devices, buffers, structures, processes, topology).
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, loadScenario, ScenarioError, EXAMPLES_DIR } from '../../src/scenario/load.ts';
import { listProfiles } from '../../src/devices/profile/load.ts';

/** The shipped profile names as the unknown-profile message lists them. */
const SHIPPED = listProfiles().map((p) => p.name).join(', ');

/** A valid scenario; each case edits it. Line numbers below refer to this text. */
const BASE = `name: t
devices:
  - name: gpu0
    profile: gpu-pcie4
  - { name: nic0, profile: rdma-nic }
processes:
  - name: app
    allocations:
      - { name: a, size: 4 MiB }
    structures:
      - { name: g, type: graph, vertices: 100, degree: 4 }
steps:
  - kernel: { device: gpu0, workload: { type: streaming, buffer: a } }
`;
const STEP = '  - kernel: { device: gpu0, workload: { type: streaming, buffer: a } }';

function errorOf(text: string, file = 'bad.yaml'): string {
  try {
    parseScenario(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected the scenario to be rejected');
}

const edit = (from: string, to: string) => {
  expect(BASE).toContain(from);
  return BASE.replace(from, to);
};

describe('the base scenario', () => {
  it('is valid', () => {
    const s = parseScenario(BASE, 'ok.yaml');
    expect(s.devices.map((d) => d.name)).toEqual(['gpu0', 'nic0']);
    expect(s.steps).toHaveLength(1);
    expect(s.steps[0][0]).toMatchObject({ kind: 'kernel', device: 'gpu0', process: 'app', path: 'steps[0].kernel' });
    expect(s.quantumPs).toBe(1_000_000);
    expect(s.bucketPs).toBe(10_000_000);
    expect(s.topology).toBeUndefined();
  });
});

describe('schema errors: exact lines', () => {
  const cases: [string, string, string][] = [
    // bad type
    ['a string where an integer belongs', 'seed: one\n' + BASE, 'bad.yaml:1:7: seed: expected an integer, got "one"'],
    ['a fraction where an integer belongs', edit("buffer: a }", 'buffer: a, lanes: 1.5 }'), 'bad.yaml:13:76: steps[0].kernel.workload.lanes: expected an integer, got 1.5'],
    ['a scalar where a list belongs', BASE.replace(/devices:\n[\s\S]*?processes:/, 'devices: gpu0\nprocesses:'), 'bad.yaml:2:10: devices: expected a list, got "gpu0"'],
    ['a number out of range', edit("buffer: a }", 'buffer: a, passes: 0 }'), 'bad.yaml:13:77: steps[0].kernel.workload.passes: expected a number ≥ 1, got 0'],
    ['an empty list', BASE.replace(/steps:[\s\S]*/, 'steps: []\n'), 'bad.yaml:12:8: steps: expected at least 1 item, got 0 items'],
    ['a value outside an enum', edit('    profile: gpu-pcie4\n', '    profile: gpu-pcie4\n    policies: { eviction: { policy: evict-lru } }\n'), 'bad.yaml:5:37: devices[0].policies.eviction.policy: expected one of evict-lru-chunk, evict-lru-page, evict-random, or a plug-in module path (./my-policy.ts); got "evict-lru"'],
    ['an unknown workload type', edit('type: streaming', 'type: stream'), 'bad.yaml:13:47: steps[0].kernel.workload.type: expected one of streaming, strided, random, atomics, stencil, readMostly, allToAll, bfs, chaseList, searchTree, build; got "stream"'],
    ['a value no union option takes', edit('buffer: a }', 'buffer: a, write: sometimes }'), 'bad.yaml:13:76: steps[0].kernel.workload.write: expected true or false or "rw", got "sometimes"'],
    ['a PCIe generation that does not exist', edit('processes:', 'topology:\n  endpoints: [{ id: gpu0, gen: 7 }, { id: nic0 }]\nprocesses:'), 'bad.yaml:7:32: topology.endpoints[0].gen: expected one of 1, 2, 3, 4, 5, 6; got 7'],
    // quantities
    ['an ambiguous size unit', edit('size: 4 MiB', 'size: 4 MB'), 'bad.yaml:9:26: processes[0].allocations[0].size: ambiguous size unit "MB" in "4 MB"; write "4 MiB" (1024-based) or a byte count'],
    ['a duration without a unit', 'quantum: 5\n' + BASE, 'bad.yaml:1:10: quantum: a duration needs a unit (ps, ns, us, µs, ms, s), e.g. "5 us"; got 5'],
    ['a zero duration', 'quantum: 0 us\n' + BASE, 'bad.yaml:1:10: quantum: expected a duration greater than zero'],
    ['a bad bandwidth', edit('processes:', 'topology:\n  links: [{ id: l, kind: nvlink, a: gpu0, b: nic0, bandwidth: fast, latencyPs: 1 us }]\nprocesses:'), 'bad.yaml:7:63: topology.links[0].bandwidth: expected a bandwidth such as "11.95 GB/s" or a number of bytes/s, got "fast"'],
    ['accessBytes above a page', edit('buffer: a }', 'buffer: a, accessBytes: 8 KiB }'), 'bad.yaml:13:82: steps[0].kernel.workload.accessBytes: expected accessBytes between 1 B and 4 KiB'],
    // unknown keys
    ['a misspelt key', edit('    profile: gpu-pcie4\n', '    profle: gpu-pcie4\n'), 'bad.yaml:4:5: devices[0]: unknown key "profle" (did you mean "profile"?)'],
    ['an unknown top-level key', BASE + 'colour: red\n', 'bad.yaml:14:1: unknown key "colour" (expected one of: name, description, seed, data, kernel, quantum, bucket, duration, maxSpans, maxBatchRecords, devices, topology, crossDevice, processes, steps)'],
    ['an unknown key inside a workload', edit('buffer: a }', 'buffer: a, pases: 2 }'), 'bad.yaml:13:69: steps[0].kernel.workload: unknown key "pases" (did you mean "passes"?)'],
    ['a misspelt activity', edit(STEP, '  - kernal: { device: gpu0, workload: { type: streaming, buffer: a } }'), 'bad.yaml:13:5: steps[0]: unknown key "kernal" (did you mean "kernel"?)'],
    // missing fields
    ['a missing field in a list item', edit('    profile: gpu-pcie4\n', ''), 'bad.yaml:3:5: devices[0]: missing required field "profile"'],
    ['a missing top-level field', BASE.replace(/steps:[\s\S]*/, ''), 'bad.yaml:1:1: missing required field "steps"'],
    ['a missing workload option', edit('type: streaming, buffer: a }', 'type: random, buffer: a }'), 'bad.yaml:13:29: steps[0].kernel.workload: missing required field "accesses"'],
    ['a missing workload type', edit('type: streaming, buffer: a }', 'buffer: a }'), 'bad.yaml:13:29: steps[0].kernel.workload: missing required field "type"'],
    ['a buffer without a size', edit('{ name: a, size: 4 MiB }', '{ name: a }'), 'bad.yaml:9:9: processes[0].allocations[0]: give the buffer a size: one of size, pages, oversubscribe'],
    ['a buffer with two sizes', edit('{ name: a, size: 4 MiB }', '{ name: a, size: 4 MiB, pages: 3 }'), 'bad.yaml:9:9: processes[0].allocations[0]: give only one of size, pages, oversubscribe (got size and pages)'],
    ['an empty activity', edit(STEP, '  - {}'), 'bad.yaml:13:5: steps[0]: expected one of kernel, cpu, pipeline, move, migrate, advise, fork, exit, exec, munmap, mprotect, madvise'],
    ['two activities in one mapping', edit(STEP, `${STEP}\n    cpu: { workload: { type: streaming, buffer: a } }`), 'bad.yaml:13:5: steps[0]: expected only one of kernel, cpu, pipeline, move, migrate, advise, fork, exit, exec, munmap, mprotect, madvise (got kernel and cpu); list activities that start together as a list'],
    // YAML syntax
    ['bad YAML syntax', edit('  - name: app', '  - name: app: x'), 'bad.yaml:7:11: invalid YAML: Nested mappings are not allowed in compact mappings'],
    ['a tab in the indentation', edit('  - name: gpu0', '\t- name: gpu0'), 'bad.yaml:3:1: invalid YAML: Tabs are not allowed as indentation'],
    ['a duplicate key', BASE + 'name: u\n', 'bad.yaml:14:1: invalid YAML: Map keys must be unique'],
    ['an alias without anchor', 'seed: *x\n' + BASE, 'bad.yaml:1:7: invalid YAML: alias *x has no anchor &x before it'],
    ['a list at the top level', '- a\n- b\n', 'bad.yaml:1:1: expected a mapping of scenario fields at the top level (name, devices, processes, steps, ...), got a list'],
    ['an empty file', '', 'bad.yaml:1:1: expected a mapping of scenario fields at the top level (name, devices, processes, steps, ...), got nothing'],
  ];
  for (const [what, text, line] of cases) {
    it(what, () => expect(errorOf(text)).toBe(line));
  }
  it('names the file it was given', () => expect(errorOf('seed: one\n' + BASE, 'runs/my.yaml')).toBe('runs/my.yaml:1:7: seed: expected an integer, got "one"'));
});

describe('cross-reference errors point at the referencing node', () => {
  const cases: [string, string, string][] = [
    ['an unknown device', edit('device: gpu0', 'device: gpu9'), "bad.yaml:13:23: steps[0].kernel.device: unknown device 'gpu9' (devices: gpu0, nic0)"],
    ['an unknown buffer', edit('buffer: a }', 'buffer: b }'), "bad.yaml:13:66: steps[0].kernel.workload.buffer: unknown buffer 'b' (allocations of 'app': a)"],
    ['a structure where a buffer belongs', edit('buffer: a }', 'buffer: g }'), "bad.yaml:13:66: steps[0].kernel.workload.buffer: 'g' is a structure; this workload needs a buffer (allocations of 'app': a)"],
    ['the wrong kind of structure', edit('type: streaming, buffer: a }', 'type: chaseList, structure: g }'), "bad.yaml:13:69: steps[0].kernel.workload.structure: chaseList needs a list; 'g' is a graph"],
    ['a build on a device', edit('type: streaming, buffer: a }', 'type: build, structure: g }'), 'bad.yaml:13:47: steps[0].kernel.workload.type: build is a CPU phase: run it as cpu: { workload: { type: build, ... } }'],
    ['a structure built twice', BASE.replace(/steps:[\s\S]*/, 'steps:\n  - cpu: { workload: { type: build, structure: g } }\n  - cpu: { workload: { type: build, structure: g } }\n'), "bad.yaml:14:48: steps[1].cpu.workload.structure: structure 'g' is built twice (a structure is built once)"],
    ['a BFS source outside the graph', edit('type: streaming, buffer: a }', 'type: bfs, structure: g, source: 100 }'), 'bad.yaml:13:74: steps[0].kernel.workload.source: expected a vertex below 100, got 100'],
    ['no process named with two processes', edit('processes:\n', 'processes:\n  - { name: other }\n'), 'bad.yaml:14:5: steps[0].kernel: missing "process": there are 2 processes (other, app)'],
    ['an unknown process', edit('device: gpu0,', 'device: gpu0, process: nope,'), "bad.yaml:13:38: steps[0].kernel.process: unknown process 'nope' (processes: app)"],
    ['oversubscribing an unknown device', edit('{ name: a, size: 4 MiB }', '{ name: a, oversubscribe: { device: gpu7, factor: 2 } }'), "bad.yaml:9:45: processes[0].allocations[0].oversubscribe.device: unknown device 'gpu7' (devices: gpu0, nic0)"],
    ['oversubscribing a device without memory', edit('{ name: a, size: 4 MiB }', '{ name: a, oversubscribe: { device: nic0, factor: 2 } }'), "bad.yaml:9:45: processes[0].allocations[0].oversubscribe.device: device 'nic0' has no device memory to oversubscribe"],
    ['a duplicate device name', edit('name: nic0', 'name: gpu0'), "bad.yaml:5:13: devices[1].name: device name 'gpu0' is used twice"],
    ['a stencil row wider than its buffer', edit('type: streaming, buffer: a }', 'type: stencil, buffer: a, cols: 2000 }'), "bad.yaml:13:73: steps[0].kernel.workload.cols: a row of 2000 pages does not fit in buffer 'a' (1024 pages)"],
    ['an all-to-all with a repeated buffer', edit('type: streaming, buffer: a }', 'type: allToAll, buffers: [a, a], index: 0 }'), "bad.yaml:13:66: steps[0].kernel.workload.buffers: buffer 'a' is listed twice; each participant needs its own buffer"],
    ['a pipeline stage that cannot be cut into chunks', edit(STEP, '  - pipeline: { chunks: 2, stages: [ { kernel: { device: gpu0, workload: { type: bfs, structure: g } } } ] }'), 'bad.yaml:13:82: steps[0].pipeline.stages[0].kernel.workload.type: a pipeline stage must be streaming, strided, random or readMostly (its buffers are cut into chunks), not bfs'],
    ['an unknown profile', edit('profile: rdma-nic', 'profile: rdma-nic2'), `bad.yaml:5:28: devices[1].profile: unknown profile "rdma-nic2" (shipped profiles: ${SHIPPED}; or give a path to a .yaml file)`],
    ['device memory on an SVA device', edit('profile: rdma-nic }', 'profile: sva-accelerator, memory: 4 MiB }'), 'bad.yaml:5:53: devices[1].memory: profile sva-accelerator uses driver sva, which works on host memory and has no device memory to size'],
    ['device memory on an ODP NIC (registration.mode odp)', edit('profile: rdma-nic }', 'profile: rdma-nic, memory: 4 MiB }'), 'bad.yaml:5:46: devices[1].memory: profile rdma-nic registers memory with odp, which works in place on host memory and has no device memory to size'],
    ['device memory below one chunk', edit('    profile: gpu-pcie4\n', '    profile: gpu-pcie4\n    memory: 1 MiB\n'), 'bad.yaml:5:13: devices[0].memory: expected at least one 2 MiB chunk of device memory, got 1 MiB'],
    ['a placement policy on a pinning device', edit('profile: rdma-nic }', 'profile: rdma-nic, policies: { placement: { policy: first-touch } } }'), 'bad.yaml:5:50: devices[1].policies.placement: policies.placement applies to hmm-mirror devices; profile rdma-nic uses driver pinning'],
    ['a path policy on an sva device', edit('profile: rdma-nic }', 'profile: sva-accelerator, policies: { path: { policy: nearest } } }'), 'bad.yaml:5:57: devices[1].policies.path: policies.path applies to pinning and hmm-mirror devices; profile sva-accelerator uses driver sva, which DMAs through one PCI function'],
    ['a device that is another device\'s path', edit('processes:', 'topology:\n  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }, { id: rp1 }] }]\n  endpoints: [{ id: gpu0, parent: rp0, paths: [nic0] }, { id: nic0, parent: rp1 }]\nprocesses:'), "bad.yaml:5:13: devices[1].name: device 'nic0' is a path of device 'gpu0' (topology endpoint paths); a DMA initiator belongs to one device"],
    ['a path claimed by two endpoints', edit('processes:', 'topology:\n  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }, { id: rp1 }, { id: rp2 }] }]\n  endpoints: [{ id: gpu0, parent: rp0, paths: [f1] }, { id: nic0, parent: rp1, paths: [f1] }, { id: f1, parent: rp2 }]\nprocesses:'), "bad.yaml:8:88: topology.endpoints[1].paths[0]: path endpoint 'f1' is claimed by 'gpu0' and 'nic0'; a DMA initiator belongs to one device"],
    ['read duplication on an HMM device', edit('    profile: gpu-pcie4\n', '    profile: gpu-pcie4\n    policies: { placement: { policy: read-duplication } }\n'), 'bad.yaml:5:38: devices[0].policies.placement.policy: read-duplication is not available for HMM-managed memory (a CPU store through a writable PTE raises no notifier, so a device copy would go stale)'],
    ['a device missing from the topology', edit('processes:', 'topology:\n  rootComplexes: [{ id: rc0, socket: cpu0, rootPorts: [{ id: rp0 }] }]\n  endpoints: [{ id: gpu0, parent: rp0 }]\nprocesses:'), "bad.yaml:5:13: devices[1].name: device 'nic0' is not an endpoint of the topology (endpoints: gpu0)"],
    ['a topology link to nowhere', edit('processes:', 'topology:\n  links: [{ id: l, kind: nvlink, a: gpu0, b: gpu7, bandwidth: 1 GB/s, latencyPs: 1 us }]\nprocesses:'), "bad.yaml:7:46: topology.links[0].b: unknown link end 'gpu7' for link 'l'"],
    ['a move to a socket the topology lacks', edit(STEP, '  - move: { buffer: a, to: cpu1 }'), "bad.yaml:13:28: steps[0].move.to: unknown socket 'cpu1' (sockets: cpu0); a scenario with one socket has one NUMA node"],
    ['a move of a structure', edit(STEP, '  - move: { buffer: g, to: cpu0 }'), "bad.yaml:13:21: steps[0].move.buffer: unknown buffer 'g' (allocations of 'app': a)"],
    ['a move offset past the buffer', edit(STEP, '  - move: { buffer: a, to: cpu0, offset: 1024 }'), "bad.yaml:13:42: steps[0].move.offset: buffer 'a' has 1024 pages; expected an offset below that, got 1024"],
    ['a move running past the buffer', edit(STEP, '  - move: { buffer: a, to: cpu0, offset: 1000, pages: 25 }'), "bad.yaml:13:55: steps[0].move.pages: 1000 + 25 pages run past the end of buffer 'a' (1024 pages)"],
    ['a move of no pages', edit(STEP, '  - move: { buffer: a, to: cpu0, pages: 0 }'), 'bad.yaml:13:41: steps[0].move.pages: expected a number ≥ 1, got 0'],
    ['a policy over an unknown socket', edit('  - name: app\n', '  - name: app\n    policy: { mode: interleave, nodes: [cpu0, cpu9] }\n'), "bad.yaml:8:47: processes[0].policy.nodes[1]: unknown socket 'cpu9' (sockets: cpu0)"],
    ['a bind policy without nodes', edit('  - name: app\n', '  - name: app\n    policy: { mode: bind }\n'), 'bad.yaml:8:5: processes[0].policy: a bind policy needs nodes'],
    ['a local policy with nodes', edit('  - name: app\n', '  - name: app\n    policy: { mode: local, nodes: [cpu0] }\n'), "bad.yaml:8:35: processes[0].policy.nodes: a local policy takes no nodes (it allocates on the process's own node)"],
    ['an unknown policy mode', edit('  - name: app\n', '  - name: app\n    policy: { mode: spread, nodes: [cpu0] }\n'), 'bad.yaml:8:21: processes[0].policy.mode: expected one of default, local, preferred, bind, interleave; got "spread"'],
    ['a process on an unknown socket', edit('  - name: app\n', '  - name: app\n    node: cpu3\n'), "bad.yaml:8:11: processes[0].node: unknown socket 'cpu3' (sockets: cpu0)"],
    ['an endpoint that is not a device and has no link details', edit('processes:', 'topology:\n  endpoints: [{ id: gpu0 }, { id: nic0 }, { id: nvme0 }]\nprocesses:'), "bad.yaml:7:49: topology.endpoints[2].id: endpoint 'nvme0' is not a device of the scenario: give its gen and width"],
  ];
  for (const [what, text, line] of cases) {
    it(what, () => expect(errorOf(text)).toBe(line));
  }
});

describe('profile files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetmem-scenario-'));
  it('a missing profile file names the path it looked for', () => {
    expect(errorOf(edit('profile: rdma-nic', 'profile: ./nope.yaml'), join(dir, 'bad.yaml'))).toBe(`${join(dir, 'bad.yaml')}:5:28: devices[1].profile: no profile file "./nope.yaml" (looked for ${join(dir, 'nope.yaml')})`);
  });
  it('a broken profile file is reported at its own line', () => {
    const text = readFileSync(join(EXAMPLES_DIR, 'profiles', 'crypto-engine.yaml'), 'utf8').replace('batchSize: 32', 'batchSize: lots');
    const line = text.split('\n').findIndex((l) => l.includes('batchSize: lots')) + 1;
    writeFileSync(join(dir, 'broken.yaml'), text);
    expect(errorOf(edit('profile: rdma-nic', 'profile: broken.yaml'), join(dir, 'bad.yaml'))).toBe(`${join(dir, 'broken.yaml')}:${line}:14: fault.batchSize: expected a number, got "lots"`);
  });
  it('a profile path is relative to the scenario file', () => {
    writeFileSync(join(dir, 'scn.yaml'), edit('profile: rdma-nic', 'profile: ../examples/profiles/crypto-engine.yaml'));
    // Not found relative to the scenario's directory, whatever the working directory is.
    expect(() => loadScenario(join(dir, 'scn.yaml'))).toThrow(/no profile file/);
  });
  it('an unreadable scenario is one line', () => {
    expect(() => loadScenario(join(dir, 'missing.yaml'))).toThrow(`${join(dir, 'missing.yaml')}: cannot read the scenario: no such file`);
  });
});
