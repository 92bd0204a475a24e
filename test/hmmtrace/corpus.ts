import { expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { ROOT } from '../paths.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';

/** test/oracle-corpus: random traces whose outputs were recorded on the real Linux 6.1 kernel. */
export const CORPUS_DIR = join(ROOT, 'test', 'oracle-corpus');

/**
 * test/oracle-numa: traces with move_pages/page_node recorded on Linux 6.1 with two fake NUMA
 * nodes (tools/oracle-numa); they replay on a two-node model.
 */
export const NUMA_CORPUS_DIR = join(ROOT, 'test', 'oracle-numa');

/** test/oracle-corpus-612: random traces recorded on Linux 6.12 (../shared/oracle, KVER=6.12). */
export const CORPUS_612_DIR = join(ROOT, 'test', 'oracle-corpus-612');

/** test/oracle-long: the scripts of test/oracle-long-612, recorded on Linux 6.1. */
export const LONG_DIR = join(ROOT, 'test', 'oracle-long');

/** test/oracle-long-612: random scripts of 150-300 ops recorded on Linux 6.12. */
export const LONG_612_DIR = join(ROOT, 'test', 'oracle-long-612');

/** test/oracle-numa-612: move_pages/set_mempolicy scripts recorded on a two-node Linux 6.12. */
export const NUMA_612_DIR = join(ROOT, 'test', 'oracle-numa-612');

/** The corpus scripts whose names start with one of `prefixes`, sorted. */
export function corpusTraces(prefixes: string[], dir = CORPUS_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.trace') && prefixes.some((p) => f.startsWith(p))).sort();
}

/**
 * Replays each script on `kernel` and expects byte-identical output; lists every script that
 * differs. The 6.1 corpora pass '6.1' (the kernel they were recorded on), whatever the default.
 */
export function expectCorpusMatches(traces: string[], dir = CORPUS_DIR, nodes = 1, kernel: KernelVersion = '6.1'): void {
  const failures: string[] = [];
  for (const f of traces) {
    const expected = readFileSync(join(dir, f.replace(/\.trace$/, '.out')), 'utf8');
    const actual = runTrace(readFileSync(join(dir, f), 'utf8'), { nodes, kernel }).lines.join('\n') + '\n';
    if (actual !== expected) failures.push(f);
  }
  expect(failures).toEqual([]);
}

const all612 = corpusTraces(['r', 'probe-'], CORPUS_612_DIR);
/** The 6.12 corpus's first recording: scripts 0-149 of each seed and the probes. */
export const CORPUS_612_FIRST = all612.filter((f) => f.startsWith('probe-') || Number(/-(\d+)\.trace$/.exec(f)![1]) < 150);
/** Scripts 150 and up: the 6.1 corpus's scripts recorded again on 6.12. */
export const CORPUS_612_SECOND = all612.filter((f) => !CORPUS_612_FIRST.includes(f));

/**
 * Replays `traces` on 6.12 (must match) and counts those 6.1 would print otherwise. Where the
 * same script is in the 6.1 corpus (test/oracle-corpus), the two kernels' recorded outputs are
 * compared instead of replaying it on 6.1 again: the 6.1 corpus tests already prove the model
 * prints that recording on 6.1, and the second replay was a third of `npm test`'s corpus time.
 * Scripts only in the 6.12 corpus (the probes, most of the first recording) replay on 6.1.
 */
export function replay612(traces: string[]): { failures: string[]; onlyOn612: number } {
  const failures: string[] = [];
  let onlyOn612 = 0;
  for (const f of traces) {
    const text = readFileSync(join(CORPUS_612_DIR, f), 'utf8');
    const expected = readFileSync(join(CORPUS_612_DIR, f.replace(/\.trace$/, '.out')), 'utf8');
    if (runTrace(text, { kernel: '6.12' }).lines.join('\n') + '\n' !== expected) failures.push(f);
    const on61 = recorded61(CORPUS_DIR, f, text) ?? runTrace(text, { kernel: '6.1' }).lines.join('\n') + '\n';
    if (on61 !== expected) onlyOn612++;
  }
  return { failures, onlyOn612 };
}

/**
 * The 6.1 recording of script `f` if the 6.1 corpus in `dir61` holds the same script, byte for
 * byte. Only for corpora whose test replays every script on 6.1 with no exclusions.
 */
export function recorded61(dir61: string, f: string, text: string): string | undefined {
  const trace = join(dir61, f);
  if (!existsSync(trace) || readFileSync(trace, 'utf8') !== text) return undefined;
  return readFileSync(trace.replace(/\.trace$/, '.out'), 'utf8');
}
