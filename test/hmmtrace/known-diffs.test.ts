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
  it('the README lists exactly the traces kept here', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| trace |'), readme.indexOf('\n\n', readme.indexOf('| trace |')));
    const listed = [...table.matchAll(/^\| (\S+)/gm)].map((m) => m[1]).filter((n) => n !== 'trace' && n !== '---');
    expect(listed.sort()).toEqual(traces.map((f) => f.replace(/\.trace$/, '')));
  });
  for (const f of traces) {
    it.fails(f, () => {
      const expected = readFileSync(join(dir, f.replace(/\.trace$/, '.out')), 'utf8');
      // n*: recorded on the two-node oracle of tools/oracle-numa.
      const nodes = f.startsWith('n') ? 2 : 1;
      expect(runTrace(readFileSync(join(dir, f), 'utf8'), { nodes, kernel: '6.1' }).lines.join('\n') + '\n').toBe(expected);
    });
  }
});
