import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { ROOT } from '../paths.ts';

// Oracle traces the model does not match yet (test/oracle-known-diffs/README.md). Each is an
// expected failure: when the model is fixed the test fails, and the trace joins the corpus.
const dir = join(ROOT, 'test', 'oracle-known-diffs');
const traces = readdirSync(dir).filter((f) => f.endsWith('.trace')).sort();

describe('known differences from Linux 6.1', () => {
  for (const f of traces) {
    it.fails(f, () => {
      const expected = readFileSync(join(dir, f.replace(/\.trace$/, '.out')), 'utf8');
      // n*: recorded on the two-node oracle of tools/oracle-numa.
      const nodes = f.startsWith('n') ? 2 : 1;
      expect(runTrace(readFileSync(join(dir, f), 'utf8'), { nodes }).lines.join('\n') + '\n').toBe(expected);
    });
  }
});
