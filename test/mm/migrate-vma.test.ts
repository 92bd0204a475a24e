// migrate_vma on a reused MigrateVma (reuseMigrateVma), and the collect step that settles a page
// mapped only by the PTE it replaced (migrate_device_unmap's check made in collect): a reused
// MigrateVma migrates exactly as a fresh one, and pages the fused check must not settle (mapped
// by another process, holding an extra reference) still take migrate_device_unmap's path.
import { describe, it, expect } from 'vitest';
import { Machine, type Process } from '../../src/api/machine.ts';
import {
  reuseMigrateVma, newMigrateVma, migrateVmaSetup, migrateVmaPages, migrateVmaFinalize, migratePfn, migratePfnToPage, mpfnHas,
  MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE, MIGRATE_VMA_SELECT_SYSTEM, type MigrateVma,
} from '../../src/mm/migrate-device.ts';
import { getUserPages, putUserPages } from '../../src/mm/gup.ts';
import { PteType } from '../../src/mm/pte.ts';
import { cpuEntry } from '../invariants.ts';

/** A process with `n` written anonymous pages and a device of 2n private pages handing them out in order. */
function world(n: number) {
  const m = new Machine({ keepData: true });
  const p = m.spawn();
  const a = p.mmap(n, 'anon', 'rw');
  for (let i = 0; i < n; i++) p.write(a + i, 1 + (i % 200));
  const free: number[] = [];
  const owner = { name: 'test device' };
  const pm = m.sys.memremapPages('private', owner, { pageFree: (pfn) => free.push(pfn), migrateToRam: () => 2 }, 2 * n);
  for (let pfn = pm.start + 2 * n - 1; pfn >= pm.start; pfn--) free.push(pfn);
  return { m, p, a, owner, free };
}

/** Allocation and copy for every collected entry, then pages and finalize; returns the entries that moved. */
function toDevice(w: ReturnType<typeof world>, args: MigrateVma): number {
  const pages = w.m.sys.pages;
  expect(migrateVmaSetup(args)).toBe(0);
  for (let i = 0; i < args.npages; i++) {
    if (!mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE)) continue;
    const d = w.free.pop()!;
    pages.refcount[d] = 1;
    pages.flags[d] = 0;
    pages.mapcount[d] = 0;
    pages.copy(d, migratePfnToPage(args.src[i]));
    args.dst[i] = migratePfn(d) + (mpfnHas(args.src[i], MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
  }
  migrateVmaPages(args);
  let moved = 0;
  for (let i = 0; i < args.npages; i++) if (mpfnHas(args.src[i], MIGRATE_PFN_MIGRATE) && migratePfnToPage(args.dst[i]) >= 0) moved++;
  migrateVmaFinalize(args);
  return moved;
}

/** Each page's entry type and contents' first byte, and the in-use counts: what a migration leaves. */
function snapshot(w: ReturnType<typeof world>, p: Process, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = cpuEntry(p.mm, w.a + i);
    out.push(`${e.type}:${e.write}:${e.type === PteType.PRESENT ? w.m.sys.pages.bytes(e.pfn)[0] : '-'}`);
  }
  return `${out.join(' ')} | in use ${w.m.sys.pages.systemInUse}, migrated ${w.m.sys.stats.migrated}`;
}

