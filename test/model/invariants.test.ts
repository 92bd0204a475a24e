import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_TRACES } from '../paths.ts';
import { checkInvariants, checkNoLeaks, assertInvariants } from '../invariants.ts';
import { driveTrace } from './trace-driver.ts';

const traces = readdirSync(SHARED_TRACES).filter((f) => f.endsWith('.trace')).sort();

describe('invariants hold after every op of every golden trace', () => {
  it('finds the shared corpus', () => {
    expect(traces.length).toBeGreaterThanOrEqual(30);
  });
  for (const f of traces) {
    it(f, () => {
      const text = readFileSync(join(SHARED_TRACES, f), 'utf8');
      const failures: string[] = [];
      const d = driveTrace(text, (ctx) => {
        const v = checkInvariants(ctx.runner.machine, ctx.procs, { mirrors: ctx.regionMirrors });
        if (v.length > 0) failures.push(`after '${ctx.tokens.join(' ')}'${ctx.nested ? ' (in child)' : ''}:\n    ${v.join('\n    ')}`);
      });
      // The hook really ran once per op (a crashing/hanging op stops before its check).
      expect(d.opsSeen).toBe(d.result.ended === 'ok' ? d.result.ops : d.result.ops - 1);
      expect(failures.slice(0, 5).join('\n')).toBe('');
      if (d.result.ended === 'ok') expect(checkNoLeaks(d.runner.machine)).toEqual([]);
      // The replay is the real one: the hook does not change the output.
      const expected = readFileSync(join(SHARED_TRACES, f.replace(/\.trace$/, '.out')), 'utf8');
      expect(d.result.lines.join('\n') + '\n').toBe(expected);
    });
  }
});

