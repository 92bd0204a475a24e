import { describe, it, expect } from 'vitest';
import { checkResults, parseResults, ResultsFileError, resultsJson } from '../../src/report/results-schema.ts';
import { BATCH_FIELDS, BATCH_TIME_FIELDS, RESULTS_SCHEMA_VERSION } from '../../src/sim/results.ts';
import { LogHistogram } from '../../src/units/histogram.ts';
import { batchSummaryOf } from '../../src/sim/metrics.ts';
import type { RunResults } from '../../src/sim/results.ts';
import { summaryTable } from '../../src/report/summary.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { formatTime } from '../../src/units/time.ts';
import { formatBytes } from '../../src/units/bytes.ts';
import { formatCount } from '../../src/report/format.ts';
import { buildFixture } from './fixture.ts';

const FILE = 'runs/a.json';
/** The fixture as loosely typed JSON, for breaking it on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
const good = buildFixture();

/** The message parseResults throws for the fixture after `mutate` edits its JSON copy. */
function errorFor(mutate: (r: Loose) => void): string {
  const copy = JSON.parse(JSON.stringify(good)) as Loose;
  mutate(copy);
  try {
    parseResults(JSON.stringify(copy), FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ResultsFileError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected parseResults to throw');
}

describe('parseResults', () => {
  it('accepts what a run writes, unchanged', () => {
    const text = JSON.stringify(good, null, 2);
    expect(parseResults(text, FILE)).toEqual(good);
    expect(parseResults('\uFEFF' + text, FILE)).toEqual(good);
    expect(checkResults(JSON.parse(text), FILE)).toEqual(good);
  });

  it('writes every time in ps, stated by timeUnit, and reads the file back to the same results', () => {
    const text = resultsJson(good);
    const raw = JSON.parse(text) as Loose;
    expect(Object.keys(raw).slice(0, 2)).toEqual(['schema', 'timeUnit']);
    expect(raw.timeUnit).toBe('ps');
    // The batch records' uvm-eval ns become ps; their counts stay as they are.
    for (const f of BATCH_FIELDS) {
      const scale = (BATCH_TIME_FIELDS as readonly string[]).includes(f) ? 1000 : 1;
      expect(raw.batches.map((b: Loose) => b[f])).toEqual(good.batches.map((b) => (typeof b[f] === 'number' ? (b[f] as number) * scale : b[f])));
    }
    expect(raw.batches[3].time).toBeGreaterThan(0);
    expect(parseResults(text, FILE)).toEqual(good);
    expect(resultsJson(good)).toBe(text);
  });

  it('reads a file without timeUnit (written before it) with its batch times as ns, and refuses another unit', () => {
    // An older file is the bare RunResults: batch times in ns already.
    expect(parseResults(JSON.stringify(good), FILE)).toEqual(good);
    expect(errorFor((r) => (r.timeUnit = 'ns'))).toBe('runs/a.json: timeUnit: expected one of "ps", got "ns"');
  });

  it('accepts null bandwidth and spans without args, and drops unknown keys', () => {
    const r = errorFree((c) => {
      c.links[0].bandwidth = null;
      delete c.spans[0].args;
      c.extra = { anything: true };
    });
    expect(r.links[0].bandwidth).toBeNull();
    expect(r.spans[0].args).toBeUndefined();
    expect('extra' in r).toBe(false);
  });

  it('names the file, the path and what was expected', () => {
    expect(errorFor((c) => (c.devices[0].faults.raised = '12'))).toBe('runs/a.json: devices[0].faults.raised: expected a number');
    expect(errorFor((c) => delete c.devices[0].faults.raised)).toBe('runs/a.json: devices[0].faults.raised: expected a number');
    expect(errorFor((c) => (c.devices[0].faults.raised = 1.5))).toBe('runs/a.json: devices[0].faults.raised: expected an integer, got 1.5');
    expect(errorFor((c) => (c.batches[7].num_evict = -1))).toBe('runs/a.json: batches[7].num_evict: expected a number >= 0, got -1');
    expect(errorFor((c) => (c.devices[1].driver = 'cuda'))).toBe('runs/a.json: devices[1].driver: expected one of "hmm-mirror", "sva", "pinning", got "cuda"');
    expect(errorFor((c) => (c.links[2].bandwidth = 'fast'))).toBe('runs/a.json: links[2].bandwidth: expected a number (bytes/s) or null (unlimited)');
    expect(errorFor((c) => (c.links[2].bandwidth = 0))).toBe('runs/a.json: links[2].bandwidth: expected a number > 0, got 0');
    expect(errorFor((c) => (c.timeline.bucketPs = 0))).toBe('runs/a.json: timeline.bucketPs: expected a number > 0, got 0');
    expect(errorFor((c) => (c.timeline.residency.gpu0[3] = null))).toBe('runs/a.json: timeline.residency.gpu0[3]: expected a number');
    expect(errorFor((c) => (c.timeline.linkBytes['cpu->gpu0'][1] = 'x'))).toBe('runs/a.json: timeline.linkBytes["cpu->gpu0"][1]: expected a number');
    expect(errorFor((c) => (c.spans[0].args.faults = true))).toBe('runs/a.json: spans[0].args.faults: expected a number or a string');
    expect(errorFor((c) => (c.data = 'yes'))).toBe('runs/a.json: data: expected true or false');
    expect(errorFor((c) => (c.devices = {}))).toBe('runs/a.json: devices: expected an array');
    expect(errorFor((c) => (c.cpu = 3))).toBe('runs/a.json: cpu: expected an object');
    expect(errorFor((c) => (c.timeline.faults = []))).toBe('runs/a.json: timeline.faults: expected an object');
    expect(errorFor((c) => (c.name = 5))).toBe('runs/a.json: name: expected a string');
  });

  it('reads a version 1 file (a latency per fault, every batch record) into version 2', () => {
    const latencies = [5_000_000, 20_000_000, 20_000_000, 31_234_567];
    const v1 = JSON.parse(resultsJson(good)) as Loose;
    v1.schema = 1;
    delete v1.faultLatency;
    delete v1.batchSummary;
    v1.faultLatencies = latencies;
    const read = parseResults(JSON.stringify(v1), FILE);
    expect(read).toEqual({ ...good, faultLatency: LogHistogram.of(latencies).toJSON() });
    expect(read.batchSummary).toEqual(batchSummaryOf(good.batches));
    expect(read.schema).toBe(RESULTS_SCHEMA_VERSION);
    // A version 2 file must carry both.
    expect(errorFor((c) => delete c.faultLatency)).toBe('runs/a.json: faultLatency: expected an object');
    expect(errorFor((c) => delete c.batchSummary)).toBe('runs/a.json: batchSummary: expected an object');
    expect(errorFor((c) => {
      c.schema = 1;
      delete c.faultLatency;
    })).toBe('runs/a.json: faultLatencies: expected an array');
  });

  it('checks the schema version first, whatever else is wrong', () => {
    expect(errorFor((c) => (c.schema = 3))).toBe('runs/a.json: schema: expected results schema version 1 or 2, got 3');
    expect(errorFor((c) => {
      c.schema = 3;
      c.devices = null;
    })).toBe('runs/a.json: schema: expected results schema version 1 or 2, got 3');
    expect(errorFor((c) => delete c.schema)).toBe('runs/a.json: schema: expected a number');
  });

  it('reports the first problem only, in field order', () => {
    expect(errorFor((c) => {
      c.events = 'many';
      c.spans[3].durPs = -5;
    })).toBe('runs/a.json: events: expected a number');
  });

  it('rejects input that is not a JSON object in one line', () => {
    expect(() => parseResults('', FILE)).toThrow(new ResultsFileError('runs/a.json: expected JSON, got an empty file'));
    expect(() => parseResults('  \n', FILE)).toThrow('runs/a.json: expected JSON, got an empty file');
    expect(() => parseResults('[1,2]', FILE)).toThrow('runs/a.json: expected a JSON object of hetmem run results, got an array');
    expect(() => parseResults('"hi"', FILE)).toThrow('runs/a.json: expected a JSON object of hetmem run results, got "hi"');
    expect(() => parseResults('null', FILE)).toThrow('runs/a.json: expected a JSON object of hetmem run results, got null');
    let msg = '';
    try {
      parseResults('{"schema": 1,\n "name": }', FILE);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^runs\/a\.json: expected JSON: \S/);
    expect(msg).not.toContain('\n');
  });
});

function errorFree(mutate: (r: Loose) => void): RunResults {
  const copy = JSON.parse(JSON.stringify(good)) as Loose;
  mutate(copy);
  return parseResults(JSON.stringify(copy), FILE);
}

describe('results files written before a counter was split', () => {
  /** The fixture as an older hetmem wrote it: without the fields `strip` removes. */
  const older = (strip: (r: Loose) => void): RunResults => errorFree(strip);

  it('reads a file without deviceMigrateToRam as "not told apart" (null), and the summary says so', () => {
    const r = older((c) => delete c.cpu.deviceMigrateToRam);
    expect(r.cpu.deviceMigrateToRam).toBeNull();
    expect(r.cpu.migrateToRam).toBe(good.cpu.migrateToRam);
    const out = summaryTable(r);
    expect(out).toContain('42 migrations to RAM (CPU and device faults, not told apart)');
    expect(out).not.toContain('device pulls');
    expect(summaryTable(good)).toContain('37 migrations to RAM, ');
    expect(summaryTable(good)).toContain('device pulls    5 pages migrated to RAM');
  });
});

describe('results files without lane and thread counts', () => {
  it('read 0 lanes and threads, and show no per-lane averages', () => {
    const r = errorFree((c) => {
      for (const d of c.devices) delete d.lanes;
      delete c.cpu.threads;
    });
    expect(r.devices.map((d) => d.lanes)).toEqual([0, 0]);
    expect(r.cpu.threads).toBe(0);
    const out = summaryTable(r);
    expect(out).toContain(`busy ${formatTime(good.cpu.busyPs)} summed over threads\n`);
    const row = out.split('\n').find((l) => l.startsWith('  gpu0    a100-80g'))!;
    expect(row.trim().split(/ {2,}/).slice(-5)).toEqual(['-', formatTime(good.devices[0].time.stall), '-', formatTime(good.devices[0].time.busy), '-']);
  });
});

describe('results files from before time.pinning', () => {
  it('move a pinning device\'s registration time out of fault service, and leave other devices alone', () => {
    const r = errorFree((c) => {
      c.devices[1].driver = 'pinning';
      c.devices[1].time.faultService = 6_400_000;
      for (const d of c.devices) delete d.time.pinning;
    });
    expect(r.devices[1].time).toMatchObject({ faultService: 0, pinning: 6_400_000 });
    expect(r.devices[0].time).toMatchObject({ faultService: good.devices[0].time.faultService, pinning: 0 });
    // A file that has the field keeps it as written.
    const now = errorFree((c) => {
      c.devices[1].driver = 'pinning';
      c.devices[1].time.pinning = 5;
    });
    expect(now.devices[1].time).toMatchObject({ faultService: good.devices[1].time.faultService, pinning: 5 });
  });
});

describe('results files from before copies and remote accesses were told apart', () => {
  it('read null for both, keep the total, and the link table shows - for the split', () => {
    const r = errorFree((c) => {
      for (const l of c.links) {
        delete l.copyBytes;
        delete l.remoteBytes;
      }
    });
    expect(r.links.map((l) => [l.copyBytes, l.remoteBytes, l.bytes])).toEqual(good.links.map((l) => [null, null, l.bytes]));
    const row = summaryTable(r).split('\n').find((l) => l.startsWith('  cpu->gpu0'))!;
    const l0 = good.links[0];
    expect(row.trim().split(/ {2,}/).slice(3, 7)).toEqual(['-', formatCount(l0.transfers), '-', formatBytes(l0.bytes)]);
  });
});

describe('results files from before kernels recorded lanes and faults', () => {
  it('read null for both, and report.html\'s kernel table shows -', () => {
    const r = errorFree((c) => {
      for (const d of c.devices) for (const k of d.kernels) {
        delete k.lanes;
        delete k.faults;
      }
    });
    expect(r.devices[0].kernels[0]).toMatchObject({ name: 'init', lanes: null, faults: null });
    const html = renderReportHtml(r);
    expect(html).toContain('<tr><td>gpu0</td><td>init</td>');
    const row = html.split('\n').find((l) => l.startsWith('<tr><td>gpu0</td><td>init</td>'))!;
    expect(row.endsWith('<td class="num">-</td><td class="num">-</td></tr>')).toBe(true);
  });
});
