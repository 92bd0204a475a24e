import { describe, it, expect } from 'vitest';
import { corpusTraces, expectCorpusMatches } from './corpus.ts';

// Random traces recorded on Linux 6.1 (test/oracle-corpus/README.md), part b: r3-, r5-, r6-, r11-
const traces = corpusTraces(['r3-', 'r5-', 'r6-', 'r11-']);

describe('oracle corpus part b', () => {
  it('has its traces', () => {
    expect(traces.length).toBeGreaterThanOrEqual(1000);
  });
  it('every trace replays byte for byte', () => {
    expectCorpusMatches(traces);
  });
});
