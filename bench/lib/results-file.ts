import { resolve } from 'node:path';
import { ROOT } from './child.ts';

/**
 * Where `npm run bench` writes without --out: the full run's bench/results.json, which is
 * committed, or for --quick bench/results-quick.json (git-ignored), so a quick smoke run never
 * replaces the committed figures with small-size ones.
 */
export function defaultResultsFile(quick: boolean): string {
  return resolve(ROOT, 'bench', quick ? 'results-quick.json' : 'results.json');
}
