// A two-socket machine used across the topology tests:
//
//   s0 ──upi── s1
//   │           │
//   rc0         rc1
//   ├ rp0 ─ sw0 (usp0)        └ rp3 ─ gpu4
//   │        ├ dsp0 ─ gpu0, nic0
//   │        ├ dsp1 ─ gpu1
//   │        └ dsp2 (ACS redirect) ─ gpu2
//   ├ rp1 ─ gpu3
//   └ rp2 ─ gpu5              gh0: no PCIe, nvlink-c2c to s0
//   nvlink gpu3 ↔ gpu5
import type { TopologySpecInput } from '../../src/topology/spec.ts';

export interface MachineOptions {
  rc0?: { vendorId: number; deviceId: number; amdZen?: boolean };
  rc1?: { vendorId: number; deviceId: number; amdZen?: boolean };
  uspAcs?: boolean;
}

export const INTEL = 0x8086;
export const AMD = 0x1022;

export function machine(o: MachineOptions = {}): TopologySpecInput {
  const rc0 = o.rc0 ?? { vendorId: INTEL, deviceId: 0x2030 };
  const rc1 = o.rc1 ?? rc0;
  return {
    sockets: [
      { id: 's0', memoryBytes: 64 * 2 ** 30, memoryBandwidth: 100e9, memoryLatencyPs: 90_000 },
      { id: 's1', memoryBytes: 64 * 2 ** 30, memoryBandwidth: 100e9, memoryLatencyPs: 90_000 },
    ],
    rootComplexes: [
      { id: 'rc0', socket: 's0', ...rc0, rootPorts: [{ id: 'rp0' }, { id: 'rp1' }, { id: 'rp2' }] },
      { id: 'rc1', socket: 's1', ...rc1, rootPorts: [{ id: 'rp3' }] },
    ],
    switches: [
      {
        id: 'sw0', parent: 'rp0', gen: 4, width: 16, latencyPs: 100_000,
        upstreamPort: { id: 'usp0', acsRedirect: o.uspAcs ?? false },
        downstreamPorts: [{ id: 'dsp0' }, { id: 'dsp1' }, { id: 'dsp2', acsRedirect: true }],
      },
    ],
    endpoints: [
      { id: 'gpu0', gen: 4, width: 16, parent: 'dsp0' },
      { id: 'nic0', gen: 4, width: 8, parent: 'dsp0' },
      { id: 'gpu1', gen: 4, width: 16, parent: 'dsp1' },
      { id: 'gpu2', gen: 4, width: 16, parent: 'dsp2' },
      { id: 'gpu3', gen: 5, width: 16, parent: 'rp1' },
      { id: 'gpu4', gen: 4, width: 16, parent: 'rp3' },
      { id: 'gpu5', gen: 5, width: 16, parent: 'rp2' },
      { id: 'gh0', gen: 5, width: 16 },
    ],
    links: [
      { id: 'upi0', kind: 'upi', a: 's0', b: 's1', bandwidth: 40e9, latencyPs: 100_000 },
      { id: 'nv0', kind: 'nvlink', a: 'gpu3', b: 'gpu5', bandwidth: 300e9, latencyPs: 50_000 },
      { id: 'c2c0', kind: 'nvlink-c2c', a: 'gh0', b: 's0', bandwidth: 450e9, latencyPs: 30_000 },
    ],
  };
}
