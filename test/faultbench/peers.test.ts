// Measure 7: cross-device HMM per path, populate_mm from a peer, contention.
import { describe, it, expect } from 'vitest';
import { peersMeasure, peerRead, peerMigrate, contention } from '../../src/faultbench/peers.ts';
import { NOTES } from '../../src/faultbench/harness.ts';
import { profile } from './helpers.ts';

describe('peers measure', () => {
  const xe = profile('xe2-bmg');

  it('in place is faster than migrating, and both beat one owner per device (through RAM)', () => {
    const inPlace = peerRead(xe, 'switch', 'in-place', 'interconnect', 256, 1)!;
    const migrate = peerRead(xe, 'switch', 'migrate', 'interconnect', 256, 1)!;
    const viaRam = peerRead(xe, 'switch', 'migrate', 'device', 256, 1)!;
    expect(inPlace).toBeLessThan(migrate);
    expect(migrate).toBeLessThan(viaRam);
    // Through the root complex (ACS redirect) the same read crosses two more hops.
    expect(peerRead(xe, 'root-complex', 'in-place', 'interconnect', 256, 1)!).toBeGreaterThan(inPlace);
  });

  it('populate_mm from a peer moves the bytes at a finite rate with either engine copying', () => {
    for (const source of [true, false]) {
      const g = peerMigrate(xe, 2 << 20, source, 1)!;
      expect(g).toBeGreaterThan(0.5);
      expect(g).toBeLessThan(64);
    }
  });

  it('four devices writing one range livelock without the rwsem and finish with it', () => {
    expect(contention(xe, 4, 'none', 256, 1)).toBeNull();
    expect(contention(xe, 4, 'rwsem', 256, 1)).toBeGreaterThan(0);
  });

  it('rows say n/a with the reason where a profile cannot take part', () => {
    const t = peersMeasure([xe, profile('gh200-c2c'), profile('rdma-nic')], { pages: 64, migrateSizes: [65536], contenders: [2], contentionPages: 64 }, 1);
    const row = (k: string) => t.rows.find((r) => r.key === k)!;
    expect(row('peers.read.switch.in-place').cells['xe2-bmg'].value).toBeGreaterThan(0);
    expect(row('peers.read.link.in-place').cells['xe2-bmg']).toEqual({ value: null, note: 'no peer link in the profile (link.peer)' });
    expect(row('peers.read.switch.in-place').cells['gh200-c2c'].value).toBeNull();
    expect(row('peers.read.switch.in-place').cells['rdma-nic']).toEqual({ value: null, note: NOTES.pinning });
    expect(t.rows.map((r) => r.key)).toEqual([
      'peers.read.switch.in-place', 'peers.read.switch.migrate', 'peers.read.root-complex.in-place', 'peers.read.root-complex.migrate',
      'peers.read.link.in-place', 'peers.read.link.migrate', 'peers.read.through-ram',
      'peers.migrate.65536.source', 'peers.migrate.65536.destination', 'peers.contention.2.none', 'peers.contention.2.rwsem',
    ]);
  });
});
