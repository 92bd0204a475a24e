// mremap (src/mm/mremap.ts), modelled from mm/mremap.c (6.12 / mainline structure), not
// oracle-checked: the hmmtrace op language has no mremap op. These tests pin what the source
// says: every entry kind moves with its data (checked against the bytes written: a flat-memory
// expectation), anonymous pages keep their index and rmap still finds them (after fork too),
// the old range is invalidated with MMU_NOTIFY_UNMAP so a mirror faults again, huge PMDs move
// whole only when aligned, partial moves split the VMA, and bad input gets the man page's errno.
import { describe, it, expect } from 'vitest';
import { Machine, type Process } from '../../src/api/machine.ts';
import { MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP } from '../../src/mm/mremap.ts';
import { EFAULT, EINVAL, ENOMEM, NotifyEvent, PAGE_SIZE, PMD_NR } from '../../src/mm/constants.ts';
import { PteType, pteType, ptePfn } from '../../src/mm/pte.ts';
import { rmapCount, rmapWalk, tryToMigrate, removeMigrationPtes } from '../../src/mm/rmap.ts';
import { assertInvariants, assertNoLeaks } from '../invariants.ts';
import type { KernelVersion } from '../../src/mm/kernel.ts';

const MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;
const byteOf = (i: number): number => ((i * 13 + 5) & 0xff) || 1;

function machine(kernel?: KernelVersion): { m: Machine; p: Process } {
  const m = new Machine(kernel === undefined ? {} : { kernel });
  return { m, p: m.spawn() };
}

/** The first 2 MiB boundary of a private anonymous region mapped with at least `pages` pages from there. */
function alignedAnon(p: Process, pages: number, kind: 'anon' | 'thp' = 'anon'): number {
  const raw = p.mmap(pages + 2 * PMD_NR, kind, 'rw');
  return Math.ceil(raw / PMD_NR) * PMD_NR;
}

/** A free, 2 MiB-aligned hole of `pages` pages (mapped, then unmapped). */
function hole(p: Process, pages: number): number {
  const raw = p.mmap(pages + 2 * PMD_NR, 'anon', 'rw');
  const a = Math.ceil(raw / PMD_NR) * PMD_NR;
  expect(p.munmap(raw, pages + 2 * PMD_NR)).toBe(0);
  return a;
}

function fill(p: Process, a: number, n: number, from = 0): void {
  for (let i = 0; i < n; i++) p.write(a + i, byteOf(from + i));
}

/** The first page of [a, a+n) whose bytes are not byteOf(from + i) everywhere, or -1. */
function firstBad(p: Process, a: number, n: number, from = 0): number {
  for (let i = 0; i < n; i++) {
    const d = p.read(a + i);
    if (d[0] !== byteOf(from + i) || d[PAGE_SIZE - 1] !== byteOf(from + i)) return i;
  }
  return -1;
}

/** Every mapping of an anonymous page in `p` is found by rmap at its address. */
function rmapFindsEverything(p: Process, a: number, n: number): void {
  const sys = p.sys;
  for (let v = a; v < a + n; v++) {
    const pmd = p.mm.pt.pmd(v);
    const e = pmd?.huge ? pmd.huge : p.mm.pt.pte(v);
    if (e === 0) continue;
    const pfn = pmd?.huge ? ptePfn(e) + (v % PMD_NR) : ptePfn(e);
    if (sys.isZeroPfn(pfn) || sys.isHugeZero(ptePfn(e)) || !sys.pages.isAnon(pfn)) continue;
    const migration = pteType(e) === PteType.MIGRATION;
    const hits = rmapWalk(sys, pfn, migration).filter((h) => h.mm === p.mm);
    expect(hits.some((h) => h.vpn === v || (h.huge && Math.floor(h.vpn / PMD_NR) === Math.floor(v / PMD_NR)))).toBe(true);
  }
}

/** Records every notifier range reaching [base, base + n) as [start - base, end - base, event]. */
function watch(p: Process, base: number, n: number): Array<[number, number, NotifyEvent]> {
  const seen: Array<[number, number, NotifyEvent]> = [];
  p.mm.notifiers.insert(base, n, (sub, range, seq) => {
    sub.setSeq(seq);
    seen.push([range.start - base, range.end - base, range.event]);
    return true;
  });
  return seen;
}

