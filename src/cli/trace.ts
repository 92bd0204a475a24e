import { readFileSync, existsSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import { runTrace } from '../hmmtrace/runner.ts';
import { DEFAULT_KERNEL, type KernelVersion } from '../mm/kernel.ts';

/** Result of `hetmem trace --check` over a list of files. */
export interface CheckSummary {
  matched: number;
  total: number;
  output: string;
}

/**
 * Replays each op script on a fresh System running `kernel` (6.1 unless told). Without `check`, prints the output lines. With
 * `check`, compares with NAME.out beside each NAME.trace and prints a unified diff of the first
 * difference of each file that differs, then `N/M traces match`.
 */
export function traceCommand(files: string[], check: boolean, nodes = 1, kernel: KernelVersion = DEFAULT_KERNEL): CheckSummary {
  let out = '';
  let matched = 0;
  for (const f of files) {
    const res = runTrace(readFileSync(f, 'utf8'), { nodes, kernel });
    const actual = res.lines.join('\n') + '\n';
    if (!check) {
      out += actual;
      continue;
    }
    const expFile = f.replace(/\.trace$/, '') + '.out';
    if (!existsSync(expFile)) {
      out += `${f}: no ${expFile} to compare with\n`;
      continue;
    }
    const expected = readFileSync(expFile, 'utf8');
    if (expected === actual) {
      matched++;
      continue;
    }
    out += firstDifference(expFile, expected, actual);
  }
  if (check) out += `${matched}/${files.length} traces match\n`;
  return { matched, total: files.length, output: out };
}

/** A unified diff limited to the first differing hunk. */
function firstDifference(name: string, expected: string, actual: string): string {
  const patch = createTwoFilesPatch(name, `${name} (hetmem)`, expected, actual, '', '', { context: 3 });
  const lines = patch.split('\n');
  const out: string[] = [];
  let hunks = 0;
  for (const l of lines) {
    if (l.startsWith('@@')) {
      if (++hunks > 1) break;
    }
    out.push(l);
  }
  return out.join('\n') + '\n';
}
