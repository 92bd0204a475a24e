import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bytes, kib, mib, gib, formatBytes, KIB, MIB, GIB } from '../../src/units/bytes.ts';
import { ps, ns, us, ms, s, formatTime, PS_PER_S } from '../../src/units/time.ts';
import { PAGE_SIZE, PAGE_SHIFT, PMD_PAGES, PMD_SIZE, pagesToBytes, bytesToPages } from '../../src/units/page.ts';
import { vpn, vpnOfAddress, addressOfVpn } from '../../src/units/vpn.ts';
import { pfn, pfnOfAddress, addressOfPfn } from '../../src/units/pfn.ts';
import { deviceId, linkId, nodeId } from '../../src/units/ids.ts';
import { transferTimePs } from '../../src/units/transfer.ts';

describe('page geometry', () => {
  it('has 4 KiB pages and 2 MiB PMDs', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(2 ** PAGE_SHIFT).toBe(PAGE_SIZE);
    expect(PMD_PAGES).toBe(512);
    expect(PMD_SIZE).toBe(2 * 1024 * 1024);
    expect(pagesToBytes(3)).toBe(12288);
    expect([0, 1, 4096, 4097, 8192].map(bytesToPages)).toEqual([0, 1, 1, 2, 2]);
  });

  it('converts addresses above 2^32 without 32-bit truncation', () => {
    const addr = 2 ** 40 + 5 * 4096 + 17;
    expect(vpnOfAddress(addr)).toBe(2 ** 28 + 5);
    expect(addressOfVpn(vpn(2 ** 28 + 5))).toBe(2 ** 40 + 5 * 4096);
    expect(pfnOfAddress(2 ** 36)).toBe(2 ** 24);
    expect(addressOfPfn(pfn(7))).toBe(7 * 4096);
  });

  it('rejects invalid page numbers and ids', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      expect(() => vpn(bad)).toThrow(RangeError);
      expect(() => pfn(bad)).toThrow(RangeError);
      expect(() => deviceId(bad)).toThrow(RangeError);
      expect(() => linkId(bad)).toThrow(RangeError);
      expect(() => nodeId(bad)).toThrow(RangeError);
    }
    expect(deviceId(3)).toBe(3);
    expect(nodeId(0)).toBe(0);
  });
});

describe('bytes', () => {
  it('constructs exact byte counts', () => {
    expect(bytes(0)).toBe(0);
    expect(kib(4)).toBe(4096);
    expect(mib(2)).toBe(2 * MIB);
    expect(gib(1.5)).toBe(1.5 * GIB);
    expect(kib(0.5)).toBe(512);
    expect(KIB).toBe(1024);
  });

  it('rejects fractional, negative and non-finite sizes', () => {
    expect(() => bytes(-1)).toThrow(RangeError);
    expect(() => bytes(1.5)).toThrow(RangeError);
    expect(() => bytes(NaN)).toThrow(RangeError);
    expect(() => kib(0.1)).toThrow(RangeError);
  });

  it('formats binary sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(100)).toBe('100 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(4096)).toBe('4 KiB');
    expect(formatBytes(mib(2))).toBe('2 MiB');
    expect(formatBytes(gib(1.5))).toBe('1.5 GiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1000)).toBe('1000 B');
    expect(formatBytes(1234567)).toBe('1.18 MiB');
    expect(formatBytes(MIB - 1)).toBe('1 MiB'); // 1023.999 KiB rounds up into the next unit
    expect(formatBytes(-4096)).toBe('-4 KiB');
    expect(formatBytes(2 * 1024 * GIB)).toBe('2 TiB');
  });
});

describe('time', () => {
  it('converts to integer picoseconds', () => {
    expect(ps(5)).toBe(5);
    expect(ns(1)).toBe(1_000);
    expect(us(1)).toBe(1_000_000);
    expect(ms(1)).toBe(1_000_000_000);
    expect(s(1)).toBe(PS_PER_S);
    expect(ns(10.9227)).toBe(10_923); // rounds to nearest ps
    expect(ps(2.5)).toBe(3);
    expect(ns(1.234)).toBe(1_234); // 1.234 * 1000 is 1233.9999… in binary; rounding fixes it
    expect(Object.is(ps(-0.2), 0)).toBe(true);
  });

  it('always yields safe integers and rejects unrepresentable values', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (x) => {
      for (const f of [ps, ns, us, ms]) expect(Number.isSafeInteger(f(x))).toBe(true);
    }));
    expect(() => ns(NaN)).toThrow(RangeError);
    expect(() => s(Infinity)).toThrow(RangeError);
    expect(() => s(1e6)).toThrow(RangeError); // 1e18 ps > 2^53
  });

  it('formats human-readable times', () => {
    expect(formatTime(0)).toBe('0 ps');
    expect(formatTime(999)).toBe('999 ps');
    expect(formatTime(1_000)).toBe('1 ns');
    expect(formatTime(10_923)).toBe('10.923 ns');
    expect(formatTime(ms(1.234))).toBe('1.234 ms');
    expect(formatTime(us(2.5))).toBe('2.5 us');
    expect(formatTime(s(3))).toBe('3 s');
    expect(formatTime(s(7200))).toBe('7200 s');
    expect(formatTime(999_999_600)).toBe('1 ms'); // 999.9996 us would print as "1000 us"
    expect(formatTime(-ns(5))).toBe('-5 ns');
  });
});

describe('transferTimePs', () => {
  it('computes a 4 KiB copy at 375 GB/s, rounded up', () => {
    // 4096e12 / 375e9 = 10922.67 ps
    expect(transferTimePs(PAGE_SIZE, 375e9)).toBe(10_923);
  });

  it('is exact when the division is exact and rounds up otherwise', () => {
    expect(transferTimePs(0, 1e9)).toBe(0);
    expect(transferTimePs(1000, 1e12)).toBe(1000);
    expect(transferTimePs(1, 1e12)).toBe(1);
    expect(transferTimePs(1, 3e12)).toBe(1); // 0.33 ps → 1 ps
    expect(transferTimePs(mib(2), 2 * MIB)).toBe(PS_PER_S); // BigInt path, exact
    expect(transferTimePs(mib(2) + 1, 2 * MIB)).toBe(PS_PER_S + 476_838); // +1e12/2^21 = 476837.2 ps, up
    expect(transferTimePs(3, 2.5)).toBe(1.2 * PS_PER_S); // fractional bandwidth
  });

  it('matches exact BigInt ceil division for arbitrary sizes and bandwidths', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.integer({ min: 1_000_000, max: 2_000_000_000_000 }),
      (b, bw) => {
        const num = BigInt(b) * 10n ** 12n;
        const want = Number((num + BigInt(bw) - 1n) / BigInt(bw));
        expect(transferTimePs(b, bw)).toBe(want);
      },
    ));
  });

  it('rejects bad inputs', () => {
    expect(() => transferTimePs(4096, 0)).toThrow(RangeError);
    expect(() => transferTimePs(4096, -1)).toThrow(RangeError);
    expect(() => transferTimePs(4096, Infinity)).toThrow(RangeError);
    expect(() => transferTimePs(-1, 1e9)).toThrow(RangeError);
    expect(() => transferTimePs(1.5, 1e9)).toThrow(RangeError);
  });
});
