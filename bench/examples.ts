// The examples measure of `npm run bench` on its own ("Examples against real time" in
// bench/README.md): every examples/*.yaml (or the files named) through the CLI as a user runs it,
// printed as the README's table, and as JSON lines with --json. Writes no results file.
//   node --import tsx bench/examples.ts [--scale S] [--json] [FILE.yaml ...]
// Build first (npm run build) for the compiled CLI's figures; otherwise the sources run through tsx.
import { Command } from 'commander';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/child.ts';
import { compiledIsFresh } from './lib/cli.ts';
import { runExample } from './measures/examples.ts';

const o = new Command()
  .name('bench:examples')
  .argument('[files...]', 'example file names under examples/ (default: every one)')
  .option('--scale <s>', 'scale every example by this factor', (v) => Number(v), 1)
  .option('--json', 'one JSON object per run instead of the table', false)
  .parse();
const opts = o.opts<{ scale: number; json: boolean }>();
if (!(opts.scale > 0)) {
  console.error('bench:examples: --scale must be a positive number');
  process.exit(2);
}
const files = o.args.length > 0 ? o.args : readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort();
for (const f of files) {
  if (!existsSync(join(ROOT, 'examples', f))) {
    console.error(`bench:examples: examples/${f}: no such example (expected a file name under examples/)`);
    process.exit(2);
  }
}
const cli = compiledIsFresh() ? 'compiled' : 'tsx';
process.stderr.write(`bench:examples: ${files.length} examples at scale ${opts.scale} through bin/hetmem.mjs (${cli})\n`);

const g = (x: number) => (x >= 0.0001 ? x.toFixed(4) : x.toExponential(2));
if (!opts.json) {
  console.log('| example | simulated s | wall s | CPU s | sim / wall | sim / CPU | device faults | stall / busy, lane-s | fault-bound | met |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
}
for (const f of files) {
  const r = runExample(f, opts.scale);
  if (opts.json) {
    console.log(JSON.stringify({ ...r, cli }));
    continue;
  }
  const met = r.simPerWall >= 1 ? 'yes' : 'no';
  console.log(`| \`${f}\` | ${g(r.simulatedS)} | ${r.wallS.toFixed(2)} | ${r.cpuS.toFixed(2)} | ${g(r.simPerWall)} | ${g(r.simPerCpu)} | ${r.deviceFaults} | ${r.stallLaneS.toPrecision(3)} / ${r.busyLaneS.toPrecision(3)} | ${r.faultBound ? 'yes' : 'no'} | ${met} |`);
}
