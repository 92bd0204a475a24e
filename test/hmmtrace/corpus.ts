import { expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { ROOT } from '../paths.ts';

/** test/oracle-corpus: random traces whose outputs were recorded on the real Linux 6.1 kernel. */
export const CORPUS_DIR = join(ROOT, 'test', 'oracle-corpus');

/** The corpus scripts whose names start with one of `prefixes`, sorted. */
export function corpusTraces(prefixes: string[]): string[] {
  return readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.trace') && prefixes.some((p) => f.startsWith(p))).sort();
}

/** Replays each script and expects byte-identical output; lists every script that differs. */
export function expectCorpusMatches(traces: string[]): void {
  const failures: string[] = [];
  for (const f of traces) {
    const expected = readFileSync(join(CORPUS_DIR, f.replace(/\.trace$/, '.out')), 'utf8');
    const actual = runTrace(readFileSync(join(CORPUS_DIR, f), 'utf8')).lines.join('\n') + '\n';
    if (actual !== expected) failures.push(f);
  }
  expect(failures).toEqual([]);
}
