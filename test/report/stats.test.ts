import { describe, it, expect } from 'vitest';
import { runStats, statsTxt } from '../../src/report/stats.ts';
import { tinyResults, EMPTY_LATENCY } from './tiny.ts';
import { buildFixture } from './fixture.ts';

/** `name value # description (unit)` lines of a stats.txt, as [name, value, unit]. */
function statLines(text: string): [string, string, string][] {
  return text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => {
    const m = /^(\S+) +(\S+) +# .+ \(([A-Za-z/]+)\)$/.exec(l);
    expect(m, l).not.toBeNull();
    return [m![1], m![2], m![3]];
  });
}

describe('stats.txt', () => {
  const tiny = tinyResults();
  const text = statsTxt(tiny);
  const lines = statLines(text);
  const value = (name: string): string => lines.find(([n]) => n === name)![1];

  it('has gem5\'s markers, one line per statistic, unique names, and states its one time unit', () => {
    expect(text.split('\n').slice(0, 4)).toEqual([
      '# hetmem run "tiny", seed 1: name value # description (unit)',
      '# time unit: ps (every time in this file is in picoseconds; sizes in bytes)',
      '',
      '---------- Begin Simulation Statistics ----------',
    ]);
    expect(text.endsWith('---------- End Simulation Statistics   ----------\n')).toBe(true);
    expect(lines.length).toBe(runStats(tiny).length);
    expect(new Set(lines.map(([n]) => n)).size).toBe(lines.length);
    // Times are ps or not times at all: no ns, µs or seconds anywhere.
    expect(new Set(lines.map(([, , u]) => u))).toEqual(new Set(['ps', 'Count', 'Byte', 'Byte/Second', 'Ratio', 'Unspecified']));
  });

  it('writes the run\'s values, batch times converted from the records\' ns', () => {
    expect(value('sim.time')).toBe('250000000');
    expect(value('devices.gpu0.faults.raised')).toBe('1200');
    expect(value('devices.gpu0.time.stall')).toBe('2500000000');
    expect(value('links.cpu->gpu0.bytes')).toBe('4096000');
    // 4,096,000 B over 250 µs of a 32 GB/s direction.
    expect(value('links.cpu->gpu0.utilisation')).toBe((4_096_000 / (32e9 * 250e-6)).toFixed(6));
    expect(value('faultLatency.p50')).toBe('20000000');
    expect(value('faultLatency.mean')).toBe('25000000');
    const fx = buildFixture();
    const fxLines = statLines(statsTxt(fx));
    expect(fxLines.find(([n]) => n === 'batches.time')![1]).toBe(String(fx.batches.reduce((a, b) => a + b.time, 0) * 1000));
    expect(fxLines.find(([n]) => n === 'batches.kept')![1]).toBe('50');
    expect(fxLines.find(([n]) => n === 'batches.count')![1]).toBe('50');
  });

  it('writes nan where the results file has no value (unlimited link, an older file\'s missing split)', () => {
    const r = tinyResults({
      links: [{ ...tiny.links[0], bandwidth: null, copyBytes: null }],
      cpu: { ...tiny.cpu, deviceMigrateToRam: null },
      faultLatency: EMPTY_LATENCY,
    });
    const l = statLines(statsTxt(r));
    const v = (name: string): string => l.find(([n]) => n === name)![1];
    expect(v('links.cpu->gpu0.bandwidth')).toBe('nan');
    expect(v('links.cpu->gpu0.utilisation')).toBe('nan');
    expect(v('links.cpu->gpu0.copyBytes')).toBe('nan');
    expect(v('cpu.deviceMigrateToRam')).toBe('nan');
    expect(v('faultLatency.p99')).toBe('nan');
  });

  it('is deterministic and aligns its columns', () => {
    expect(statsTxt(tinyResults())).toBe(text);
    const hashAt = new Set(text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => l.indexOf(' # ')));
    expect(hashAt.size).toBe(1);
  });
});
