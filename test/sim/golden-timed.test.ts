// The golden traces replayed on a timed machine: the op scripts run on the SimMachine's core
// with its engine, topology and a timed HMM-mirror GPU bound to every process (its interval
// notifier live, charging shootdowns). Every output line must stay what Linux printed.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TraceRunner } from '../../src/hmmtrace/runner.ts';
import { SimMachine } from '../../src/sim/machine.ts';
import { SHARED_TRACES } from '../paths.ts';
import { profile } from './helpers.ts';

const traces = readdirSync(SHARED_TRACES).filter((f) => f.endsWith('.trace')).sort();

describe('golden traces with the timed model attached', () => {
  let invalidations = 0;
  for (const f of traces) {
    it(f, () => {
      const sim = new SimMachine({ seed: 1, kernel: '6.1', dmirror: true, bindAll: true, devices: [{ name: 'gpu0', profile: profile('gpu-pcie4') }] });
      const text = readFileSync(join(SHARED_TRACES, f), 'utf8');
      const expected = readFileSync(join(SHARED_TRACES, f.replace(/\.trace$/, '.out')), 'utf8');
      const r = new TraceRunner(false, f, sim.core).run(text);
      expect(r.lines.join('\n') + '\n').toBe(expected);
      invalidations += sim.results(f).devices[0].tlb.invalidations + sim.core.sys.mms.size;
    });
  }
  it('the timed device really was bound', () => {
    expect(traces.length).toBeGreaterThan(30);
    expect(invalidations).toBeGreaterThan(0);
  });
});
