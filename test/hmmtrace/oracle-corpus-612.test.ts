import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { CORPUS_612_DIR, corpusTraces } from './corpus.ts';

// Random traces recorded on Linux 6.12 (test/oracle-corpus-612/README.md): every one replays
// byte for byte on kernel '6.12'.
const traces = corpusTraces(['r', 'probe-'], CORPUS_612_DIR);

describe('oracle corpus recorded on Linux 6.12', () => {
  it('has its traces', () => {
    expect(traces.length).toBeGreaterThanOrEqual(600);
  });
  it('every trace replays byte for byte on 6.12, and enough of them would not on 6.1', () => {
    const failures: string[] = [];
    let onlyOn612 = 0;
    for (const f of traces) {
      const text = readFileSync(join(CORPUS_612_DIR, f), 'utf8');
      const expected = readFileSync(join(CORPUS_612_DIR, f.replace(/\.trace$/, '.out')), 'utf8');
      if (runTrace(text, { kernel: '6.12' }).lines.join('\n') + '\n' !== expected) failures.push(f);
      if (runTrace(text, { kernel: '6.1' }).lines.join('\n') + '\n' !== expected) onlyOn612++;
    }
    expect(failures).toEqual([]);
    // The corpus tests the switches only where 6.1 would have printed something else.
    expect(onlyOn612).toBeGreaterThanOrEqual(50);
  });
});
