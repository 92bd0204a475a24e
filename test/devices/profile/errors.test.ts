import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listProfiles, parseProfile, ProfileError } from '../../../src/devices/profile/load.ts';

// A minimal valid profile; line numbers are given so the expected positions can be checked.
const LINES = [
  'registration: { mode: odp } # tiny: a test NIC with On-Demand Paging, so it faults', //  1
  'name: tiny', //  2
  'description: a small test NIC', //  3
  'kind: nic', //  4
  'driver: pinning', //  5
  'memory:', //  6
  '  capacity: 0 B', //  7
  '  pageSizes: [4 KiB, 2 MiB]', //  8
  'link:', //  9
  '  kind: pcie', // 10
  '  pcie: { gen: 4, width: 16 }', // 11
  '  latency: 1 us', // 12
  'fault:', // 13
  '  serviceLatency: 100 us', // 14
  '  perFaultCost: 5 us', // 15
  '  batchSize: 1', // 16
  '  bufferCapacity: 64', // 17
  '  replayPolicy: block', // 18
  '  coalesceDuplicates: true', // 19
  'tlb:', // 20
  '  entries: 1024', // 21
  '  # reach = entries x the page sizes in use', // 22
  '  missCost: 1 us', // 23
  '  invalidationCost: 5 us', // 24
  'sources:', // 25
  '  memory.capacity: estimate', // 26
  '  memory.pageSizes: estimate', // 27
  '  link.pcie.gen: estimate', // 28
  '  link.pcie.width: estimate', // 29
  '  link.latency: estimate', // 30
  '  fault.serviceLatency: estimate', // 31
  '  fault.perFaultCost: estimate', // 32
  '  fault.batchSize: estimate', // 33
  '  fault.bufferCapacity: estimate', // 34
  '  tlb.entries: estimate', // 35
  '  # (reach is derived, so it has no source)', // 36
  '  tlb.missCost: estimate', // 37
  '  tlb.invalidationCost: estimate', // 38
];
const TEXT = LINES.join('\n') + '\n';

/** TEXT with line `n` (1-based) replaced by `lines` (none = delete it). */
function edit(n: number, ...lines: string[]): string {
  const out = [...LINES];
  out.splice(n - 1, 1, ...lines);
  return out.join('\n') + '\n';
}

