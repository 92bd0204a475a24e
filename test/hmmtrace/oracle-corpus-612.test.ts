import { describe, it, expect } from 'vitest';
import { CORPUS_612_FIRST as FIRST, CORPUS_612_SECOND as SECOND, replay612 } from './corpus.ts';

// Random traces recorded on Linux 6.12 (test/oracle-corpus-612/README.md): every one replays
// byte for byte on kernel '6.12'. This file replays the first recording (scripts 0-149 of each
// seed and the probes); oracle-corpus-612b.test.ts the rest, so each file stays well inside the
// time limit.
describe('oracle corpus recorded on Linux 6.12 (first recording)', () => {
  it('has its traces', () => {
    expect(FIRST.length).toBeGreaterThanOrEqual(2126);
    expect(SECOND.length).toBeGreaterThanOrEqual(4549);
  });
  it('every trace replays byte for byte on 6.12, and enough of them would not on 6.1', () => {
    const { failures, onlyOn612 } = replay612(FIRST);
    expect(failures).toEqual([]);
    // The corpus tests the switches only where 6.1 would have printed something else.
    expect(onlyOn612).toBeGreaterThanOrEqual(50);
  });
});
