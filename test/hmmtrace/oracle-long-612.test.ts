import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LONG_DIR, LONG_612_DIR, corpusTraces, expectCorpusMatches, recorded61 } from './corpus.ts';

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
  // test/oracle-long holds every one of these scripts recorded on 6.1, and oracle-long.test.ts
  // proves the model prints those recordings on 6.1; so comparing the two recordings counts the
  // scripts the model on 6.1 would print otherwise, without replaying them a second time.
  it('enough of them print something else on 6.1, so they test the switches', () => {
    let differ = 0;
    for (const f of traces) {
      const expected = readFileSync(join(LONG_612_DIR, f.replace(/\.trace$/, '.out')), 'utf8');
      const on61 = recorded61(LONG_DIR, f, readFileSync(join(LONG_612_DIR, f), 'utf8'));
      expect(on61, f).toBeDefined();
      if (on61 !== expected) differ++;
    }
    expect(differ).toBeGreaterThanOrEqual(80);
  });
});
