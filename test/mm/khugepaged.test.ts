// MADV_COLLAPSE (src/mm/khugepaged.ts). The model follows the Linux 6.1 source; it is not
// oracle-checked (the real hmmtrace.c has no MADV_COLLAPSE), so these tests pin the behaviour
// read from 6.1's mm/khugepaged.c: data kept byte for byte, the PMD mapped, one MMU_NOTIFY_CLEAR
// over the 2 MiB, device pages brought back through do_swap_page, and the refusals.
import { describe, it, expect } from 'vitest';
import { Machine, type Process } from '../../src/api/machine.ts';
import { getUserPages, putUserPages } from '../../src/mm/gup.ts';
import { madviseCollapse, type CollapseTrace } from '../../src/mm/khugepaged.ts';
import { EAGAIN, EINVAL, NotifyEvent, PMD_NR, PMD_ORDER, PROT_READ, PROT_WRITE } from '../../src/mm/constants.ts';
import { mmapFixed } from '../../src/mm/mmap.ts';
import { PteType, pteType, ptePfn, pteHas, PTE_WRITE, PTE_DIRTY, PTE_YOUNG } from '../../src/mm/pte.ts';
import { PG_ANON_EXCLUSIVE } from '../../src/mm/page.ts';
import { PROT_PMD, PROT_WRITE as PROT_WRITE_DEV } from '../../src/devices/dmirror/dmirror.ts';
import { assertInvariants, assertNoLeaks, cpuEntry } from '../invariants.ts';

/** A private anonymous region of `blocks` 2 MiB blocks starting on a 2 MiB boundary (no THP at fault: VM_HUGEPAGE is off). */
function alignedAnon(p: Process, blocks = 1): number {
  const raw = p.mmap((blocks + 1) * PMD_NR, 'anon', 'rw');
  return Math.ceil(raw / PMD_NR) * PMD_NR;
}

/** Byte page i of the test pattern holds. */
const byteOf = (i: number) => (i * 7 + 1) & 0xff || 1;

/** Writes every page of the block except those in `skip`, each with its own byte. */
function fill(p: Process, base: number, skip: ReadonlySet<number> = new Set()): void {
  for (let i = 0; i < PMD_NR; i++) if (!skip.has(i)) p.write(base + i, byteOf(i));
}

/** Records every notifier range over [base, base + n) as [start - base, end - base, event, owner]. */
function watch(p: Process, base: number, n = PMD_NR): Array<[number, number, NotifyEvent, unknown]> {
  const seen: Array<[number, number, NotifyEvent, unknown]> = [];
  p.mm.notifiers.insert(base, n, (sub, range, seq) => {
    sub.setSeq(seq);
    seen.push([range.start - base, range.end - base, range.event, range.owner]);
    return true;
  });
  return seen;
}

const isHuge = (p: Process, vpn: number) => (p.mm.pt.pmd(vpn)?.huge ?? 0) !== 0;

