// move_pages(2) in the mm model: the paths the oracle traces cannot reach (pins held across
// the call, live sharers, per-node pools) and the data/accounting invariants of every move.
import { describe, it, expect } from 'vitest';
import { Machine, type Process } from '../../src/api/machine.ts';
import { getUserPages, putUserPages } from '../../src/mm/gup.ts';
import { movePages, MPOL_MF_MOVE } from '../../src/mm/migrate.ts';
import { NotifyEvent, PMD_NR } from '../../src/mm/constants.ts';
import { PteType, pteType, ptePfn, pteHas, PTE_DIRTY, PTE_WRITE } from '../../src/mm/pte.ts';
import { PG_DIRTY } from '../../src/mm/page.ts';
import { assertInvariants, assertNoLeaks, cpuEntry } from '../invariants.ts';

function setup(nodes = 2): { m: Machine; p: Process } {
  const m = new Machine({ nodes, kernel: '6.1' }); // these cases document 6.1's move_pages (test/oracle-numa); 6.12's are in test/oracle-numa-612
  return { m, p: m.spawn() };
}
const nodeOf = (p: Process, vpn: number) => p.sys.pages.nodeOf(cpuEntry(p.mm, vpn).pfn);

describe('move_pages', () => {
  it('moves anon pages with their bytes and write permission; the old frames are freed', () => {
    const { m, p } = setup();
    const a = p.mmap(4, 'anon', 'rw');
    for (let i = 0; i < 3; i++) p.write(a + i, 0x10 + i);
    const inUse = p.sys.pages.systemInUse;
    const r = p.movePages(a, 4, 1);
    expect(r).toEqual({ ret: 0, status: [1, 1, 1, -14] });
    for (let i = 0; i < 3; i++) {
      expect(nodeOf(p, a + i)).toBe(1);
      expect(p.read(a + i)[0]).toBe(0x10 + i);
      const e = cpuEntry(p.mm, a + i);
      expect(e.write).toBe(true);
    }
    // Three frames on node 1 replace three on node 0, which are freed.
    expect(p.sys.pages.systemInUse).toBe(inUse);
    expect(p.sys.stats.numaMigrated).toBe(3);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('leaves the moved PTE clean and old (no A/D bits in migration entries) and the dirtiness on the page', () => {
    const { p } = setup();
    const a = p.mmap(1, 'anon', 'rw');
    p.write(a, 1);
    expect(pteHas(p.mm.pt.pte(a), PTE_DIRTY)).toBe(true);
    p.movePages(a, 1, 1);
    const e = p.mm.pt.pte(a);
    expect(pteHas(e, PTE_DIRTY)).toBe(false);
    expect(pteHas(e, PTE_WRITE)).toBe(true);
    expect(p.sys.pages.hasFlag(ptePfn(e), PG_DIRTY)).toBe(true);
  });

  it('tells interval notifiers MMU_NOTIFY_CLEAR over each moved page, with no owner', () => {
    const { p } = setup();
    const a = p.mmap(4, 'anon', 'rw');
    for (let i = 0; i < 4; i++) p.write(a + i, 1);
    const seen: Array<[number, number, NotifyEvent, unknown]> = [];
    p.mm.notifiers.insert(a, 4, (sub, range, seq) => {
      sub.setSeq(seq);
      seen.push([range.start - a, range.end - a, range.event, range.owner]);
      return true;
    });
    p.movePages(a + 1, 2, 1);
    expect(seen).toEqual([[1, 2, NotifyEvent.CLEAR, null], [2, 3, NotifyEvent.CLEAR, null]]);
  });

  it('a PMD-mapped THP moves whole and stays PMD-mapped; its notifier range is the 2 MiB', () => {
    const { m, p } = setup();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    p.write(t + 300, 0x22);
    const ranges: number[][] = [];
    p.mm.notifiers.insert(t, PMD_NR, (sub, range, seq) => {
      sub.setSeq(seq);
      ranges.push([range.start - t, range.end - t]);
      return true;
    });
    const r = p.movePages(t + 5, 2, 1);
    expect(r).toEqual({ ret: 0, status: [1, -16] });
    expect(ranges).toEqual([[0, PMD_NR]]);
    expect(p.mm.pt.pmd(t)!.huge).not.toBe(0);
    expect(nodeOf(p, t + 511)).toBe(1);
    expect(p.read(t)[0]).toBe(0x11);
    expect(p.read(t + 300)[0]).toBe(0x22);
    assertInvariants(m, [p]);
  });

  it('a page pinned across the call does not move: the count comes back and its status is unset', () => {
    const { m, p } = setup();
    const a = p.mmap(3, 'anon', 'rw');
    for (let i = 0; i < 3; i++) p.write(a + i, 7);
    const pinned = getUserPages(p.mm, a + 1, 1, { write: true, pin: true, longterm: true });
    expect(Array.isArray(pinned)).toBe(true);
    const r = p.movePages(a, 3, 1);
    // Pages 0..2 form one batch; page 1 fails all ten passes, so the batch reports 1 failure
    // and the kernel writes no status for it.
    expect(r.ret).toBe(1);
    expect(r.status).toEqual([null, null, null]);
    expect(nodeOf(p, a + 1)).toBe(0);
    expect(cpuEntry(p.mm, a + 1).pfn).toBe((pinned as number[])[0]);
    expect(nodeOf(p, a)).toBe(1);
    expect(p.read(a + 1)[0]).toBe(7);
    putUserPages(p.mm, pinned as number[], { write: true, pin: true, longterm: true });
    expect(p.movePages(a + 1, 1, 1)).toEqual({ ret: 0, status: [1] });
    assertInvariants(m, [p]);
  });

  it('a page held by a plain GUP reference fails the refcount check and is mapped back where it was', () => {
    const { p } = setup();
    const a = p.mmap(1, 'anon', 'rw');
    p.write(a, 9);
    const got = getUserPages(p.mm, a, 1, { write: true }) as number[];
    expect(p.movePages(a, 1, 1).ret).toBe(1);
    expect(cpuEntry(p.mm, a)).toMatchObject({ type: PteType.PRESENT, pfn: got[0] });
    putUserPages(p.mm, got, { write: true });
  });

  it('a page mapped by a live child needs MPOL_MF_MOVE_ALL; then both mappings follow it', () => {
    const { m, p } = setup();
    const a = p.mmap(1, 'anon', 'rw');
    p.write(a, 5);
    const c = p.fork();
    expect(p.movePages(a, 1, 1)).toEqual({ ret: 0, status: [-13] });
    expect(p.movePages(a, 1, 1, { all: true })).toEqual({ ret: 0, status: [1] });
    expect(cpuEntry(c.mm, a).pfn).toBe(cpuEntry(p.mm, a).pfn);
    expect(nodeOf(c, a)).toBe(1);
    expect(c.read(a)[0]).toBe(5);
    c.write(a, 6);
    expect(p.read(a)[0]).toBe(5);
    assertInvariants(m, [p, c]);
  });

  it('shmem pages move in the page cache too: another mapping of the file sees the new page', () => {
    const { m, p } = setup();
    const s = p.mmap(2, 'shared', 'rw');
    p.write(s, 0x33);
    const c = p.fork();
    c.read(s);
    expect(p.movePages(s, 2, 1, { all: true })).toEqual({ ret: 0, status: [1, -2] });
    expect(cpuEntry(c.mm, s).pfn).toBe(cpuEntry(p.mm, s).pfn);
    c.exit();
    expect(p.read(s)[0]).toBe(0x33);
    assertInvariants(m, [p]);
  });

  it('hugetlb: only the first subpage moves the page; the pool gives the target node a page or lends a temporary one', () => {
    const { m, p } = setup();
    const h = p.mmap(2 * PMD_NR, 'hugetlb', 'rw');
    p.write(h, 1);
    p.write(h + PMD_NR, 2);
    const sys = p.sys;
    expect(sys.hugetlbFreeNode).toEqual([6, 8]);
    expect(p.movePages(h + 1, 1, 1)).toEqual({ ret: 0, status: [-13] });
    expect(p.movePages(h, 1, 1)).toEqual({ ret: 0, status: [1] });
    // Dequeued from node 1's pool; the old page went back to node 0's.
    expect(sys.hugetlbFreeNode).toEqual([7, 7]);
    expect(p.read(h)[0]).toBe(1);
    assertInvariants(m, [p]);
    // Empty node 1's pool: the next move takes a temporary page and the pool keeps its size.
    sys.hugetlbFreeNode[0] += sys.hugetlbFreeNode[1];
    sys.hugetlbFreeNode[1] = 0;
    expect(p.movePages(h + PMD_NR, 1, 1)).toEqual({ ret: 0, status: [1] });
    expect(sys.hugetlbFreeNode).toEqual([14, 0]);
    expect(p.read(h + PMD_NR)[0]).toBe(2);
    assertInvariants(m, [p]);
  });

  it('node changes split the call into batches; an impossible node stops it with -ENODEV', () => {
    const { p } = setup();
    const a = p.mmap(4, 'anon', 'rw');
    for (let i = 0; i < 4; i++) p.write(a + i, 1);
    const vpns = [a, a + 1, a + 2, a + 3];
    expect(movePages(p.mm, vpns, [1, 0, 1, 1], MPOL_MF_MOVE)).toEqual({ ret: 0, status: [1, 0, 1, 1] });
    expect(movePages(p.mm, vpns, [0, 0, 2, 0], MPOL_MF_MOVE)).toEqual({ ret: -19, status: [0, 0, null, null] });
    expect(nodeOf(p, a + 3)).toBe(1);
    expect(movePages(p.mm, vpns, [0, 0, 0, 0], 1 << 5)).toEqual({ ret: -22, status: [null, null, null, null] });
  });

  it('on a one-node machine every page reads node 0 and node 1 is -ENODEV', () => {
    const { p } = setup(1);
    const a = p.mmap(1, 'anon', 'rw');
    p.write(a, 1);
    expect(p.movePages(a, 1, null)).toEqual({ ret: 0, status: [0] });
    expect(p.movePages(a, 1, 1)).toEqual({ ret: -19, status: [null] });
    expect(() => new Machine({ nodes: 0 })).toThrow(/nodes must be/);
  });

  it('a process preferring node 1 faults its pages there and fork keeps the preference', () => {
    const { p } = setup();
    p.mm.node = 1;
    const a = p.mmap(2, 'anon', 'rw');
    p.write(a, 1);
    expect(nodeOf(p, a)).toBe(1);
    const c = p.fork();
    c.write(a + 1, 2);
    expect(nodeOf(c, a + 1)).toBe(1);
    expect(pteType(p.mm.pt.pte(a))).toBe(PteType.PRESENT);
  });
});
