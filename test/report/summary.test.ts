import { describe, it, expect } from 'vitest';
import { compareTable, linkUtilisation, summaryTable } from '../../src/report/summary.ts';
import { formatColumns, formatCount, formatRate, formatSignedPercent, quantile } from '../../src/report/format.ts';
import { buildFixture } from './fixture.ts';
import { tinyDevice, tinyResults, EMPTY_LATENCY } from './tiny.ts';

describe('summaryTable', () => {
  it('lists the traffic per DMA path of multi-path devices only', () => {
    const nic = tinyDevice('nic0', { driver: 'pinning', paths: [
      { endpoint: 'nic0', iommu: true, mappings: 3, bytes: 3 * 4096, iotlbMisses: 2 },
      { endpoint: 'nic0-pf1', iommu: false, mappings: 1, bytes: 4096, iotlbMisses: 0 },
    ] });
    const one = tinyDevice('nic1', { driver: 'pinning', paths: [{ endpoint: 'nic1', iommu: false, mappings: 4, bytes: 4 * 4096, iotlbMisses: 0 }] });
    const out = summaryTable(tinyResults({ devices: [nic, one] }));
    expect(out).toContain(`  device  path      iommu       mappings   bytes  share  IOTLB misses
  nic0    nic0      translated         3  12 KiB    75%             2
  nic0    nic0-pf1  none               1   4 KiB    25%             -
`);
    expect(out).not.toMatch(/nic1 +nic1/);
    expect(summaryTable(tinyResults())).not.toContain('IOTLB misses');
  });

  it('prints run totals, a device table and a link table with aligned columns and human units', () => {
    expect(summaryTable(tinyResults())).toBe(`run tiny (seed 1)
  simulated time  250 us
  events          12,345
  faults          1,200 raised = 1,000 serviced + 50 duplicates + 150 coalesced + 0 throttled + 0 flushed + 0 overflows + 0 fatal
  batches         4 (4 replays)
  fault latency   p50 20 us, p99 40 us, max 40 us over 4 faults
  migrated        3.91 MiB to devices, 1 MiB from devices, 24 pages prefetched
  evictions       256 pages in 1 units
  thrashing       2 events, 1 throttles, 0 pins
  cpu             7 faults, 2 migrations to RAM, 0 COW, busy 100 us summed over 4 threads (25 us per thread)
  device pulls    0 pages migrated to RAM for another device's fault (migrate_to_ram)
  lane time       device stall and busy are lane-seconds: summed over all lanes, so they can exceed the simulated time

  device  raised  = serviced  + duplicates  + coalesced  + throttled  + flushed  + overflows  + fatal  batches  replays
  gpu0     1,200       1,000            50          150            0          0            0        0        4        4

  device  profile   driver      migrated in  migrated out    evicted  thrashing  lanes  stall, lane-seconds  per lane  busy, lane-seconds  per lane
  gpu0    test-gpu  hmm-mirror     3.91 MiB         1 MiB  256 pages          2     10               2.5 ms    250 us                9 ms    900 us

  link       kind  bandwidth    copied  transfers  remote access     total  avg util
  cpu->gpu0  pcie    32 GB/s  3.85 MiB         40       62.5 KiB  3.91 MiB     51.2%
`);
  });

  it('says when no faults were serviced, marks no-data runs and unlimited links, and omits empty tables', () => {
    const out = summaryTable(tinyResults({
      data: false, devices: [], faultLatency: EMPTY_LATENCY,
      links: [{ id: 'gpu0->gpu1', link: 'x', kind: 'other', from: 'gpu0', to: 'gpu1', bandwidth: null, bytes: 0, copyBytes: 0, transfers: 0, remoteBytes: 0 }],
    }));
    expect(out.split('\n')[0]).toBe('run tiny (seed 1, no page data)');
    expect(out).toContain('  fault latency   no faults serviced\n');
    expect(out).not.toContain('device  profile');
    expect(out).toContain('  gpu0->gpu1  other  unlimited');
    expect(out.trimEnd().split('\n').at(-1)).toBe('  gpu0->gpu1  other  unlimited     0 B          0            0 B    0 B         -');
  });

  it('aligns every row of the fixture\'s tables to the same width and is deterministic', () => {
    const out = summaryTable(buildFixture());
    expect(summaryTable(buildFixture())).toBe(out);
    const blocks = out.trimEnd().split('\n\n').slice(1);
    expect(blocks.length).toBe(3);
    for (const block of blocks) {
      const lines = block.split('\n');
      // Right-aligned last column: every line ends at the same column.
      expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    }
    expect(out).toContain('gpu0->gpu1');
    expect(out).toContain('26.4 GB/s');
  });
});

