import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { LONG_612_DIR, corpusTraces, expectCorpusMatches } from './corpus.ts';

// Random scripts of 150-300 ops (tools/gen-traces.ts `long`) recorded on Linux 6.12
// (test/oracle-long-612/README.md): every one replays byte for byte on kernel '6.12'.
const traces = corpusTraces(['l'], LONG_612_DIR);

describe('oracle corpus: long scripts recorded on Linux 6.12', () => {
  it('has its traces, each the first mmap and then 150-300 ops', () => {
    expect(traces.length).toBeGreaterThanOrEqual(590);
    for (const f of traces) {
      const ops = readFileSync(join(LONG_612_DIR, f), 'utf8').split('\n').filter((l) => l !== '').length;
      expect(ops, f).toBeGreaterThanOrEqual(151);
      expect(ops, f).toBeLessThanOrEqual(301);
    }
  });
  it('every script replays byte for byte on 6.12', () => {
    expectCorpusMatches(traces, LONG_612_DIR, 1, '6.12');
  });
  it('enough of them print something else on 6.1, so they test the switches', () => {
    let differ = 0;
    for (const f of traces) {
      const expected = readFileSync(join(LONG_612_DIR, f.replace(/\.trace$/, '.out')), 'utf8');
      if (runTrace(readFileSync(join(LONG_612_DIR, f), 'utf8'), { kernel: '6.1' }).lines.join('\n') + '\n' !== expected) differ++;
    }
    expect(differ).toBeGreaterThanOrEqual(80);
  });
});