describe('MADV_COLLAPSE', () => {
  it('copies a PTE-mapped block into a THP byte for byte, zero-fills the holes and frees the old pages', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    const holes = new Set([0, 100, 511]);
    fill(p, base, holes);
    p.read(base + 100); // a zero-page PTE
    const inUse = p.sys.pages.systemInUse;
    expect(isHuge(p, base)).toBe(false);

    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);

    const pmd = p.mm.pt.pmd(base)!;
    expect(pmd.huge).not.toBe(0);
    expect(pmd.ptes).toBeNull();
    const head = ptePfn(pmd.huge);
    const pages = p.sys.pages;
    expect(pages.orderOf(head)).toBe(PMD_ORDER);
    expect(pages.hasFlag(head, PG_ANON_EXCLUSIVE)).toBe(true);
    expect(pages.entireMapcountOf(head)).toBe(1);
    // Dirty, young and writable, as mk_huge_pmd + pmd_mkdirty + maybe_pmd_mkwrite make it.
    expect(pteHas(pmd.huge, PTE_WRITE) && pteHas(pmd.huge, PTE_DIRTY) && pteHas(pmd.huge, PTE_YOUNG)).toBe(true);
    for (let i = 0; i < PMD_NR; i++) {
      const want = holes.has(i) ? 0 : byteOf(i);
      const got = p.read(base + i);
      expect(got[0], `page ${i}`).toBe(want);
      expect(got[4095], `page ${i}`).toBe(want);
    }
    // 509 small pages went, one 512-page THP came.
    expect(pages.systemInUse).toBe(inUse - (PMD_NR - 3) + PMD_NR);
    // A write needs no fault now: the PMD is writable.
    p.write(base + 7, 0xee);
    expect(ptePfn(p.mm.pt.pmd(base)!.huge)).toBe(head);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('invalidates mirrors once, MMU_NOTIFY_CLEAR over the whole 2 MiB with no owner', () => {
    const p = new Machine().spawn();
    const base = alignedAnon(p);
    fill(p, base);
    const seen = watch(p, base);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    expect(seen).toEqual([[0, PMD_NR, NotifyEvent.CLEAR, null]]);
  });

  it('a device mirroring the block loses its entries and faults them in again', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    const dev = p.device(0);
    expect(dev.read(base, PMD_NR).ret).toBe(0);
    expect(dev.read(base, PMD_NR).faults).toBe(0); // mirrored: no fault
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    const again = dev.read(base, PMD_NR);
    expect(again.faults).toBeGreaterThan(0);
    expect(again.data![0]).toBe(byteOf(0));
    expect(again.data![300 * 4096]).toBe(byteOf(300));
    assertInvariants(m, [p]);
  });

  it('brings device-private pages back to RAM (do_swap_page → migrate_to_ram) and collapses them with the rest', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    const dev = p.device(0);
    expect(dev.migrateToDevice(base, 256).cpages).toBe(256);
    expect(pteType(p.mm.pt.pte(base))).toBe(PteType.DEVICE_PRIVATE);
    const back0 = p.sys.stats.migrateToRam;
    const trace: CollapseTrace = { blocks: [], swappedIn: 0 };
    const vma = p.mm.findVma(base)!;
    expect(madviseCollapse(p.mm, vma, base, base + PMD_NR, trace)).toBe(0);
    expect(trace).toEqual({ blocks: [{ addr: base, result: 'SCAN_SUCCEED' }], swappedIn: 256 });
    expect(p.sys.stats.migrateToRam - back0).toBe(256);
    expect(isHuge(p, base)).toBe(true);
    // Nothing is left on the device: the snapshot sees one writable PMD of system memory.
    const snap = dev.snapshot(base, PMD_NR).perm!;
    expect(new Set(snap)).toEqual(new Set([PROT_WRITE_DEV | PROT_PMD]));
    for (const i of [0, 255, 256, 511]) expect(p.read(base + i)[0]).toBe(byteOf(i));
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('refuses a block whose pages are all on the device (no writable present PTE: SCAN_PAGE_RO), migrating nothing', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    expect(p.device(0).migrateToDevice(base, PMD_NR).cpages).toBe(PMD_NR);
    const back0 = p.sys.stats.migrateToRam;
    const seen = watch(p, base);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(-EINVAL);
    expect(p.sys.stats.migrateToRam).toBe(back0);
    expect(seen).toEqual([]);
    expect(pteType(p.mm.pt.pte(base + 5))).toBe(PteType.DEVICE_PRIVATE);
    assertInvariants(m, [p]);
  });

  it('a device-coherent page mapped in the block refuses it (SCAN_PAGE_NULL: ZONE_DEVICE), -EINVAL', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    // Devices 2 and 3 of test_hmm have coherent memory: migrated pages stay CPU-mapped, present.
    expect(p.device(2).migrateToDevice(base + 8, 2).cpages).toBe(2);
    expect(pteType(p.mm.pt.pte(base + 8))).toBe(PteType.PRESENT);
    expect(p.sys.pages.isDeviceCoherent(cpuEntry(p.mm, base + 8).pfn)).toBe(true);
    const seen = watch(p, base);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(-EINVAL);
    expect(seen).toEqual([]);
    expect(isHuge(p, base)).toBe(false);
    assertInvariants(m, [p]);
  });

  it('revokes device-exclusive entries (MMU_NOTIFY_EXCLUSIVE) before collapsing', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    expect(p.device(0).exclusive(base + 10, 4).ret).toBe(0);
    expect(pteType(p.mm.pt.pte(base + 10))).toBe(PteType.DEVICE_EXCLUSIVE);
    const seen = watch(p, base);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    expect(seen.filter((s) => s[2] === NotifyEvent.EXCLUSIVE).map((s) => s[0])).toEqual([10, 11, 12, 13]);
    expect(seen.at(-1)).toEqual([0, PMD_NR, NotifyEvent.CLEAR, null]);
    expect(isHuge(p, base)).toBe(true);
    expect(p.read(base + 11)[0]).toBe(byteOf(11));
    assertInvariants(m, [p]);
  });

  it('a pinned page refuses the block with -EAGAIN before anything is invalidated', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    const flags = { write: true, pin: true, longterm: true };
    const pinned = getUserPages(p.mm, base + 3, 1, flags) as number[];
    const seen = watch(p, base);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(-EAGAIN);
    expect(seen).toEqual([]);
    expect(isHuge(p, base)).toBe(false);
    expect(cpuEntry(p.mm, base + 3).pfn).toBe(pinned[0]);
    putUserPages(p.mm, pinned, flags);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    assertInvariants(m, [p]);
  });

  it('a block shared with a child after fork is read-only (SCAN_PAGE_RO, -EINVAL); one writable page is enough, sharing is no limit', () => {
    const m = new Machine();
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    const child = p.fork();
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(-EINVAL);
    expect(isHuge(p, base)).toBe(false);
    // The parent's COW of one page makes one PTE writable; the other 511 are still shared.
    p.write(base + 1, 0x99);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    expect(isHuge(p, base)).toBe(true);
    expect(p.read(base + 1)[0]).toBe(0x99);
    expect(p.read(base + 2)[0]).toBe(byteOf(2));
    // The child keeps its pages, now mapped by it alone.
    expect(child.read(base + 1)[0]).toBe(byteOf(1));
    expect(child.read(base + 2)[0]).toBe(byteOf(2));
    expect(p.sys.pages.mapcount[cpuEntry(child.mm, base + 2).pfn]).toBe(1);
    assertInvariants(m, [p, child]);
    child.exit();
    p.exit();
    assertNoLeaks(m);
  });

  it('refuses VMAs hugepage_vma_check rejects with -EINVAL: hugetlb, driver (VM_MIXEDMAP), VM_NOHUGEPAGE, never faulted, no aligned block', () => {
    const p = new Machine().spawn();
    const h = p.mmap(PMD_NR, 'hugetlb', 'rw');
    p.write(h, 1);
    expect(p.madvise(h, PMD_NR, 'collapse')).toBe(-EINVAL);
    const d = p.mmap(4, 'dev0', 'rw');
    expect(p.madvise(d, 4, 'collapse')).toBe(-EINVAL);
    const nohuge = alignedAnon(p);
    fill(p, nohuge);
    expect(p.madvise(nohuge, PMD_NR, 'nohugepage')).toBe(0);
    expect(p.madvise(nohuge, PMD_NR, 'collapse')).toBe(-EINVAL);
    expect(p.madvise(nohuge, PMD_NR, 'hugepage')).toBe(0);
    expect(p.madvise(nohuge, PMD_NR, 'collapse')).toBe(0);
    const fresh = alignedAnon(p); // no anon_vma until the first write fault
    expect(p.madvise(fresh, PMD_NR, 'collapse')).toBe(-EINVAL);
    const small = p.mmap(100, 'anon', 'rw'); // holds no aligned 2 MiB block
    p.write(small, 1);
    expect(p.madvise(small, 100, 'collapse')).toBe(-EINVAL);
  });

  it('collapses only the aligned blocks inside the range; an unaligned range inside one block is -EINVAL', () => {
    const p = new Machine().spawn();
    const base = alignedAnon(p, 2);
    for (let i = 0; i < 2 * PMD_NR; i++) p.write(base + i, 1);
    // Inside one block, start not aligned: hstart > hend, and 6.1's unsigned count makes it -EINVAL.
    expect(p.madvise(base + 10, 20, 'collapse')).toBe(-EINVAL);
    // No whole block, but hstart == hend: nothing to do, success.
    expect(p.madvise(base, 20, 'collapse')).toBe(0);
    expect(p.madvise(base + 10, PMD_NR, 'collapse')).toBe(0);
    expect(isHuge(p, base) || isHuge(p, base + PMD_NR)).toBe(false);
    // Half of each block: still neither block is whole.
    expect(p.madvise(base + PMD_NR / 2, PMD_NR, 'collapse')).toBe(0);
    expect(isHuge(p, base) || isHuge(p, base + PMD_NR)).toBe(false);
    expect(p.madvise(base + 5, 2 * PMD_NR - 5, 'collapse')).toBe(0);
    expect([isHuge(p, base), isHuge(p, base + PMD_NR)]).toEqual([false, true]);
  });

  it('a PMD-mapped THP counts as collapsed; an empty PMD stops the walk with -EINVAL; a refused block lets the next one go on', () => {
    const p = new Machine().spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 1);
    const seen = watch(p, t);
    expect(p.madvise(t, PMD_NR, 'collapse')).toBe(0); // SCAN_PMD_MAPPED
    expect(seen).toEqual([]);

    const base = alignedAnon(p, 3);
    for (let i = PMD_NR; i < 3 * PMD_NR; i++) p.write(base + i, 1); // block 0 untouched: PMD none
    expect(p.madvise(base, 3 * PMD_NR, 'collapse')).toBe(-EINVAL);
    expect([isHuge(p, base + PMD_NR), isHuge(p, base + 2 * PMD_NR)]).toEqual([false, false]);

    const pin = { write: true, pin: true };
    const pinned = getUserPages(p.mm, base + PMD_NR, 1, pin) as number[];
    expect(p.madvise(base + PMD_NR, 2 * PMD_NR, 'collapse')).toBe(-EAGAIN); // SCAN_PAGE_COUNT goes on
    expect([isHuge(p, base + PMD_NR), isHuge(p, base + 2 * PMD_NR)]).toEqual([false, true]);
    putUserPages(p.mm, pinned, pin);
  });

  it('recollapses a PTE-mapped THP into a new one and frees the old', () => {
    const m = new Machine();
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    for (let i = 0; i < PMD_NR; i++) p.write(t + i, byteOf(i));
    const old = ptePfn(p.mm.pt.pmd(t)!.huge);
    expect(p.madvise(t + 3, 1, 'dontneed')).toBe(0); // splits the PMD; the THP stays, PTE-mapped
    expect(isHuge(p, t)).toBe(false);
    expect(p.sys.pages.isCompound(cpuEntry(p.mm, t + 4).pfn)).toBe(true);
    expect(p.madvise(t, PMD_NR, 'collapse')).toBe(0);
    const head = ptePfn(p.mm.pt.pmd(t)!.huge);
    expect(head).not.toBe(old);
    expect(p.sys.pages.refcount[old]).toBe(0);
    expect(p.read(t + 3)[0]).toBe(0);
    expect(p.read(t + 4)[0]).toBe(byteOf(4));
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('puts the THP on the node most of the old pages were on', () => {
    const m = new Machine({ nodes: 2 });
    const p = m.spawn();
    const base = alignedAnon(p);
    fill(p, base);
    expect(p.movePages(base, 300, 1).ret).toBe(0);
    expect(p.madvise(base, PMD_NR, 'collapse')).toBe(0);
    expect(p.sys.pages.nodeOf(ptePfn(p.mm.pt.pmd(base)!.huge))).toBe(1);
    expect(p.read(base + 299)[0]).toBe(byteOf(299));
    assertInvariants(m, [p]);
  });

  it('is not modelled for shmem and tmpfs mappings (6.1 collapses their page cache); a misaligned one is refused first', () => {
    const p = new Machine().spawn();
    const sys = p.sys;
    // Shared anonymous memory (shmem, file offset 0) at a 2 MiB-aligned address and one page off it.
    const at = 1000 * PMD_NR;
    expect(mmapFixed(p.mm, at, PMD_NR, PROT_READ | PROT_WRITE, { kind: 'shmem', shared: true, file: sys.newFile(PMD_NR) })).toBe(0);
    p.write(at, 1);
    expect(() => p.madvise(at, PMD_NR, 'collapse')).toThrow(/not modelled/);
    const off = 1010 * PMD_NR + 1;
    expect(mmapFixed(p.mm, off, 2 * PMD_NR, PROT_READ | PROT_WRITE, { kind: 'shmem', shared: true, file: sys.newFile(2 * PMD_NR) })).toBe(0);
    expect(p.madvise(off, 2 * PMD_NR, 'collapse')).toBe(-EINVAL); // transhuge_vma_suitable: vm_start - vm_pgoff not aligned
  });
});
