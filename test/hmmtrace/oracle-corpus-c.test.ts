import { describe, it, expect } from 'vitest';
import { corpusTraces, expectCorpusMatches } from './corpus.ts';

// Random traces recorded on Linux 6.1 (test/oracle-corpus/README.md), part c: r4-, r8-, r13-
const traces = corpusTraces('r4-,r8-,r13-'.split(','));

describe('oracle corpus part c', () => {
  it('has its traces', () => {
    expect(traces.length).toBeGreaterThanOrEqual(1000);
  });
  it('every trace replays byte for byte', () => {
    expectCorpusMatches(traces);
  });
});
