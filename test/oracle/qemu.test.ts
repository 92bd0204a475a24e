// The real kernel path of hetmem oracle, behind a flag: it needs QEMU and an oracle built by
// `hetmem oracle build` (minutes). Run with
//   HETMEM_ORACLE=1 HETMEM_ORACLE_KERNEL=6.12 HETMEM_ORACLE_DIR=/tmp/oracle612 npx vitest run test/oracle/qemu.test.ts
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QemuOracle, defaultOracleDir } from '../../src/oracle/kernel.ts';
import { isKernelVersion } from '../../src/mm/kernel.ts';
import { SHARED_TRACES, SHARED_TRACES_612 } from '../paths.ts';

const on = process.env.HETMEM_ORACLE === '1';
const kv = process.env.HETMEM_ORACLE_KERNEL ?? '6.12';

describe.runIf(on)('hetmem oracle on the real kernel (HETMEM_ORACLE=1)', () => {
  it('replays public scripts and prints exactly what that kernel printed when they were recorded', async () => {
    if (!isKernelVersion(kv)) throw new Error(`HETMEM_ORACLE_KERNEL=${kv}`);
    const dir = kv === '6.1' ? SHARED_TRACES : SHARED_TRACES_612;
    const names = ['thp', 'mprotect-whole', 'exclusive-revoke', 'crash-dev-read-after-fork'];
    const o = new QemuOracle(kv, process.env.HETMEM_ORACLE_DIR ?? defaultOracleDir(kv));
    const outs = await o.run(names.map((n) => ({ name: n, text: readFileSync(join(dir, `${n}.trace`), 'utf8') })));
    for (const n of names) expect(outs.get(n), n).toBe(readFileSync(join(dir, `${n}.out`), 'utf8'));
  }, 600_000);
});
