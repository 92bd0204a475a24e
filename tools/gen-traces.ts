// Development tool: writes random hmmtrace op scripts (src/oracle/generate.ts) for comparison
// against the real kernel (tools/oracle/run-batch.sh, or `hetmem oracle fuzz`, which generates,
// runs and compares in one go). Usage: tsx tools/gen-traces.ts OUTDIR COUNT SEED [MODE]
// MODE is a comma-separated list. With `numa` the scripts also use move_pages/page_node (and,
// from seed 9, set_mempolicy), for the two-node oracle of tools/oracle-numa (replay them with
// `hetmem trace --nodes 2`). With `long` every script has 150-300 ops (named l<seed>-NNNN, or
// m<seed>-NNNN with numa): long scripts reach states that short ones rarely do (many regions
// interleaved, pages migrated back and forth, forks of forks).
import { mkdirSync, writeFileSync } from 'node:fs';
import { generateTraces } from '../src/oracle/generate.ts';

const [outDir, countS, seedS, mode] = process.argv.slice(2);
const modes = new Set((mode ?? '').split(',').filter((m) => m !== ''));
const count = Number(countS ?? 100), seed = Number(seedS ?? 1);
mkdirSync(outDir, { recursive: true });
for (const t of generateTraces(seed, count, { numa: modes.has('numa'), long: modes.has('long') })) writeFileSync(`${outDir}/${t.name}.trace`, t.text);