describe('mremap: entries move with their data', () => {
  it.each(['6.1', '6.12', '7.x'] as KernelVersion[])('present 4 KiB pages, MREMAP_FIXED, on %s', (k) => {
    const { m, p } = machine(k);
    const a = alignedAnon(p, 64);
    fill(p, a, 64);
    const to = hole(p, 64) + 3;
    expect(p.mremap(a, 64, 64, MOVE, to)).toBe(to);
    expect(firstBad(p, to, 64)).toBe(-1);
    expect(p.access(a, false)).toBe('SIGSEGV');
    rmapFindsEverything(p, to, 64);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('a PMD-mapped THP moves whole between aligned addresses, and is split otherwise', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, PMD_NR, 'thp');
    fill(p, a, PMD_NR);
    const head = ptePfn(p.mm.pt.pmd(a)!.huge);
    expect(head).toBeGreaterThan(0);
    const to = hole(p, 2 * PMD_NR);
    expect(p.mremap(a, PMD_NR, PMD_NR, MOVE, to)).toBe(to);
    expect(ptePfn(p.mm.pt.pmd(to)!.huge)).toBe(head); // move_huge_pmd: the same folio, still PMD-mapped
    expect(p.sys.pages.entireMapcountOf(head)).toBe(1);
    expect(firstBad(p, to, PMD_NR)).toBe(-1);
    rmapFindsEverything(p, to, PMD_NR);
    // Unaligned: split_huge_pmd, then 512 PTEs of the same folio at the new place.
    const to2 = hole(p, 2 * PMD_NR) + 7;
    expect(p.mremap(to, PMD_NR, PMD_NR, MOVE, to2)).toBe(to2);
    expect(p.mm.pt.pmd(to2)?.huge ?? 0).toBe(0);
    expect(ptePfn(p.mm.pt.pte(to2))).toBe(head);
    expect(firstBad(p, to2, PMD_NR)).toBe(-1);
    rmapFindsEverything(p, to2, PMD_NR);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('device-private entries move and fault back with their data (6.12, 4 KiB)', () => {
    const { m, p } = machine('6.12');
    const fd = p.device(0);
    const a = alignedAnon(p, 32);
    fill(p, a, 32);
    expect(fd.migrateToDevice(a, 32).ret).toBe(0);
    const to = hole(p, 32) + 1;
    expect(p.mremap(a, 32, 32, MOVE, to)).toBe(to);
    for (let i = 0; i < 32; i++) expect(pteType(p.mm.pt.pte(to + i))).toBe(PteType.DEVICE_PRIVATE);
    rmapFindsEverything(p, to, 32);
    expect(firstBad(p, to, 32)).toBe(-1);
    for (let i = 0; i < 32; i++) expect(pteType(p.mm.pt.pte(to + i))).toBe(PteType.PRESENT);
    assertInvariants(m, [p]);
    expect(p.close(0)).toBe(true);
    p.exit();
    assertNoLeaks(m);
  });

  it('device-exclusive entries move; the CPU access at the new address restores them', () => {
    const { m, p } = machine('6.12');
    const fd = p.device(0);
    const a = alignedAnon(p, 16);
    fill(p, a, 16);
    expect(fd.exclusive(a, 16).ret).toBe(0);
    expect(pteType(p.mm.pt.pte(a))).toBe(PteType.DEVICE_EXCLUSIVE);
    const to = hole(p, 16) + 2;
    expect(p.mremap(a, 16, 16, MOVE, to)).toBe(to);
    for (let i = 0; i < 16; i++) expect(pteType(p.mm.pt.pte(to + i))).toBe(PteType.DEVICE_EXCLUSIVE);
    expect(firstBad(p, to, 16)).toBe(-1);
    expect(pteType(p.mm.pt.pte(to))).toBe(PteType.PRESENT);
    assertInvariants(m, [p]);
    expect(p.close(0)).toBe(true);
    p.exit();
    assertNoLeaks(m);
  });

  it('migration entries move, and remove_migration_ptes finds them at the new address', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, 4);
    fill(p, a, 4);
    const pfns = [0, 1, 2, 3].map((i) => ptePfn(p.mm.pt.pte(a + i)));
    for (const pfn of pfns) tryToMigrate(p.sys, pfn);
    expect(pteType(p.mm.pt.pte(a))).toBe(PteType.MIGRATION);
    const to = hole(p, 4) + 9;
    expect(p.mremap(a, 4, 4, MOVE, to)).toBe(to);
    for (let i = 0; i < 4; i++) expect(pteType(p.mm.pt.pte(to + i))).toBe(PteType.MIGRATION);
    for (const pfn of pfns) expect(rmapCount(p.sys, pfn, true)).toBe(1);
    for (const pfn of pfns) removeMigrationPtes(p.sys, pfn, pfn);
    for (let i = 0; i < 4; i++) expect(ptePfn(p.mm.pt.pte(to + i))).toBe(pfns[i]);
    expect(firstBad(p, to, 4)).toBe(-1);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('a shmem mapping moves; its pages stay the file pages', () => {
    const { m, p } = machine();
    const a = p.mmap(8, 'shared', 'rw');
    fill(p, a, 8);
    const to = hole(p, 8);
    expect(p.mremap(a, 8, 8, MOVE, to)).toBe(to);
    expect(firstBad(p, to, 8)).toBe(-1);
    const pfn = ptePfn(p.mm.pt.pte(to));
    expect(rmapCount(p.sys, pfn, false)).toBe(1);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
});

describe('mremap: mirrors and the MMU notifier', () => {
  it('one MMU_NOTIFY_UNMAP over the old range (then munmap\'s), and a dmirror read faults again', () => {
    const { m, p } = machine();
    const fd = p.device(0);
    const a = alignedAnon(p, 8);
    fill(p, a, 8);
    const seen = watch(p, a, 8);
    const r1 = fd.read(a, 8);
    expect(r1.ret).toBe(0);
    expect(r1.faults).toBeGreaterThan(0);
    expect(fd.read(a, 8).faults).toBe(0); // mirrored: no fault the second time
    expect(fd.mirror.pt.get(a)).toBeDefined();
    const to = hole(p, 8) + 5;
    expect(p.mremap(a, 8, 8, MOVE, to)).toBe(to);
    // move_page_tables' UNMAP over the old range; then move_vma's munmap of it: split_vma at the
    // unaligned end invalidates the 2 MiB block around it (vma_adjust_trans_huge, as munmap does
    // in the model), then the munmap's own UNMAP.
    expect(seen).toEqual([[0, 8, NotifyEvent.UNMAP], [0, PMD_NR, NotifyEvent.CLEAR], [0, 8, NotifyEvent.UNMAP]]);
    expect(fd.mirror.pt.get(a)).toBeUndefined();
    const r2 = fd.read(to, 8);
    expect(r2.ret).toBe(0);
    expect(r2.faults).toBeGreaterThan(0);
    for (let i = 0; i < 8; i++) expect(r2.data![i * PAGE_SIZE]).toBe(byteOf(i));
    expect(fd.read(a, 8).ret).toBeLessThan(0); // nothing mapped there any more
    expect(p.close(0)).toBe(true);
    p.exit();
    assertNoLeaks(m);
  });
});

describe('mremap: fork, partial moves, resizing', () => {
  it('fork then mremap: shared pages keep their index, both processes keep their data, COW still works', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, 16);
    fill(p, a, 16);
    const c = p.fork();
    const pfn0 = ptePfn(p.mm.pt.pte(a));
    const to = hole(p, 16) + 1;
    expect(p.mremap(a, 16, 16, MOVE, to)).toBe(to);
    expect(ptePfn(p.mm.pt.pte(to))).toBe(pfn0);
    expect(rmapCount(p.sys, pfn0, false)).toBe(2); // the parent at `to`, the child at `a`
    rmapFindsEverything(p, to, 16);
    rmapFindsEverything(c, a, 16);
    // COW on both sides.
    c.write(a, 0xee);
    p.write(to + 1, 0xdd);
    expect(c.read(a)[0]).toBe(0xee);
    expect(p.read(to)[0]).toBe(byteOf(0));
    expect(c.read(a + 1)[0]).toBe(byteOf(1));
    expect(p.read(to + 1)[0]).toBe(0xdd);
    expect(firstBad(p, to + 2, 14, 2)).toBe(-1);
    expect(firstBad(c, a + 2, 14, 2)).toBe(-1);
    // A fork after the move copies the moved VMA's index too.
    const g = p.fork();
    expect(firstBad(g, to + 2, 14, 2)).toBe(-1);
    rmapFindsEverything(g, to, 16);
    assertInvariants(m, [p, c, g]);
    g.exit();
    c.exit();
    p.exit();
    assertNoLeaks(m);
  });

  it('moving the middle of a VMA leaves two pieces and a new VMA; unaligned THP is split', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, PMD_NR, 'thp');
    fill(p, a, PMD_NR);
    const to = hole(p, 100);
    const vmas = p.mm.vmas.length;
    expect(p.mremap(a + 100, 100, 100, MOVE, to)).toBe(to);
    expect(p.mm.vmas.length).toBe(vmas + 2);
    expect(p.access(a + 150, false)).toBe('SIGSEGV');
    expect(firstBad(p, a, 100)).toBe(-1);
    expect(firstBad(p, to, 100, 100)).toBe(-1);
    expect(firstBad(p, a + 200, PMD_NR - 200, 200)).toBe(-1);
    rmapFindsEverything(p, a, PMD_NR);
    rmapFindsEverything(p, to, 100);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('shrinks in place, grows in place into free space, moves only with MREMAP_MAYMOVE', () => {
    const { m, p } = machine();
    const a = hole(p, 64);
    // A 16-page VMA at `a` with 48 free pages after it.
    const m0 = p.mmap(16, 'anon', 'rw');
    expect(p.mremap(m0, 16, 16, MOVE, a)).toBe(a);
    fill(p, a, 16);
    expect(p.mremap(a, 16, 8, 0)).toBe(a); // shrink
    expect(p.access(a + 8, false)).toBe('SIGSEGV');
    expect(firstBad(p, a, 8)).toBe(-1);
    expect(p.mremap(a, 8, 40, 0)).toBe(a); // grow in place
    expect(p.mm.findVma(a)!.end).toBe(a + 40);
    expect(firstBad(p, a, 8)).toBe(-1);
    expect(p.read(a + 30)[0]).toBe(0);
    // Something right after: no room in place.
    const blocker = p.mremap(p.mmap(1, 'anon', 'rw'), 1, 1, MOVE, a + 41);
    expect(blocker).toBe(a + 41);
    expect(p.mremap(a, 40, 60, 0)).toBe(-ENOMEM);
    const moved = p.mremap(a, 40, 60, MREMAP_MAYMOVE);
    expect(moved).toBeGreaterThan(0);
    expect(moved).not.toBe(a);
    expect(p.mm.findVma(moved)!.end).toBe(moved + 60);
    expect(firstBad(p, moved, 8)).toBe(-1);
    rmapFindsEverything(p, moved, 60);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('MREMAP_DONTUNMAP leaves the old range mapped and empty', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, 8);
    fill(p, a, 8);
    const to = hole(p, 8);
    expect(p.mremap(a, 8, 8, MOVE | MREMAP_DONTUNMAP, to)).toBe(to);
    expect(firstBad(p, to, 8)).toBe(-1);
    expect(p.read(a)[0]).toBe(0);
    p.write(a, 0x42);
    expect(p.read(a)[0]).toBe(0x42);
    expect(p.read(to)[0]).toBe(byteOf(0));
    rmapFindsEverything(p, a, 8);
    rmapFindsEverything(p, to, 8);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
});

describe('mremap: errors', () => {
  it('returns the man page\'s errno for bad input and changes nothing', () => {
    const { m, p } = machine();
    const a = alignedAnon(p, 8);
    fill(p, a, 8);
    const to = hole(p, 16);
    const B = PAGE_SIZE;
    expect(p.mremapBytes(a * B + 1, 8 * B, 8 * B, MREMAP_MAYMOVE)).toBe(-EINVAL); // unaligned address
    expect(p.mremapBytes(a * B, 8 * B, 8 * B, 0x80)).toBe(-EINVAL); // unknown flag
    expect(p.mremap(a, 8, 8, MREMAP_FIXED, to)).toBe(-EINVAL); // FIXED without MAYMOVE
    expect(p.mremap(a, 8, 0, MREMAP_MAYMOVE)).toBe(-EINVAL); // new length 0
    expect(p.mremapBytes(a * B, 8 * B, 8 * B, MOVE, to * B + 5)).toBe(-EINVAL); // unaligned new address
    expect(p.mremap(a, 8, 8, MOVE, a + 4)).toBe(-EINVAL); // overlapping ranges
    expect(p.mremap(a, 8, 16, MOVE | MREMAP_DONTUNMAP, to)).toBe(-EINVAL); // DONTUNMAP resizes nothing
    expect(p.mremap(to, 4, 8, MREMAP_MAYMOVE)).toBe(-EFAULT); // nothing mapped there
    expect(p.mremap(a, 2 * PMD_NR * 4, 2 * PMD_NR * 4 + 1, MREMAP_MAYMOVE)).toBe(-EFAULT); // past the VMA's end
    // A length that is not a page multiple is rounded up (PAGE_ALIGN): 1 byte moves a page.
    expect(firstBad(p, a, 8)).toBe(-1);
    expect(p.mremapBytes(a * B, 1, 1, MOVE, to * B)).toBe(to * B);
    expect(p.read(to)[0]).toBe(byteOf(0));
    expect(firstBad(p, a + 1, 7, 1)).toBe(-1);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
});
