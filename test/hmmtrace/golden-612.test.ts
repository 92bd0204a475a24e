import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { SHARED_TRACES, SHARED_TRACES_612 } from '../paths.ts';

// The public scripts again, with the outputs Linux 6.12 printed for them (../shared/oracle,
// KVER=6.12): every one must replay byte for byte on kernel '6.12'.
const traces = readdirSync(SHARED_TRACES_612).filter((f) => f.endsWith('.trace')).sort();
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

describe('golden traces from Linux 6.12 (shared/hmmtrace/traces-6.12)', () => {
  it('finds the shared corpus, and some of it differs from 6.1', () => {
    expect(traces.length).toBeGreaterThanOrEqual(30);
    const outs = traces.map((f) => f.replace(/\.trace$/, '.out'));
    // The corpus is only a test of the switches if the two kernels' outputs differ somewhere.
    expect(outs.filter((o) => read(SHARED_TRACES_612, o) !== read(SHARED_TRACES, o)).length).toBeGreaterThanOrEqual(5);
  });
  for (const f of traces) {
    it(f, () => {
      const expected = read(SHARED_TRACES_612, f.replace(/\.trace$/, '.out'));
      expect(runTrace(read(SHARED_TRACES_612, f), { kernel: '6.12' }).lines.join('\n') + '\n').toBe(expected);
    });
  }
});
