import { describe, it, expect } from 'vitest';
import { corpusTraces, expectCorpusMatches } from './corpus.ts';

// Random traces recorded on Linux 6.1 (test/oracle-corpus/README.md), part a: r1-,r2-,probe-
const traces = corpusTraces('r1-,r2-,probe-'.split(','));

describe('oracle corpus part a', () => {
  it('has its traces', () => {
    expect(traces.length).toBeGreaterThanOrEqual(800);
  });
  it('every trace replays byte for byte', () => {
    expectCorpusMatches(traces);
  });
});
