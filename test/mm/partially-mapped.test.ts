// PG_partially_mapped (6.12, KernelSwitches.migrateSplitsPartiallyMappedThp): where the mark is
// set and where not, read off the THP's head page, and what migrate_pages does with it. The
// oracle checks the visible results (test/oracle-numa-612, probes n15-612-pm-*); these are the
// cases it cannot isolate: a zap that unmaps the rest of a folio in one batch, a PMD unmap that
// leaves another process's PTEs, and a split refused because of a pin.
import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/api/machine.ts';
import { getUserPages, putUserPages } from '../../src/mm/gup.ts';
import { PG_PARTIALLY_MAPPED } from '../../src/mm/page.ts';
import { cpuEntry } from '../invariants.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';

function thp(kernel: KernelVersion = '6.12') {
  const m = new Machine({ kernel, nodes: 2 });
  const p = m.spawn();
  const a = p.mmap(512, 'thp', 'rw');
  p.write(a, 0x11);
  const head = cpuEntry(p.mm, a).pfn;
  const marked = () => m.sys.pages.hasFlag(head, PG_PARTIALLY_MAPPED);
  return { m, p, a, head, marked };
}

describe('PG_partially_mapped', () => {
  it('a munmap of part of a PTE-mapped THP marks it; unmapping the rest in one zap batch does not', () => {
    for (const part of [true, false]) {
      const { p, a, marked } = thp();
      // A reference held across the munmap keeps the folio (and its mark) alive; FOLL_SPLIT_PMD
      // maps it with PTEs first.
      const held = getUserPages(p.mm, a, 1, { write: true, splitPmd: true });
      if (typeof held === 'number') throw new Error(`gup ${held}`);
      expect(cpuEntry(p.mm, a).huge).toBe(false);
      expect(p.munmap(a, part ? 10 : 512)).toBe(0);
      expect(marked(), part ? 'part' : 'whole').toBe(part);
      putUserPages(p.mm, held, { write: true });
    }
  });
  it('unmapping a PMD mapping while another process maps some of the pages with PTEs marks it', () => {
    const { m, p, a, head, marked } = thp();
    const c = p.fork();
    // The child's PMD split to PTEs, then the child unmaps a few of them.
    const held = getUserPages(c.mm, a, 1, { write: false, splitPmd: true });
    if (typeof held === 'number') throw new Error(`gup ${held}`);
    putUserPages(c.mm, held, { write: false });
    expect(c.munmap(a, 4)).toBe(0);
    expect(marked()).toBe(false); // the parent's PMD still maps every page
    expect(p.munmap(a, 512)).toBe(0);
    expect(marked()).toBe(true);
    // The child's move splits it: the written page 0 is gone with the unmap, the rest is zeroes.
    const r = c.movePages(a + 4, 2, 1);
    expect(r.ret).toBe(0);
    expect(m.sys.pages.isCompound(head)).toBe(false);
    expect(cpuEntry(c.mm, a + 4).pfn).toBe(m.sys.zeroPfn);
  });
  it('is not kept on 6.1, which moves the THP whole', () => {
    const { m, p, a, head, marked } = thp('6.1');
    expect(p.munmap(a, 10)).toBe(0);
    expect(marked()).toBe(false);
    expect(p.movePages(a + 10, 1, 1).ret).toBe(0);
    expect(m.sys.pages.nodeOf(cpuEntry(p.mm, a + 11).pfn)).toBe(1);
    expect(m.sys.pages.isCompound(cpuEntry(p.mm, a + 11).pfn)).toBe(true);
    expect(head).toBeGreaterThan(0);
  });
  it('a marked THP that is pinned is not split (can_split_folio: the pin is a reference beyond the mappings) and, pinned, does not move', () => {
    const { m, p, a, head, marked } = thp();
    p.write(a + 7, 0x77);
    expect(p.munmap(a, 4)).toBe(0);
    expect(marked()).toBe(true);
    const pin = getUserPages(p.mm, a + 7, 1, { write: true, pin: true });
    if (typeof pin === 'number') throw new Error(`pin ${pin}`);
    const r = p.movePages(a + 5, 1, 1);
    // One folio not migrated; its status left unwritten.
    expect(r).toEqual({ ret: 1, status: [null] });
    expect(m.sys.pages.isCompound(head)).toBe(true);
    expect(marked()).toBe(true);
    expect(cpuEntry(p.mm, a + 5).pfn).toBe(head + 5);
    expect(m.sys.pages.nodeOf(head)).toBe(0);
    putUserPages(p.mm, pin, { write: true, pin: true });
    // Unpinned, the next move splits it and moves the written page.
    expect(p.movePages(a + 7, 1, 1)).toEqual({ ret: 0, status: [1] });
    expect(m.sys.pages.isCompound(cpuEntry(p.mm, a + 7).pfn)).toBe(false);
    expect(p.read(a + 7)[0]).toBe(0x77);
  });
});
