import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { SHARED_TRACES } from '../paths.ts';

// Every public trace recorded on Linux 6.1 must replay byte for byte.
const traces = readdirSync(SHARED_TRACES).filter((f) => f.endsWith('.trace')).sort();

describe('golden traces from Linux 6.1 (shared/hmmtrace/traces)', () => {
  it('finds the shared corpus', () => {
    expect(traces.length).toBeGreaterThanOrEqual(30);
  });
  for (const f of traces) {
    it(f, () => {
      const text = readFileSync(join(SHARED_TRACES, f), 'utf8');
      const expected = readFileSync(join(SHARED_TRACES, f.replace(/\.trace$/, '.out')), 'utf8');
      expect(runTrace(text, { kernel: '6.1' }).lines.join('\n') + '\n').toBe(expected);
    });
  }
});
