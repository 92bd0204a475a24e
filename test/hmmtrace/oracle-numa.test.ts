import { describe, it, expect } from 'vitest';
import { NUMA_CORPUS_DIR, corpusTraces, expectCorpusMatches } from './corpus.ts';

// move_pages/page_node traces recorded on Linux 6.1 with two fake NUMA nodes
// (test/oracle-numa/README.md): hand-written probes (n0*, n1*) and random scripts (n5- .. n7-; n9-, n10-, n12-, n14- with set_mempolicy).
const probes = corpusTraces(['n0', 'n1'], NUMA_CORPUS_DIR);
const random = corpusTraces(['n5-', 'n6-', 'n7-', 'n9-', 'n10-', 'n12-', 'n14-'], NUMA_CORPUS_DIR);

describe('oracle corpus: NUMA (move_pages)', () => {
  it('has its traces', () => {
    expect(probes.length).toBeGreaterThanOrEqual(13);
    expect(random.length).toBeGreaterThanOrEqual(2590);
  });
  it('every probe replays byte for byte on a two-node model', () => {
    expectCorpusMatches(probes, NUMA_CORPUS_DIR, 2);
  });
  it('every random trace replays byte for byte on a two-node model', () => {
    expectCorpusMatches(random, NUMA_CORPUS_DIR, 2);
  });
  it('a one-node model answers move_pages to node 1 with -ENODEV, so the corpus needs two', () => {
    expect(() => expectCorpusMatches(['n01-basic.trace'], NUMA_CORPUS_DIR, 1)).toThrow();
  });
});
