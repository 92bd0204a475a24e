// bench/startup.ts's "unbundled" entry point: what bin/hetmem.mjs ran before the CLI was bundled
// (issue 17), tsc's dist/cli/main.js imported as ES modules one file at a time, so the two
// builds can be timed side by side from one checkout.
const { main } = await import(new URL('../../dist/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