describe('migrate_vma with a reused MigrateVma', () => {
  it('keeps the object and its buffer while the buffer holds the range, with views of exactly the range', () => {
    const w = world(64);
    const first = newMigrateVma(w.p.mm, w.p.mm.findVma(w.a)!, w.a, w.a + 64, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
    const buf = first.src.buffer;
    const smaller = reuseMigrateVma(first, w.p.mm, w.p.mm.findVma(w.a)!, w.a + 8, w.a + 40, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
    expect(smaller).toBe(first);
    expect([smaller.src.length, smaller.dst.length, smaller.single.length]).toEqual([32, 32, 32]);
    expect(smaller.src.buffer).toBe(buf);
    expect([smaller.start, smaller.end, smaller.cpages, smaller.npages]).toEqual([w.a + 8, w.a + 40, 0, 0]);
    const same = reuseMigrateVma(smaller, w.p.mm, w.p.mm.findVma(w.a)!, w.a, w.a + 64, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
    expect(same.src.buffer).toBe(buf);
    expect(same.src.length).toBe(64);
    // A larger range than the buffer holds gets a new one.
    const w2 = world(128);
    const larger = reuseMigrateVma(same, w2.p.mm, w2.p.mm.findVma(w2.a)!, w2.a, w2.a + 128, w2.owner, MIGRATE_VMA_SELECT_SYSTEM);
    expect(larger.src.buffer).not.toBe(buf);
    expect(larger.src.length).toBe(128);
  });

  it('migrates block after block exactly as fresh MigrateVmas do, whatever the previous call left in the arrays', () => {
    const n = 96;
    const results: string[] = [];
    for (const reuse of [false, true]) {
      const w = world(n);
      const vma = w.p.mm.findVma(w.a)!;
      let spare: MigrateVma | null = null;
      let moved = 0;
      // Blocks of different sizes, so a reused MigrateVma meets a range longer than its last one.
      for (const [lo, hi] of [[0, 40], [40, 50], [50, 96]]) {
        const args: MigrateVma = reuse ? reuseMigrateVma(spare, w.p.mm, vma, w.a + lo, w.a + hi, w.owner, MIGRATE_VMA_SELECT_SYSTEM) : newMigrateVma(w.p.mm, vma, w.a + lo, w.a + hi, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
        moved += toDevice(w, args);
        spare = args;
      }
      expect(moved).toBe(n);
      for (let i = 0; i < n; i++) expect(cpuEntry(w.p.mm, w.a + i).type).toBe(PteType.DEVICE_PRIVATE);
      results.push(snapshot(w, w.p, n));
    }
    expect(results[1]).toBe(results[0]);
  });
});

describe("migrate_vma_setup's collect and migrate_device_unmap", () => {
  it('a page another process maps too is unmapped there as well (try_to_migrate) and moves', () => {
    const w = world(8);
    const child = w.p.fork();
    const args = newMigrateVma(w.p.mm, w.p.mm.findVma(w.a)!, w.a, w.a + 8, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
    expect(toDevice(w, args)).toBe(8);
    for (let i = 0; i < 8; i++) {
      expect(cpuEntry(w.p.mm, w.a + i).type).toBe(PteType.DEVICE_PRIVATE);
      expect(cpuEntry(child.mm, w.a + i).type).toBe(PteType.DEVICE_PRIVATE);
      // Not collect's own entry: finalize found it through the rmap walk.
      expect(args.single[i]).toBe(0);
    }
    // Both map the one device page, which holds the page's bytes.
    expect(cpuEntry(child.mm, w.a + 3).pfn).toBe(cpuEntry(w.p.mm, w.a + 3).pfn);
    expect(w.m.sys.pages.bytes(cpuEntry(w.p.mm, w.a + 3).pfn)[0]).toBe(4);
  });

  it('a page with a reference beyond its mapping is left mapped where it was; its neighbours move', () => {
    const w = world(8);
    const held = getUserPages(w.p.mm, w.a + 2, 1, { write: true });
    if (typeof held === 'number') throw new Error(`gup ${held}`);
    const before = cpuEntry(w.p.mm, w.a + 2);
    const args = newMigrateVma(w.p.mm, w.p.mm.findVma(w.a)!, w.a, w.a + 8, w.owner, MIGRATE_VMA_SELECT_SYSTEM);
    expect(toDevice(w, args)).toBe(7);
    // migrate_device_unmap dropped it (its slot zeroed, its entry restored); setup counted 7.
    expect(args.cpages).toBe(7);
    expect(args.src[2]).toBe(0);
    expect(cpuEntry(w.p.mm, w.a + 2)).toEqual(before);
    putUserPages(w.p.mm, held, { write: true });
    for (let i = 0; i < 8; i++) expect(cpuEntry(w.p.mm, w.a + i).type).toBe(i === 2 ? PteType.PRESENT : PteType.DEVICE_PRIVATE);
    expect(w.p.read(w.a + 2)[0]).toBe(3);
  });
});
