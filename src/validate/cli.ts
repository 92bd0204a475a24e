// `hetmem validate`: the command's implementation; command.ts registers it on the CLI's program
// and loads this module only when the command runs.
//
//   hetmem validate [--only id,id] [--json]
//
// Prints one line per held-out check (what is reproduced, the source, the published value, the
// model's value, the tolerance, pass/fail), then the verdict; exit code 0 when every counted
// check passes, 1 otherwise. A bad flag prints one line `hetmem validate: ...` and exits 2.
import { CHECKS, verdict, type CheckResult } from './checks.ts';

/** A user error: the message after the `hetmem validate: ` prefix. */
export class ValidateUsageError extends Error {}

/** The report as text: one block per check, then the verdict line. */
export function validateText(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const status = r.knownMiss ? 'KNOWN MISS' : r.pass ? 'PASS' : 'FAIL';
    lines.push(`${status.padEnd(10)} ${r.id} [${r.vendor}: ${r.profiles.join(', ')}]`);
    lines.push(`           ${r.what}`);
    lines.push(`           published ${r.published}; model ${r.model}; tolerance ${r.tolerance}`);
    lines.push(`           source: ${r.source}`);
    if (r.knownMiss) lines.push(`           why the model misses it: ${r.knownMiss}`);
  }
  const v = verdict(results);
  const misses = results.length - v.counted;
  lines.push('');
  lines.push(`${v.passed} of ${v.counted} held-out checks pass across ${v.vendors} vendors${misses > 0 ? `; ${misses} known miss${misses > 1 ? 'es' : ''} reported, not counted` : ''}: ${v.ok ? 'PASS' : 'FAIL'}`);
  return `${lines.join('\n')}\n`;
}

/** Checks named by --only, validated. */
export function parseOnly(raw: string | true | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const ids = CHECKS.map((c) => c.id);
  if (raw === true) throw new ValidateUsageError(`--only needs a comma-separated list of check ids (checks: ${ids.join(', ')})`);
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ValidateUsageError(`--only needs at least one check id (checks: ${ids.join(', ')})`);
  for (const n of names) if (!ids.includes(n)) throw new ValidateUsageError(`unknown check '${n}' (checks: ${ids.join(', ')})`);
  return names;
}
