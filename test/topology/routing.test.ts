import { describe, it, expect } from 'vitest';
import { Topology, DEFAULT_PCIE_LINK_LATENCY_PS, DEFAULT_ROOT_COMPLEX_LATENCY_PS, memoryNode } from '../../src/topology/routing.ts';
import { pcieBandwidth } from '../../src/topology/pcie.ts';
import { INTEL, machine, type MachineOptions } from './fixtures.ts';

const topo = (o: MachineOptions = {}) => Topology.fromSpec(machine(o));
const ids = (r: { segments: readonly { id: string }[] } | null) => r?.segments.map((s) => s.id);

describe('Topology.route between endpoints', () => {
  it('prefers a private link over PCIe', () => {
    const t = topo();
    expect(t.p2pdma('gpu3', 'gpu5').mapType).toBe('THRU_HOST_BRIDGE'); // PCIe would work too
    const r = t.route('gpu3', 'gpu5')!;
    expect(r.kind).toBe('private');
    expect(ids(r)).toEqual(['gpu3->gpu5']);
    expect(r.segments[0].kind).toBe('nvlink');
    expect(r.bandwidth).toBe(300e9);
    expect(r.latencyPs).toBe(50_000);
  });

  it('switch-local P2P stays below the switch', () => {
    const r = topo().route('gpu0', 'gpu1')!;
    expect(r.kind).toBe('p2p-bus-addr');
    expect(r.nodes).toEqual(['gpu0', 'sw0', 'gpu1']);
    expect(r.segments.some((s) => s.from === 'rc0' || s.to === 'rc0')).toBe(false);
    expect(r.p2pdma).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    // Two PCIe links; the switch traversal is counted once (on entering it).
    expect(r.latencyPs).toBe(2 * DEFAULT_PCIE_LINK_LATENCY_PS + 100_000);
    expect(r.bandwidth).toBe(pcieBandwidth(4, 16));
  });

  it('bottleneck is the narrowest link', () => {
    expect(topo().route('gpu0', 'nic0')!.bandwidth).toBe(pcieBandwidth(4, 8));
  });

  it('ACS redirect sends switch-local traffic up to the root complex and back', () => {
    const r = topo().route('gpu0', 'gpu2')!;
    expect(r.kind).toBe('p2p-host-bridge');
    expect(r.nodes).toEqual(['gpu0', 'sw0', 'rc0', 'sw0', 'gpu2']);
    expect(ids(r)).toContain('sw0->rc0');
    expect(ids(r)).toContain('rc0->sw0');
  });

  it('through the host bridge across sockets uses the inter-socket link', () => {
    const r = topo().route('gpu0', 'gpu4')!;
    expect(r.nodes).toEqual(['gpu0', 'sw0', 'rc0', 's0', 's1', 'rc1', 'gpu4']);
    expect(r.segments.find((s) => s.id === 's0->s1')!.kind).toBe('upi');
    expect(r.bandwidth).toBe(pcieBandwidth(4, 16)); // 28.8 GB/s PCIe < 40 GB/s UPI
    expect(r.p2pdma).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 6 });
  });

  it('NOT_SUPPORTED gives null (caller bounces through host memory)', () => {
    const t = topo({ rc0: { vendorId: INTEL, deviceId: 0x1234 } });
    expect(t.route('gpu0', 'gpu3')).toBeNull();
    expect(t.route('gh0', 'gpu0')).toBeNull(); // non-PCI device without a private link
    expect(t.route('gpu0', 'gpu1')).not.toBeNull();
  });

  it('a device to itself is an empty local route', () => {
    const r = topo().route('gpu0', 'gpu0')!;
    expect(r.kind).toBe('local');
    expect(r.segments).toEqual([]);
    expect(r.latencyPs).toBe(0);
  });
});

describe('Topology.route to socket memory', () => {
  it('goes up the PCIe tree to the local socket', () => {
    const r = topo().route('gpu3', 's0')!;
    expect(r.nodes).toEqual(['gpu3', 'rc0', 's0', memoryNode('s0')]);
    expect(r.latencyPs).toBe(DEFAULT_PCIE_LINK_LATENCY_PS + DEFAULT_ROOT_COMPLEX_LATENCY_PS + 90_000);
  });

  it('crosses the inter-socket link for remote memory, symmetric in reverse', () => {
    const t = topo();
    const w = t.route('gpu0', 's1')!;
    expect(w.nodes).toEqual(['gpu0', 'sw0', 'rc0', 's0', 's1', 'mem:s1']);
    const r = t.route('s1', 'gpu0')!;
    expect(r.nodes).toEqual([...w.nodes].reverse());
    expect(ids(r)).toContain('s1->s0');
    expect(r.latencyPs).toBe(w.latencyPs);
    expect(r.bandwidth).toBe(w.bandwidth);
  });

  it('uses a C2C link when present, then the inter-socket link', () => {
    const t = topo();
    const local = t.route('gh0', 's0')!;
    expect(local.kind).toBe('private');
    expect(local.nodes).toEqual(['gh0', 's0', 'mem:s0']);
    expect(local.bandwidth).toBe(100e9); // DRAM, not the 450 GB/s C2C, is the bottleneck
    expect(t.route('gh0', 's1')!.nodes).toEqual(['gh0', 's0', 's1', 'mem:s1']);
  });

  it('socket to socket memory copy', () => {
    expect(topo().route('s0', 's1')!.nodes).toEqual(['mem:s0', 's0', 's1', 'mem:s1']);
  });

  it('rejects unknown ids', () => {
    expect(() => topo().route('gpu0', 'nope')).toThrow("'nope' is not an endpoint or socket");
  });
});

describe('segments', () => {
  it('every physical link is two directed segments with equal bandwidth', () => {
    const t = topo();
    for (const s of t.segments) {
      const back = t.segment(s.to, s.from);
      expect(back, s.id).toBeDefined();
      expect(back!.bandwidth).toBe(s.bandwidth);
      expect(back!.link).toBe(s.link);
    }
  });

  it('route latency and reverse-route latency agree for every pair', () => {
    const t = topo();
    const nodes = ['gpu0', 'nic0', 'gpu1', 'gpu2', 'gpu3', 'gpu4', 'gpu5', 'gh0', 's0', 's1'];
    for (const a of nodes) {
      for (const b of nodes) {
        const f = t.route(a, b);
        const r = t.route(b, a);
        expect(f === null, `${a}->${b}`).toBe(r === null);
        if (f !== null) expect(f.latencyPs, `${a}->${b}`).toBe(r!.latencyPs);
      }
    }
  });
});
