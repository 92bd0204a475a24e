import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { ROOT } from '../paths.ts';

// Random traces whose outputs were recorded on the real Linux 6.1 kernel (test/oracle-corpus/README.md).
const dir = join(ROOT, 'test', 'oracle-corpus');
const traces = readdirSync(dir).filter((f) => f.endsWith('.trace')).sort();

describe('random traces recorded on Linux 6.1', () => {
  it('has the corpus', () => {
    expect(traces.length).toBeGreaterThanOrEqual(2800);
  });
  it('every trace replays byte for byte', () => {
    const failures: string[] = [];
    for (const f of traces) {
      const expected = readFileSync(join(dir, f.replace(/\.trace$/, '.out')), 'utf8');
      const actual = runTrace(readFileSync(join(dir, f), 'utf8')).lines.join('\n') + '\n';
      if (actual !== expected) failures.push(f);
    }
    expect(failures).toEqual([]);
  });
});