describe('the checker is not vacuous', () => {
  // A small scene with every kind of entry: a COW-shared page, a device-private page, a
  // device-exclusive page, shmem, mirrors of all of them.
  async function scene() {
    const { Machine } = await import('../../src/api/machine.ts');
    const m = new Machine();
    const p = m.spawn();
    const a = p.mmap(4, 'anon', 'rw');
    for (let i = 0; i < 4; i++) p.write(a + i, 0x10 + i);
    const s = p.mmap(2, 'shared', 'rw');
    p.write(s, 0x55);
    const d0 = p.device(0);
    expect(d0.migrateToDevice(a, 2).ret).toBe(0);
    expect(d0.read(s, 2).ret).toBe(0);
    const d1 = p.device(1);
    expect(d1.exclusive(a + 3, 1).ret).toBe(0);
    expect(d1.read(a + 2, 1).ret).toBe(0);
    const child = p.fork();
    child.write(a + 2, 0x77);
    return { m, p, a, s, child, procs: [p, child] };
  }
  const pte = async () => import('../../src/mm/pte.ts');

  it('accepts the consistent scene', async () => {
    const { m, procs } = await scene();
    expect(checkInvariants(m, procs)).toEqual([]);
  });

  it('catches a corrupted refcount', async () => {
    const { m, p, a, procs } = await scene();
    const { ptePfn } = await pte();
    const pfn = ptePfn(p.mm.pt.pte(a + 2));
    m.sys.pages.refcount[pfn]++;
    expect(checkInvariants(m, procs).join('\n')).toMatch(/refcount 2, expected 1/);
  });

  it('catches a corrupted mapcount', async () => {
    const { m, p, s, procs } = await scene();
    const { ptePfn } = await pte();
    m.sys.pages.mapcount[ptePfn(p.mm.pt.pte(s))] += 1;
    expect(checkInvariants(m, procs).join('\n')).toMatch(/mapcount 2, expected 1/);
  });

  it('catches a device-private pfn in a present PTE', async () => {
    const { m, p, a, procs } = await scene();
    const { ptePfn, mkPte, PteType, PTE_WRITE } = await pte();
    const dpage = ptePfn(p.mm.pt.pte(a));
    p.mm.pt.setPte(a, mkPte(PteType.PRESENT, dpage, PTE_WRITE));
    expect(checkInvariants(m, procs).join('\n')).toMatch(/present PTE of device-private pfn/);
  });

  it('catches a pin left behind', async () => {
    const { m, p, a, procs } = await scene();
    const { getUserPages } = await import('../../src/mm/gup.ts');
    const got = getUserPages(p.mm, a + 1, 1, { write: true, pin: true });
    expect(got).toHaveLength(1);
    expect(checkInvariants(m, procs).join('\n')).toMatch(/pincount 1 after the operation returned/);
  });

  it('catches a present PTE of a freed frame', async () => {
    const { m, p, procs } = await scene();
    const { mkPte, PteType } = await pte();
    const b = p.mmap(1, 'anon', 'rw');
    const pfn = m.sys.pages.allocSystem();
    m.sys.putPage(pfn);
    p.mm.pt.setPte(b, mkPte(PteType.PRESENT, pfn, 0));
    expect(checkInvariants(m, procs).join('\n')).toMatch(/present PTE of a FREE frame/);
  });

  it('catches a writable PTE of a COW-shared page', async () => {
    const { m, p, a, procs } = await scene();
    const { pteSetFlags, pteFlags, PTE_WRITE } = await pte();
    // Page 3 (exclusive until the fork restored it) is shared read-only by parent and child; make the parent's PTE
    // writable behind the COW logic's back (the child would see the parent's writes).
    const e = p.mm.pt.pte(a + 3);
    p.mm.pt.setPte(a + 3, pteSetFlags(e, pteFlags(e) | PTE_WRITE));
    expect(checkInvariants(m, procs).join('\n')).toMatch(/writable entry in a private mapping of a page that is not exclusive anon/);
  });

  it('catches a stale mirror entry', async () => {
    const { m, p, s, procs } = await scene();
    const d0 = p.devfd[0]!;
    d0.pt.set(s + 1, { pfn: m.sys.zeroPfn, tag: 3 });
    expect(checkInvariants(m, procs).join('\n')).toMatch(/mirror\(dev0, mm\d+\) vpn 0x[0-9a-f]+: mirror maps pfn/);
  });

  it('catches a WRITE mirror entry over a read-only CPU entry', async () => {
    const { m, p, a, procs } = await scene();
    // After the fork the parent's page 2 is read-only; give dev1's mirror a WRITE entry of it.
    const { ptePfn } = await pte();
    p.devfd[1]!.pt.set(a + 2, { pfn: ptePfn(p.mm.pt.pte(a + 2)), tag: 3 });
    expect(checkInvariants(m, procs).join('\n')).toMatch(/WRITE entry but the CPU entry is read-only/);
  });

  it('catches an ATOMIC mirror entry without a device-exclusive CPU entry', async () => {
    const { m, p, a, procs } = await scene();
    const { ptePfn } = await pte();
    p.devfd[1]!.pt.set(a + 2, { pfn: ptePfn(p.mm.pt.pte(a + 2)), tag: 1 });
    expect(checkInvariants(m, procs).join('\n')).toMatch(/ATOMIC entry/);
  });

  it('catches a leak after exit', async () => {
    const { m, p, child } = await scene();
    child.exit();
    p.exit();
    expect(checkNoLeaks(m)).toEqual([]);
    const pfn = m.sys.pages.allocSystem();
    expect(checkNoLeaks(m).join('\n')).toMatch(new RegExp(`leak after exit: pfn 0x${pfn.toString(16)}`));
    expect(() => assertInvariants(m, [])).toThrow(/leak after exit/);
  });
});

describe('Process.mmap keeps the region file open until exit', () => {
  // Found by this suite: Process.mmap used to drop the tmpfs file reference mmapRaw returned,
  // so the file and its page cache outlived every process.
  it('frees the file and its pages at exit', async () => {
    const { Machine } = await import('../../src/api/machine.ts');
    const m = new Machine();
    const p = m.spawn();
    const f = p.mmap(1, 'file', 'rw');
    p.write(f, 3);
    p.exit();
    expect(m.sys.files.size).toBe(0);
    expect(checkNoLeaks(m)).toEqual([]);
  });
});
