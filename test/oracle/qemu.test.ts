// The real kernel path of hetmem oracle, behind a flag: it needs QEMU and an oracle built by
// `hetmem oracle build` (minutes). Run with
//   HETMEM_ORACLE=1 HETMEM_ORACLE_KERNEL=6.12 HETMEM_ORACLE_DIR=/tmp/oracle612 npx vitest run test/oracle/qemu.test.ts
// and, for the two-node oracle (`hetmem oracle build --nodes 2`),
//   HETMEM_ORACLE=1 HETMEM_ORACLE_NODES=2 HETMEM_ORACLE_KERNEL=6.12 HETMEM_ORACLE_DIR=/tmp/oracle-numa612 npx vitest run test/oracle/qemu.test.ts
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QemuOracle, defaultOracleDir } from '../../src/oracle/kernel.ts';
import { isKernelVersion } from '../../src/mm/kernel.ts';
import { ROOT, SHARED_TRACES, SHARED_TRACES_612 } from '../paths.ts';
import { modelOutput } from '../../src/oracle/compare.ts';

const on = process.env.HETMEM_ORACLE === '1';
const kv = process.env.HETMEM_ORACLE_KERNEL ?? '6.12';
const two = process.env.HETMEM_ORACLE_NODES === '2';

describe.runIf(on && !two)('hetmem oracle on the real kernel (HETMEM_ORACLE=1)', () => {
  it('replays public scripts and prints exactly what that kernel printed when they were recorded', async () => {
    if (!isKernelVersion(kv)) throw new Error(`HETMEM_ORACLE_KERNEL=${kv}`);
    const dir = kv === '6.1' ? SHARED_TRACES : SHARED_TRACES_612;
    const names = ['thp', 'mprotect-whole', 'exclusive-revoke', 'crash-dev-read-after-fork'];
    const o = new QemuOracle(kv, process.env.HETMEM_ORACLE_DIR ?? defaultOracleDir(kv));
    const outs = await o.run(names.map((n) => ({ name: n, text: readFileSync(join(dir, `${n}.trace`), 'utf8') })));
    for (const n of names) expect(outs.get(n), n).toBe(readFileSync(join(dir, `${n}.out`), 'utf8'));
  }, 600_000);
});

describe.runIf(on && two)('hetmem oracle on the real two-node kernel (HETMEM_ORACLE=1 HETMEM_ORACLE_NODES=2)', () => {
  it('replays NUMA scripts as recorded on that kernel, and the two-node model agrees', async () => {
    if (kv !== '6.1' && kv !== '6.12') throw new Error(`HETMEM_ORACLE_KERNEL=${kv}`);
    const dir = join(ROOT, 'test', kv === '6.1' ? 'oracle-numa' : 'oracle-numa-612');
    const names = ['n01-basic', 'n05-thp', 'n07-hugetlb', 'n12-mempolicy-interleave', 'n9-0044', 'n12-0069'];
    const o = new QemuOracle(kv, process.env.HETMEM_ORACLE_DIR ?? defaultOracleDir(kv, 2), () => {}, undefined, 2);
    const scripts = names.map((n) => ({ name: n, text: readFileSync(join(dir, `${n}.trace`), 'utf8') }));
    const outs = await o.run(scripts);
    for (const s of scripts) {
      expect(outs.get(s.name), s.name).toBe(readFileSync(join(dir, `${s.name}.out`), 'utf8'));
      expect(modelOutput(s.text, { kernel: kv, nodes: 2 }), s.name).toBe(outs.get(s.name));
    }
  }, 600_000);
});
