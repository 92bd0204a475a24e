import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LONG_DIR, LONG_612_DIR, corpusTraces, expectCorpusMatches } from './corpus.ts';

// The long random scripts of test/oracle-long-612 (150-300 ops), recorded on Linux 6.1
// (test/oracle-long/README.md): every one replays byte for byte on kernel '6.1'.
const traces = corpusTraces(['l'], LONG_DIR);

describe('oracle corpus: long scripts recorded on Linux 6.1', () => {
  it('has its traces, the same scripts as the 6.12 long corpus', () => {
    expect(traces.length).toBeGreaterThanOrEqual(590);
    for (const f of traces) expect(readFileSync(join(LONG_DIR, f), 'utf8'), f).toBe(readFileSync(join(LONG_612_DIR, f), 'utf8'));
  });
  it('every script replays byte for byte on 6.1', () => {
    expectCorpusMatches(traces, LONG_DIR, 1, '6.1');
  });
});
