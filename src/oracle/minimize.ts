/**
 * Delta debugging over the ops of a script (Zeller and Hildebrandt's ddmin): the smallest
 * script, in the sense that removing any one op makes the difference go away, on which the
 * kernel and the model still disagree. The test of a candidate is batched — every subset and
 * complement of one round goes to the kernel together — because each kernel run costs a QEMU
 * boot share, while the number of rounds stays that of ddmin.
 */

/** Says, for each candidate list of ops, whether the kernel and the model still disagree on it. */
export type BatchTest = (candidates: string[][]) => Promise<boolean[]>;

/** The minimized ops and what it took. */
export interface Minimized {
  readonly ops: string[];
  /** Rounds (batches sent to the test). */
  readonly rounds: number;
  /** Candidate scripts tested. */
  readonly tests: number;
}

/** Splits `ops` into `n` contiguous chunks of near-equal length. */
function chunks<T>(ops: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(ops.slice(Math.floor((i * ops.length) / n), Math.floor(((i + 1) * ops.length) / n)));
  return out.filter((c) => c.length > 0);
}

/**
 * ddmin over `ops`, which must fail the test (disagree) as given. Each round tests every chunk
 * and every complement at granularity n; it keeps the first chunk that still fails (n back to
 * 2), else the first complement (n - 1), else doubles n until single ops, where no single op
 * can be removed: the result is 1-minimal.
 */
export async function ddmin(ops: string[], test: BatchTest, maxRounds = 200): Promise<Minimized> {
  let cur = ops.slice(), n = 2, rounds = 0, tests = 0;
  while (cur.length >= 2 && rounds < maxRounds) {
    const parts = chunks(cur, Math.min(n, cur.length));
    const complements = parts.length > 2 ? parts.map((_, i) => parts.filter((__, j) => j !== i).flat()) : [];
    const cands = [...parts, ...complements];
    const fails = await test(cands);
    rounds++;
    tests += cands.length;
    const sub = parts.findIndex((_, i) => fails[i]);
    if (sub >= 0) {
      cur = parts[sub];
      n = 2;
      continue;
    }
    const comp = complements.findIndex((_, i) => fails[parts.length + i]);
    if (comp >= 0) {
      cur = complements[comp];
      n = Math.max(n - 1, 2);
      continue;
    }
    if (parts.length >= cur.length) break;
    n = Math.min(n * 2, cur.length);
  }
  return { ops: cur, rounds, tests };
}

/** The ops of a script: its non-empty lines that are not comments. */
export function scriptOps(script: string): string[] {
  return script.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}