/** The single error line parseProfile throws for `text`. */
function errorOf(text: string): string {
  try {
    parseProfile(text, 'tiny.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    const err = e as ProfileError;
    expect(err.message).not.toContain('\n');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toBe(err.message);
    return err.message;
  }
  throw new Error('expected parseProfile to fail');
}

/** Every issue parseProfile reports for `text` (it must fail). */
function issuesOf(text: string): readonly string[] {
  try {
    parseProfile(text, 'tiny.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as ProfileError).issues;
  }
  throw new Error('expected parseProfile to fail');
}

describe('profile error messages: one line FILE:LINE:COL: ...', () => {
  it('the fixture itself is valid', () => {
    const p = parseProfile(TEXT, 'tiny.yaml');
    expect(p.fault!.batchSize).toBe(1);
    expect(p.memory.chunkSize).toBe(2 * 1024 * 1024); // default
    expect(p.policy).toEqual({});
  });

  it('bad type', () => {
    expect(errorOf(edit(16, '  batchSize: lots'))).toBe('tiny.yaml:16:14: fault.batchSize: expected a number, got "lots"');
    expect(errorOf(edit(16, '  batchSize: 2.5'))).toBe('tiny.yaml:16:14: fault.batchSize: expected an integer, got 2.5');
    expect(errorOf(edit(19, '  coalesceDuplicates: yes'))).toBe('tiny.yaml:19:23: fault.coalesceDuplicates: expected true or false, got "yes"');
    expect(errorOf(edit(7, '  capacity: [1]'))).toBe('tiny.yaml:7:13: memory.capacity: expected a size such as "4 KiB" or a byte count, got a list');
  });

  it('unknown key', () => {
    expect(errorOf(edit(16, '  batchsize: 1'))).toBe('tiny.yaml:16:3: fault: unknown key "batchsize" (did you mean "batchSize"?)');
    expect(errorOf(edit(19, '  coalesceDuplicates: true', '  colour: red'))).toBe(
      'tiny.yaml:20:3: fault: unknown key "colour" (expected one of: serviceLatency, perFaultCost, perBlockCost, perPageCost, perFolioCost, bindCost, bindPerEntry, replayCost, migrateWindow, cpuFaultCost, cpuFaultWindow, replayable, batchSize, bufferCapacity, replayPolicy, coalesceDuplicates, priCost)',
    );
    expect(errorOf(edit(5, 'driver: pinning', 'vendor: acme'))).toBe(
      'tiny.yaml:6:1: unknown key "vendor" (expected one of: name, description, kind, driver, memory, link, fault, copyEngines, transferCurve, tlb, accessCounters, iommu, registration, scheduler, policy, sources)',
    );
  });

  it('missing field', () => {
    expect(errorOf(edit(16))).toBe('tiny.yaml:13:1: fault: missing required field "batchSize"');
    expect(errorOf(edit(4))).toBe('tiny.yaml:1:1: missing required field "kind"');
  });

  it('YAML syntax error', () => {
    expect(errorOf(edit(16, '  batchSize: 1: 2'))).toBe('tiny.yaml:16:14: invalid YAML: Nested mappings are not allowed in compact mappings');
    expect(errorOf(edit(16, '  batchSize: @1'))).toBe('tiny.yaml:16:14: invalid YAML: Plain value cannot start with reserved character @');
    expect(errorOf(edit(16, '  batchSize: *one'))).toBe('tiny.yaml:16:14: invalid YAML: alias *one has no anchor &one before it');
    expect(errorOf(edit(16, '  batchSize: 1', '  batchSize: 2'))).toBe('tiny.yaml:17:3: invalid YAML: Map keys must be unique');
  });

  it('bad value: unit, enum, range and cross-field rules', () => {
    expect(errorOf(edit(12, '  latency: 12 parsecs'))).toBe(
      'tiny.yaml:12:12: link.latency: unknown duration unit "parsecs" in "12 parsecs"; expected one of ps, ns, us, µs, ms, s',
    );
    expect(errorOf(edit(18, '  replayPolicy: sometimes'))).toBe(
      'tiny.yaml:18:17: fault.replayPolicy: expected one of block, batch, batch-flush, once, per-fault; got "sometimes"',
    );
    expect(errorOf(edit(21, '  entries: 0'))).toBe('tiny.yaml:21:12: tlb.entries: expected a number greater than 0, got 0');
    expect(errorOf(edit(16, '  batchSize: 65'))).toBe(
      'tiny.yaml:16:14: fault.batchSize: batchSize 65 exceeds bufferCapacity 64 (the driver clamps a batch to the fault buffer)',
    );
    expect(errorOf(edit(1, '# tiny').replace('driver: pinning', 'driver: sva').replace('replayPolicy: block', 'replayPolicy: per-fault'))).toBe(
      'tiny.yaml:13:1: fault: driver sva needs fault.priCost (the PCIe PRI page-request round trip)',
    );
    expect(errorOf(edit(8, '  pageSizes: [4 KiB, 3 MiB]'))).toBe(
      'tiny.yaml:8:22: memory.pageSizes[1]: expected a power-of-two size such as "4 KiB" or "2 MiB"',
    );
    expect(errorOf(edit(8, '  pageSizes: [64 KiB, 2 MiB]'))).toBe(
      'tiny.yaml:8:15: memory.pageSizes[0]: the first page size must be 4 KiB (the base page every device maps)',
    );
    expect(errorOf(edit(22, '  reach: 4 MiB'))).toBe('tiny.yaml:22:3: tlb: unknown key "reach" (expected one of: entries, missCost, invalidationCost)');
    expect(errorOf(edit(11, '  hostToDevice: 50 GB/s'))).toBe(
      'tiny.yaml:9:1: link: hostToDevice is given, so deviceToHost is needed too (bandwidth per direction)',
    );
    expect(issuesOf(edit(10, '  kind: cxl'))).toEqual([
      'tiny.yaml:9:1: link: link kind cxl needs hostToDevice and deviceToHost bandwidths',
      'tiny.yaml:11:9: link.pcie: pcie: { gen, width } applies only to kind pcie, not cxl',
    ]);
    expect(issuesOf(edit(11, '  hostToDevice: 50 GB/s', '  deviceToHost: 40 GB/s').replace('  kind: pcie', '  kind: nvlink'))).toEqual([
      'tiny.yaml:11:17: link.hostToDevice: no source for this number; add "link.hostToDevice" under sources with a citation or "estimate"',
      'tiny.yaml:12:17: link.deviceToHost: no source for this number; add "link.deviceToHost" under sources with a citation or "estimate"',
      'tiny.yaml:29:3: sources: "link.pcie.gen" does not name a numeric field of this profile',
      'tiny.yaml:30:3: sources: "link.pcie.width" does not name a numeric field of this profile',
    ]);
  });

  it('every number needs a source, and every source a number', () => {
    expect(errorOf(edit(33))).toBe(
      'tiny.yaml:16:14: fault.batchSize: no source for this number; add "fault.batchSize" under sources with a citation or "estimate"',
    );
    expect(errorOf(edit(38, '  tlb.invalidationCost: estimate', '  tlb.nothing: estimate'))).toBe(
      'tiny.yaml:39:3: sources: "tlb.nothing" does not name a numeric field of this profile',
    );
    // Numbers inside policy parameters count too.
    expect(errorOf(edit(24, '  invalidationCost: 5 us', 'policy:', '  prefetch: { name: uvm-tree, threshold: 51 }'))).toBe(
      'tiny.yaml:26:42: policy.prefetch.threshold: no source for this number; add "policy.prefetch.threshold" under sources with a citation or "estimate"',
    );
    expect(errorOf(edit(38, '  tlb.invalidationCost: ""'))).toBe('tiny.yaml:38:25: sources.tlb.invalidationCost: expected a citation or "estimate", got an empty string');
  });

  it('a misspelt source key is reported twice: the number lacks a source, the key names nothing', () => {
    expect(issuesOf(edit(33, '  fault.batchsize: estimate'))).toEqual([
      'tiny.yaml:16:14: fault.batchSize: no source for this number; add "fault.batchSize" under sources with a citation or "estimate"',
      'tiny.yaml:33:3: sources: "fault.batchsize" does not name a numeric field of this profile',
    ]);
  });

  it('a non-mapping document', () => {
    expect(errorOf('')).toBe('tiny.yaml:1:1: expected a mapping of profile fields at the top level, got nothing');
    expect(errorOf('\n- a\n')).toBe('tiny.yaml:2:1: expected a mapping of profile fields at the top level, got a list');
  });

  it('several problems: message is the first in file order, issues lists all', () => {
    const text = edit(21, '  entries: 0').replace('  batchSize: 1', '  batchSize: lots');
    expect(issuesOf(text)).toEqual([
      'tiny.yaml:16:14: fault.batchSize: expected a number, got "lots"',
      'tiny.yaml:21:12: tlb.entries: expected a number greater than 0, got 0',
    ]);
    expect(() => parseProfile(text, 'tiny.yaml')).toThrow(/^tiny\.yaml:16:14: fault\.batchSize: expected a number, got "lots"$/);
  });

  it('registration.mode: pin or odp, only for driver pinning, odp only without device memory', () => {
    // The fixture registers with odp on line 1.
    expect(parseProfile(TEXT, 'tiny.yaml').registration).toEqual({ mode: 'odp' });
    expect(errorOf(edit(1, 'registration: { mode: lazy }'))).toBe('tiny.yaml:1:23: registration.mode: expected one of pin, odp; got "lazy"');
    expect(errorOf(edit(1, 'registration: { mode: odp, pinOnRegister: false }'))).toBe(
      'tiny.yaml:1:28: registration: unknown key "pinOnRegister" (expected one of: mode)',
    );
    expect(issuesOf(edit(1, 'registration: { mode: pin }').replace('driver: pinning', 'driver: sva'))).toContain('tiny.yaml:1:15: registration: registration applies only to driver pinning, not sva');
    expect(errorOf(edit(7, '  capacity: 1 GiB', '  chunkSize: 2 MiB').replace('memory.capacity: estimate', 'memory.capacity: estimate\n  memory.chunkSize: estimate'))).toBe(
      'tiny.yaml:1:23: registration.mode: registration mode odp works in place on host memory; a device with memory (memory.capacity) copies its buffers in, which needs mode pin',
    );
    // Pin mode pins up front and never faults: the fault section is refused, not ignored.
    expect(errorOf(edit(1, 'registration: { mode: pin }'))).toBe(
      'tiny.yaml:14:3: fault: a pinning device with pin registration pins its regions up front and never faults: remove the fault section (or use registration mode odp)',
    );
  });

  it('policy is typed: knobs the model does not implement are unknown keys, and contradictions are refused', () => {
    const withPolicy = (...lines: string[]) => edit(24, '  invalidationCost: 5 us', 'policy:', ...lines);
    expect(errorOf(withPolicy('  thrashing: { name: uvm-thrashing, epoch: 1 s }'))).toBe(
      'tiny.yaml:26:37: policy.thrashing: unknown key "epoch" (expected one of: name, threshold, lapse, nap, pinThreshold, pin)',
    );
    expect(errorOf(withPolicy('  faultService: { maxBatchesPerService: 20 }'))).toBe(
      'tiny.yaml:26:3: policy: unknown key "faultService" (expected one of: prefetch, thrashing, accessCounterMigration, svm)',
    );
    expect(errorOf(withPolicy('  svm: { name: amd-kfd-svm }', '  thrashing: { name: uvm-thrashing }'))).toBe(
      'tiny.yaml:27:14: policy.thrashing: svm sets the thrashing role itself (KFD has no throttling); give one of svm, thrashing',
    );
    expect(errorOf(withPolicy('  accessCounterMigration: true'))).toBe(
      'tiny.yaml:26:27: policy.accessCounterMigration: access-counter migration needs the hardware counters: add an accessCounters section',
    );
  });

  it('listProfiles rejects a profile whose name differs from its file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hetmem-profiles-'));
    writeFileSync(join(dir, 'tiny.yaml'), TEXT);
    expect(listProfiles(dir).map((p) => p.name)).toEqual(['tiny']);
    writeFileSync(join(dir, 'other.yaml'), TEXT);
    expect(() => listProfiles(dir)).toThrow(`${join(dir, 'other.yaml')}:2:7: name "tiny" must match the file name "other"`);
  });
});
