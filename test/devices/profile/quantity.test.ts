import { describe, expect, it } from 'vitest';
import { parseBandwidth, parseDuration, parseSize, QuantityError } from '../../../src/devices/profile/quantity.ts';

describe('parseSize', () => {
  it('reads binary units and byte counts', () => {
    expect(parseSize('4 KiB')).toBe(4096);
    expect(parseSize('4KiB')).toBe(4096);
    expect(parseSize('2 MiB')).toBe(2 * 1024 * 1024);
    expect(parseSize('16 GiB')).toBe(16 * 2 ** 30);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('1 TiB')).toBe(2 ** 40);
    expect(parseSize('0 B')).toBe(0);
    expect(parseSize(' 512 B ')).toBe(512);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize(65536)).toBe(65536);
  });

  it('rejects unknown, ambiguous and fractional sizes with clear messages', () => {
    expect(() => parseSize('12 parsecs')).toThrow(
      new QuantityError('unknown size unit "parsecs" in "12 parsecs"; expected one of B, KiB, MiB, GiB, TiB'),
    );
    expect(() => parseSize('4 KB')).toThrow('ambiguous size unit "KB" in "4 KB"; write "4 KiB" (1024-based) or a byte count');
    expect(() => parseSize('2 mb')).toThrow('ambiguous size unit "mb" in "2 mb"; write "2 MiB" (1024-based) or a byte count');
    expect(() => parseSize('1.5 B')).toThrow('expected a size that is a whole, non-negative number of bytes, got "1.5 B"');
    expect(() => parseSize(-4096)).toThrow('expected a size that is a whole, non-negative number of bytes, got -4096');
    expect(() => parseSize('lots')).toThrow('expected a size such as "4 KiB" or a byte count, got "lots"');
    expect(() => parseSize(true)).toThrow('expected a size such as "4 KiB" or a byte count, got true');
    expect(() => parseSize(['4 KiB'])).toThrow('got a list');
  });
});

describe('parseBandwidth', () => {
  it('reads decimal, binary and bit units', () => {
    expect(parseBandwidth('11.95 GB/s')).toBe(11_950_000_000);
    expect(parseBandwidth('2.17 GB/s')).toBe(2_170_000_000);
    expect(parseBandwidth('375 GB/s')).toBe(375e9);
    expect(parseBandwidth('12 GiB/s')).toBe(12 * 2 ** 30);
    expect(parseBandwidth('200 Gbit/s')).toBe(25e9);
    expect(parseBandwidth('100 Gb/s')).toBe(12.5e9);
    expect(parseBandwidth('500 MB/s')).toBe(5e8);
    expect(parseBandwidth(16e9)).toBe(16e9);
  });

  it('rejects unknown units and non-positive bandwidths', () => {
    expect(() => parseBandwidth('12 parsecs')).toThrow(
      'unknown bandwidth unit "parsecs" in "12 parsecs"; expected one of B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s, Mbit/s, Gbit/s, Tbit/s, Mb/s, Gb/s, Tb/s',
    );
    expect(() => parseBandwidth('12 GB')).toThrow('unknown bandwidth unit "GB" in "12 GB"');
    expect(() => parseBandwidth('0 GB/s')).toThrow('expected a bandwidth greater than zero, got "0 GB/s"');
    expect(() => parseBandwidth(-1)).toThrow('expected a bandwidth greater than zero, got -1');
    expect(() => parseBandwidth(null)).toThrow('expected a bandwidth such as "11.95 GB/s" or a number of bytes/s, got null');
  });
});

describe('parseDuration', () => {
  it('reads ps, ns, us, µs, ms and s into integer picoseconds', () => {
    expect(parseDuration('45 us')).toBe(45_000_000);
    expect(parseDuration('45 µs')).toBe(45_000_000);
    expect(parseDuration('45 μs')).toBe(45_000_000); // Greek mu
    expect(parseDuration('1.5 ms')).toBe(1_500_000_000);
    expect(parseDuration('200 ns')).toBe(200_000);
    expect(parseDuration('67.5 ns')).toBe(67_500);
    expect(parseDuration('1 s')).toBe(1e12);
    expect(parseDuration('10923 ps')).toBe(10_923);
    expect(parseDuration('0.4 ps')).toBe(0);
    expect(parseDuration(0)).toBe(0);
  });

  it('rejects unknown units, bare numbers and negative times', () => {
    expect(() => parseDuration('12 parsecs')).toThrow(
      new QuantityError('unknown duration unit "parsecs" in "12 parsecs"; expected one of ps, ns, us, µs, ms, s'),
    );
    expect(() => parseDuration(45)).toThrow('a duration needs a unit (ps, ns, us, µs, ms, s), e.g. "45 us"; got 45');
    expect(() => parseDuration('45')).toThrow('a duration needs a unit (ps, ns, us, µs, ms, s), e.g. "45 us"; got "45"');
    expect(() => parseDuration('-3 us')).toThrow('expected a duration that is non-negative and at most ~2.5 hours, got "-3 us"');
    expect(() => parseDuration('1e9 s')).toThrow('expected a duration that is non-negative and at most ~2.5 hours');
    expect(() => parseDuration('soon')).toThrow('expected a duration such as "45 us", got "soon"');
  });
});
