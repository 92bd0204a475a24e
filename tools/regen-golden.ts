// Regenerates test/golden-results/*.json, the committed results of every example that
// test/golden-results/golden-results.test.ts compares byte for byte. Run it only when a change
// is meant to change results, and say why:
//   npx tsx tools/regen-golden.ts "why the results change"
// The reason, the examples whose results changed and the commit it was run on go into
// test/golden-results/REASONS.md, which is committed with the new files.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleNames, goldenText, GOLDEN_DIR } from '../test/golden-results/golden.ts';

const reason = process.argv.slice(2).join(' ').trim();
if (reason === '') {
  process.stderr.write('usage: tsx tools/regen-golden.ts "REASON": the reason the results change is required\n');
  process.exit(2);
}
const names = exampleNames();
const changed: string[] = [];
for (const name of names) {
  const file = join(GOLDEN_DIR, `${name}.json`);
  const text = goldenText(name);
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
    writeFileSync(file, text);
    changed.push(name);
  }
}
// An example that was removed leaves no stale golden file behind.
for (const f of readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.json'))) {
  if (!names.includes(f.slice(0, -5))) {
    rmSync(join(GOLDEN_DIR, f));
    changed.push(`${f.slice(0, -5)} (removed)`);
  }
}
let head = 'unknown';
try {
  head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // Outside a git checkout the commit is simply not recorded.
}
const reasons = join(GOLDEN_DIR, 'REASONS.md');
if (changed.length > 0) appendFileSync(reasons, `- on ${head}: ${reason} (changed: ${changed.join(', ')})\n`);
process.stdout.write(changed.length > 0 ? `regenerated ${changed.join(', ')}; reason recorded in ${reasons}\n` : 'no results changed; nothing written\n');