describe('compareTable', () => {
  const a = tinyResults();
  const b = tinyResults({
    name: 'tiny-b', endPs: 200_000_000, faultLatency: EMPTY_LATENCY,
    devices: [tinyDevice('gpu0', { batches: 6 }), tinyDevice('gpu1')], links: [],
  });

  it('puts two runs side by side with a delta column', () => {
    expect(compareTable(a, b, 'base', 'new')).toBe(`metric                            base       new  delta
run                               tiny    tiny-b  differs
seed                                 1         1  =
simulated time                  250 us    200 us  -50 us (-20%)
events                          12,345    12,345  =
faults raised                    1,200     2,400  +1,200 (+100%)
faults serviced                  1,000     2,000  +1,000 (+100%)
faults duplicate                    50       100  +50 (+100%)
faults coalesced                   150       300  +150 (+100%)
faults throttled                     0         0  =
faults flushed                       0         0  =
faults overflowed                    0         0  =
faults fatal                         0         0  =
batches                              4        10  +6 (+150%)
fault latency p50                20 us         -
fault latency p99                40 us         -
migrated to devices           3.91 MiB  7.81 MiB  +3.91 MiB (+100%)
migrated from devices            1 MiB     2 MiB  +1 MiB (+100%)
evicted pages                      256       512  +256 (+100%)
thrashing events                     2         4  +2 (+100%)
cpu faults                           7         7  =
cpu migrations to RAM                2         2  =
device pulls to RAM                  0         0  =
gpu0 faults raised               1,200     1,200  =
gpu0 batches                         4         6  +2 (+50%)
gpu0 migrated in              3.91 MiB  3.91 MiB  =
gpu0 migrated out                1 MiB     1 MiB  =
gpu0 fault service               40 us     40 us  =
gpu0 pinning                      0 ps      0 ps  =
gpu0 stall, lane-seconds        2.5 ms    2.5 ms  =
gpu0 stall per lane             250 us    250 us  =
gpu0 busy, lane-seconds           9 ms      9 ms  =
gpu0 busy per lane              900 us    900 us  =
gpu1 faults raised                   -     1,200
gpu1 batches                         -         4
gpu1 migrated in                     -  3.91 MiB
gpu1 migrated out                    -     1 MiB
gpu1 fault service                   -     40 us
gpu1 pinning                         -      0 ps
gpu1 stall, lane-seconds             -    2.5 ms
gpu1 stall per lane                  -    250 us
gpu1 busy, lane-seconds              -      9 ms
gpu1 busy per lane                   -    900 us
link cpu->gpu0 copied         3.85 MiB         -
link cpu->gpu0 remote access  62.5 KiB         -
link cpu->gpu0 total          3.91 MiB         -
`);
  });

  it('shows only "=" deltas for a run compared with itself, and no percentage when A is zero', () => {
    const f = buildFixture();
    const out = compareTable(f, f, 'A', 'B');
    for (const line of out.trimEnd().split('\n').slice(1)) expect(line.endsWith('  =')).toBe(true);
    const zero = tinyResults({ cpu: { ...a.cpu, faults: 0 } });
    expect(compareTable(zero, a, 'A', 'B')).toMatch(/^cpu faults +0 +7 {2}\+7$/m);
  });
});

describe('format helpers', () => {
  it('formats counts, rates, signed percentages and quantiles', () => {
    expect([0, 999, 1000, 1234567, -4500, 2.5].map(formatCount)).toEqual(['0', '999', '1,000', '1,234,567', '-4,500', '2.5']);
    expect([0, 999, 26.4e9, 32e9, 1.5e12].map(formatRate)).toEqual(['0 B/s', '999 B/s', '26.4 GB/s', '32 GB/s', '1.5 TB/s']);
    expect([0.1234, -0.2, -0.000437, 0, 1].map(formatSignedPercent)).toEqual(['+12.3%', '-20%', '-0.044%', '0%', '+100%']);
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile([5, 1, 4, 2, 3], 0.99)).toBe(5);
    expect(quantile([5, 1, 4, 2, 3], 0)).toBe(1);
    expect(quantile([], 0.5)).toBeNaN();
    expect(formatColumns([['a', '1'], ['bbb', '22']], ['left', 'right'], '> ')).toBe('> a     1\n> bbb  22');
  });

  it('computes average link utilisation, or null for unlimited links', () => {
    expect(linkUtilisation(16e9, 32e9, 1e12)).toBe(0.5);
    expect(linkUtilisation(1, null, 1e12)).toBeNull();
    expect(linkUtilisation(1, 1e9, 0)).toBeNull();
  });
});

describe('cross-device lines', () => {
  it('peer access per path, owner groups and contention appear only when a run has them', () => {
    const plain = summaryTable(tinyResults());
    for (const k of ['peer access', 'owner groups', 'contention']) expect(plain).not.toContain(k);
    const dev = tinyDevice('gpu1', {
      peerPaths: { 'p2p-bus-addr': { accesses: 2048, bytes: 2048 * 256 } },
      contention: { ebusy: 3, evictedPages: 512, rwsemWaits: 2, rwsemWaitPs: 5_000_000, timesliceWaits: 1 },
    });
    const r = tinyResults({
      devices: [tinyDevice('gpu0'), dev],
      crossDevice: { owners: 'interconnect', peerPages: 'owner', migrateLock: 'none', invalidation: 'one-pass', sourcePeerMigrates: true, timeslicePs: 0, groups: [['gpu0', 'gpu1']], advice: [] },
    });
    const out = summaryTable(r);
    expect(out).toMatch(/peer access +gpu1 2,048 accesses \(512 KiB\) over PCIe P2P under a switch/);
    expect(out).toMatch(/owner groups +gpu0 \+ gpu1 \(owners: interconnect\)/);
    expect(out).toMatch(/contention +3 -EBUSY, 512 pages evicted to retry, 2 rwsem waits \(5 us\), 1 timeslice waits/);
  });
});
