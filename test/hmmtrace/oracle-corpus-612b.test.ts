import { describe, it, expect } from 'vitest';
import { CORPUS_612_SECOND as SECOND, replay612 } from './corpus.ts';

// The 6.1 corpus's scripts 150 and up (test/oracle-corpus), recorded again on Linux 6.12: the
// same scripts on both kernels, so the 6.12 corpus is as large and as varied as the 6.1 one.
// Two halves, each its own test, so neither comes near the per-test time limit.
describe('oracle corpus recorded on Linux 6.12 (the 6.1 corpus again)', () => {
  const half = Math.ceil(SECOND.length / 2);
  for (const [name, part] of [['first half', SECOND.slice(0, half)], ['second half', SECOND.slice(half)]] as const) {
    it(`${name}: every trace replays byte for byte on 6.12, and enough of them would not on 6.1`, () => {
      const { failures, onlyOn612 } = replay612(part);
      expect(failures).toEqual([]);
      expect(onlyOn612).toBeGreaterThanOrEqual(100); // 338 of the 4,549 in all when recorded
    });
  }
});
