// The kernel-version switches (src/mm/kernel.ts), each on both kernels. The 6.12 column is what
// the 6.12 oracle printed for the same kind of script (../shared/oracle/README-612.md), except
// mprotectWritesAnonPmd, which is modelled from the 6.12 source.
import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/api/machine.ts';
import { SimMachine } from '../../src/sim/machine.ts';
import { runTrace } from '../../src/hmmtrace/runner.ts';
import { System } from '../../src/mm/system.ts';
import { DEFAULT_KERNEL, KERNELS, KERNEL_VERSIONS, isKernelVersion, type KernelVersion } from '../../src/mm/kernel.ts';
import { getUserPages, putUserPages } from '../../src/mm/gup.ts';
import { EOPNOTSUPP, PMD_NR } from '../../src/mm/constants.ts';
import { PteType, pteType, ptePfn } from '../../src/mm/pte.ts';
import { assertInvariants, assertNoLeaks } from '../invariants.ts';

/** The perm field of every snapshot line the script prints on `kernel`. */
function perms(kernel: KernelVersion, script: string): string[] {
  return runTrace(script, { kernel }).lines.filter((l) => l.startsWith('snapshot')).map((l) => l.replace(/.*perm=/, ''));
}
/** The result (after `=>`) of every line the script prints on `kernel`. */
function results(kernel: KernelVersion, script: string): string[] {
  return runTrace(script, { kernel }).lines.filter((l) => l.includes('=>')).map((l) => l.replace(/.*=> /, ''));
}

describe('kernel versions', () => {
  it('6.12 is the default, and each version has its own switches', () => {
    expect(DEFAULT_KERNEL).toBe('6.12');
    expect(new System().k).toBe(KERNELS['6.12']);
    expect(new System({ kernel: '6.1' }).k).toBe(KERNELS['6.1']);
    expect(new System({ kernel: '6.12' }).k.version).toBe('6.12');
    expect(new Machine({ kernel: '6.12' }).sys.k).toBe(KERNELS['6.12']);
    expect(KERNEL_VERSIONS.every(isKernelVersion)).toBe(true);
    expect(isKernelVersion('6.2')).toBe(false);
    expect(() => new System({ kernel: '6.2' as KernelVersion })).toThrow(/kernel must be one of 6\.1, 6\.12, 7\.x, got '6\.2'/);
    // 7.x is 6.12 plus the switches modelled from mainline source.
    const seven = new System({ kernel: '7.x' }).k;
    expect(seven.version).toBe('7.x');
    const changed = Object.keys(seven).filter((n) => n !== 'version' && seven[n as keyof typeof seven] !== KERNELS['6.12'][n as keyof typeof seven]);
    expect(changed.sort()).toEqual(['deviceExclusiveKeepsMapcount', 'deviceExclusiveOnePage', 'devicePrivateThp', 'migrateHandlesDeviceExclusive', 'zapChecksFolioAnon']);
    // Every behaviour switch is off on 6.1: the model is 6.1 unless a switch says otherwise.
    for (const [name, on] of Object.entries(KERNELS['6.1'])) if (typeof on === 'boolean') expect(on, name).toBe(false);
    expect(KERNELS['6.1'].vdsoPages).toBe(1);
  });
});

describe('thpSplitMapsZeroPage: split_huge_page maps all-zero anon subpages to the zero page (6.12)', () => {
  // Page 0 written, page 2 written with zeroes (contents decide, not writes), page 3 never
  // touched; migrating page 1 splits the THP (migrate_vma's collect calls split_folio).
  const script = 'mmap T 512 thp rw\ncpu_write T 0 0x11\ncpu_write T 2 0\ncpu_write T 4 0x44\nmigrate_to_dev 0 T 1 1\nsnapshot 0 T 0 5\n';
  it('6.1 keeps every subpage', () => {
    expect(perms('6.1', script)).toEqual(['02,22,02,02,02']);
  });
  it('6.12 maps the all-zero ones (written with zeroes or never) to the zero page', () => {
    expect(perms('6.12', script)).toEqual(['02,22,11,11,02']);
  });
  it('6.12 frees the subpages it stopped mapping, and reads still see zeroes', () => {
    const m = new Machine({ kernel: '6.12' });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    const head = ptePfn(p.mm.pt.pmd(t)!.huge);
    const inUse = m.sys.pages.systemInUse;
    const r = p.device(0).migrateToDevice(t + 1, 1);
    expect(r.ret).toBe(0);
    // Page 0 stays, page 1 went to the device (its system page freed, a backing page for the
    // device page's bytes allocated: dmirror's), and the 510 others went to the zero page.
    expect(m.sys.pages.systemInUse).toBe(inUse - 510);
    expect(pteType(p.mm.pt.pte(t + 3))).toBe(PteType.PRESENT);
    expect(ptePfn(p.mm.pt.pte(t + 3))).toBe(m.sys.zeroPfn);
    expect(m.sys.pages.refcount[head + 3]).toBe(0);
    expect(p.read(t + 3).every((b) => b === 0)).toBe(true);
    assertInvariants(m, [p]);
    p.write(t + 3, 0x33); // a write fault on the zero page allocates a page as usual
    expect(p.read(t + 3)[0]).toBe(0x33);
    p.exit();
    assertNoLeaks(m);
  });
  it('a subpage with one non-zero byte is used', () => {
    const m = new Machine({ kernel: '6.12' });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    const page = new Uint8Array(4096);
    page[4095] = 1;
    p.writeBytes(t + 5, page);
    p.device(0).migrateToDevice(t + 1, 1);
    expect(ptePfn(p.mm.pt.pte(t + 5))).not.toBe(m.sys.zeroPfn);
    expect(ptePfn(p.mm.pt.pte(t + 6))).toBe(m.sys.zeroPfn);
  });
  it('MADV_COLD splits too; a PMD split alone (partial mprotect) does not map the zero page', () => {
    const cold = 'mmap U 512 thp rw\ncpu_write U 0 0x11\nmadvise U 0 2 cold\nsnapshot 0 U 0 3\n';
    expect(perms('6.1', cold)).toEqual(['02,02,02']);
    expect(perms('6.12', cold)).toEqual(['02,11,11']);
    const pmdOnly = 'mmap V 512 thp rw\ncpu_write V 0 0x11\nmprotect V r 0 1\nsnapshot 0 V 0 3\n';
    expect(perms('6.1', pmdOnly)).toEqual(perms('6.12', pmdOnly));
    expect(perms('6.12', pmdOnly)[0]).not.toContain('11');
  });
  it('no-data mode cannot see contents and keeps every subpage (the 6.1 mapping)', () => {
    const m = new Machine({ kernel: '6.12', keepData: false });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.access(t, true);
    p.device(0).migrateToDevice(t + 1, 1);
    expect(ptePfn(p.mm.pt.pte(t + 3))).not.toBe(m.sys.zeroPfn);
    assertInvariants(m, [p]);
  });
});

describe('mprotectWritesCleanAnon: mprotect rw upgrades clean exclusive anon PTEs (6.12)', () => {
  // Page 1 comes back from the device read-only and clean (as in mprotect-whole.trace); page 0
  // is dirty; page 2 is the zero page.
  const script = [
    'mmap A 3 anon rw', 'cpu_write A 0 0x11', 'cpu_write A 1 0x22', 'cpu_read A 2',
    'migrate_to_dev 0 A 1 1', 'mprotect A r', 'cpu_read A 1', 'mprotect A rw', 'snapshot 0 A 0 3',
  ].join('\n') + '\n';
  it('6.1 needs the PTE dirty', () => {
    expect(perms('6.1', script)).toEqual(['02,01,11']);
  });
  it('6.12 does not', () => {
    expect(perms('6.12', script)).toEqual(['02,02,11']);
  });
  it('a page that is not exclusive (fork cleared PageAnonExclusive) stays read-only on both', () => {
    const shared = 'mmap A 1 anon rw\ncpu_write A 0 0x11\nchild cpu_read A 0\nmprotect A r\nmprotect A rw\nsnapshot 0 A 0 1\n';
    expect(perms('6.1', shared)).toEqual(['01']);
    expect(perms('6.12', shared)).toEqual(['01']);
  });
});

describe('mprotectWritesAnonPmd: mprotect rw upgrades an exclusive anon PMD (6.12, from source)', () => {
  const script = 'mmap V 512 thp rw\ncpu_write V 3 0x33\nmprotect V r\nmprotect V rw\nsnapshot 0 V 0 2\n';
  it('6.1 leaves the PMD read-only until a write fault', () => {
    expect(perms('6.1', script)).toEqual(['05,05']);
  });
  it('6.12 makes it writable at once', () => {
    expect(perms('6.12', script)).toEqual(['06,06']);
  });
  it('a hugetlb PMD stays read-only on both (hugetlb_change_protection never upgrades)', () => {
    const huge = 'mmap H 512 hugetlb rw\ncpu_write H 0 0x11\nmprotect H r\nmprotect H rw\nsnapshot 0 H 0 1\n';
    expect(perms('6.1', huge)).toEqual(['05']);
    expect(perms('6.12', huge)).toEqual(['05']);
  });
  it('the huge zero page stays read-only on both', () => {
    const zero = 'mmap V 512 thp rw\ncpu_read V 3\nmprotect V r\nmprotect V rw\nsnapshot 0 V 0 1\n';
    expect(perms('6.1', zero)).toEqual(perms('6.12', zero));
  });
});

describe('gupRejectsSplitPmdOnHugetlb: exclusive on hugetlb faults nothing in (6.12)', () => {
  const script = 'mmap H 512 hugetlb rw\nexclusive 0 H 0 1\nsnapshot 0 H 0 2\ncpu_read H 0\nsnapshot 0 H 0 2\n';
  it('both answer -EBUSY; 6.1 has faulted the huge page in, 6.12 leaves the range unmapped', () => {
    expect(results('6.1', script)[1]).toBe('ret=-EBUSY');
    expect(results('6.12', script)[1]).toBe('ret=-EBUSY');
    expect(perms('6.1', script)).toEqual(['06,06', '06,06']);
    expect(perms('6.12', script)).toEqual(['00,00', '05,05']);
  });
  it('GUP with FOLL_SPLIT_PMD on a hugetlb VMA is -EOPNOTSUPP on 6.12 only', () => {
    for (const kernel of KERNEL_VERSIONS) {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const h = p.mmap(PMD_NR, 'hugetlb', 'rw');
      const got = getUserPages(p.mm, h, 1, { write: true, splitPmd: true });
      if (KERNELS[kernel].gupRejectsSplitPmdOnHugetlb) expect(got).toBe(-EOPNOTSUPP);
      else {
        expect(Array.isArray(got) && got.length).toBe(1);
        putUserPages(p.mm, got as number[], {});
      }
      // Without FOLL_SPLIT_PMD both kernels fault the huge page in.
      const plain = getUserPages(p.mm, h, 1, { write: true });
      expect(Array.isArray(plain)).toBe(true);
      putUserPages(p.mm, plain as number[], {});
      p.exit();
      assertNoLeaks(m);
    }
  });
});

describe('mprotectUnaccountsUnfaulted: a never-faulted anon VMA made read-only is uncharged (6.12)', () => {
  /** VMAs of [a, a + 512) after charging its first 5 pages (mprotect w) and making it all r. */
  function vmasAfter(kernel: KernelVersion, fault: boolean): number {
    const m = new Machine({ kernel });
    const p = m.spawn();
    const a = p.mmap(PMD_NR, 'thp', 'none');
    p.mprotect(a, 5, 'w');
    if (fault) p.access(a, true); // an anon_vma now: the charge stays on both kernels
    p.mprotect(a, PMD_NR, 'r');
    return p.mm.vmas.filter((v) => v.start < a + PMD_NR && v.end > a).length;
  }
  it('6.1 keeps VM_ACCOUNT, so the charged part stays a VMA of its own', () => {
    expect(vmasAfter('6.1', false)).toBe(2);
  });
  it('6.12 drops it and the region merges back into one VMA', () => {
    expect(vmasAfter('6.12', false)).toBe(1);
  });
  it('not once the VMA has faulted (it has an anon_vma)', () => {
    expect(vmasAfter('6.1', true)).toBe(2);
    expect(vmasAfter('6.12', true)).toBe(2);
  });
});

describe('vdsoPages: the vDSO is one page on 6.1, two on 6.12', () => {
  it('every mmap lands one page lower on 6.12', () => {
    const first = (kernel: KernelVersion) => new Machine({ kernel }).spawn().mmap(1, 'anon', 'rw');
    expect(first('6.1') - first('6.12')).toBe(1);
    // 6.1: TASK_SIZE less the 128 MiB gap, 4 vvar pages and 1 vDSO page (probed on the oracle).
    expect(new Machine({ kernel: '6.1' }).spawn().mm.mmapBase).toBe(0x7ffff7fff - 5);
    expect(new Machine().spawn().mm.mmapBase).toBe(0x7ffff7fff - 6);
  });
});

describe('mmapAlignsPmdSizedAnon: a hint-less private anonymous mmap of a 2 MiB multiple is 2 MiB aligned (6.12)', () => {
  // hmmtrace's region of 1022 pages is a PROT_NONE reservation of 1024 (4 MiB) with the region
  // one page in; E's reservation is 3 pages (probes n15-612-mmap-align-* of test/oracle-numa-612).
  const place = (kernel: KernelVersion, pages: number) => {
    const p = new Machine({ kernel }).spawn();
    const b = p.mmap(pages, 'anon', 'rw');
    return { b, e: p.mmap(1, 'anon', 'rw') };
  };
  it('6.12 puts the reservation on a 2 MiB boundary and the next small mapping above it, 1,526 pages up as the oracle did', () => {
    const { b, e } = place('6.12', 1022);
    expect((b - 1) % PMD_NR).toBe(0);
    expect(e - b).toBe(1526);
  });
  it('6.1 puts both at the top of the highest gap: E right below B', () => {
    const { b, e } = place('6.1', 1022);
    expect((b - 1) % PMD_NR).not.toBe(0);
    expect(e + 1 + 1).toBe(b - 1);
  });
  it('a length that is no 2 MiB multiple is not aligned on 6.12 either', () => {
    const { b, e } = place('6.12', 1021);
    expect(e).toBeLessThan(b);
  });
  it('mremap moving an anonymous VMA to a 2 MiB multiple lands aligned on 6.12 (get_unmapped_area of the new length)', () => {
    for (const kernel of ['6.1', '6.12'] as const) {
      const p = new Machine({ kernel }).spawn();
      const a = p.mmap(8, 'anon', 'rw');
      p.write(a, 0x11);
      const to = p.mremap(a, 8, PMD_NR, 1 /* MREMAP_MAYMOVE */);
      expect(to, kernel).toBeGreaterThan(0);
      expect(to % PMD_NR === 0, kernel).toBe(kernel === '6.12');
      expect(p.read(to)[0], kernel).toBe(0x11);
    }
  });
});

describe('the timed machine takes the kernel too', () => {
  it('SimMachine({ kernel }) builds its core on that kernel, 6.12 by default', () => {
    expect(new SimMachine({ devices: [] }).core.sys.k.version).toBe('6.12');
    expect(new SimMachine({ devices: [], kernel: '6.1' }).core.sys.k.version).toBe('6.1');
    expect(new SimMachine({ devices: [], kernel: '6.12' }).core.sys.k.version).toBe('6.12');
  });
});

/** A THP, PTE-mapped (a PMD split by a partial mprotect undone again), pages 0 and 5 written. */
const PTE_MAPPED_THP = 'mmap T 512 thp rw\ncpu_write T 0 0x11\ncpu_write T 5 0x55\nmprotect T r 0 1\nmprotect T rw 0 1\n';

describe('madviseKeepsWholePteMappedFolios: MADV_COLD/FREE over a whole PTE-mapped THP do not split it (6.12)', () => {
  /** Whether page 1 of T is still part of the THP after `advice` over [from, from + n). */
  function stillThp(kernel: KernelVersion, advice: 'cold' | 'free', from: number, n: number): boolean {
    const m = new Machine({ kernel });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    p.mprotect(t, 1, 'r');
    p.mprotect(t, 1, 'rw');
    expect(m.sys.pages.isCompound(ptePfn(p.mm.pt.pte(t + 1)))).toBe(true);
    p.madvise(t + from, n, advice);
    assertInvariants(m, [p]);
    return m.sys.pages.isCompound(ptePfn(p.mm.pt.pte(t + 1)));
  }
  it('6.1 splits it; 6.12 keeps it when the range covers all of it', () => {
    for (const advice of ['cold', 'free'] as const) {
      expect(stillThp('6.1', advice, 0, PMD_NR), advice).toBe(false);
      expect(stillThp('6.12', advice, 0, PMD_NR), advice).toBe(true);
    }
  });
  it('both split a THP the range covers only in part', () => {
    for (const advice of ['cold', 'free'] as const) {
      expect(stillThp('6.1', advice, 0, 100), advice).toBe(false);
      expect(stillThp('6.12', advice, 0, 100), advice).toBe(false);
    }
  });
  it('what the 6.12 oracle printed for MADV_COLD over all of it (probe-cold-whole)', () => {
    const script = PTE_MAPPED_THP + 'madvise T 0 512 cold\nsnapshot 0 T 0 6\n';
    expect(perms('6.12', script)).toEqual(['02,02,02,02,02,02']);
  });
});

describe('reclaimDiscardsLazyfreeThp: pageout drops a clean MADV_FREE\'d THP without splitting it (6.12)', () => {
  it('PTE-mapped: every page goes (probe-free-then-pageout); 6.1 splits first', () => {
    const script = PTE_MAPPED_THP + 'madvise T 0 512 free\nsnapshot 0 T 0 6\nmadvise T 0 512 pageout\nsnapshot 0 T 0 6\n';
    expect(perms('6.12', script)).toEqual(['02,02,02,02,02,02', '00,00,00,00,00,00']);
    // 6.1 splits the THP first (what the model's 6.1 prints; this script was not run on 6.1).
    expect(perms('6.1', script)[0]).toBe('01,02,02,02,02,02');
  });
  it('a page written after MADV_FREE stops the discard there (probe-free-write-pageout)', () => {
    const script = PTE_MAPPED_THP + 'madvise T 0 512 free\ncpu_write T 7 0x77\nmadvise T 0 512 pageout\nsnapshot 0 T 0 9\n';
    expect(perms('6.12', script).at(-1)).toBe('00,00,00,00,00,00,00,02,02');
  });
  it('PMD-mapped: the whole THP goes (probe-free-pmd-pageout); the model\'s 6.1 splits it', () => {
    const script = 'mmap T 512 thp rw\ncpu_write T 0 0x11\nmadvise T 0 512 free\nmadvise T 0 512 pageout\nsnapshot 0 T 0 3\n';
    expect(perms('6.12', script)).toEqual(['00,00,00']);
    expect(perms('6.1', script)).toEqual(['02,02,02']);
    const m = new Machine({ kernel: '6.12' });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    const inUse = m.sys.pages.systemInUse;
    p.madvise(t, PMD_NR, 'free');
    p.madvise(t, PMD_NR, 'pageout');
    expect(m.sys.pages.systemInUse).toBe(inUse - PMD_NR);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
});

describe('deviceExclusiveOnePage: make_device_exclusive marks one PTE (7.x, from source)', () => {
  /** The PTE types of [start, start + n) as one string: P present, X device-exclusive, . none. */
  function ptes(p: ReturnType<Machine['spawn']>, start: number, n: number): string {
    let s = '';
    for (let v = start; v < start + n; v++) {
      const t = pteType(p.mm.pt.pte(v));
      s += t === PteType.PRESENT ? 'P' : t === PteType.DEVICE_EXCLUSIVE ? 'X' : t === PteType.NONE ? '.' : '?';
    }
    return s;
  }
  it('a THP: 6.12 refuses a tail page and converts every PTE of the folio for the head; 7.x converts the one PTE', () => {
    for (const kernel of ['6.12', '7.x'] as const) {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const fd = p.device(0);
      const t = p.mmap(PMD_NR, 'thp', 'rw');
      p.write(t, 0x11);
      // A tail: 6.1/6.12's make_device_exclusive_range skips PageTail, so the chunk is -EBUSY.
      const tail = fd.exclusive(t + 1, 1);
      expect(tail.ret, kernel).toBe(kernel === '7.x' ? 0 : -16);
      expect(ptes(p, t, 4), kernel).toBe(kernel === '7.x' ? 'PXPP' : 'PPPP');
      // The head: 6.12's rmap walk replaces every PTE mapping the folio; 7.x's folio_walk one.
      expect(fd.exclusive(t, 1).ret, kernel).toBe(0);
      expect(ptes(p, t, PMD_NR), kernel).toBe(kernel === '7.x' ? 'XX' + 'P'.repeat(PMD_NR - 2) : 'X'.repeat(PMD_NR));
      // The CPU gets its pages back either way.
      expect(p.read(t)[0]).toBe(0x11);
      assertInvariants(m, [p]);
      p.exit();
      assertNoLeaks(m);
    }
  });
  it('the first failing page ends the loop with its error (7.x) instead of 6.12\'s chunk -EBUSY', () => {
    const script = 'mmap A 4 anon rw\ncpu_write A 0 0x11\nmmap S 4 shared rw\nexclusive 0 S 0 2\nexclusive 0 A 0 4\ncheck_exclusive 0 A 0 4\n';
    expect(results('6.12', script).slice(-3)).toEqual(['ret=-EBUSY', 'ret=0 cpages=4 faults=0 data=11,00,00,00', 'ret=-EPERM']);
    expect(results('7.x', script).slice(-3)).toEqual(['ret=-EOPNOTSUPP', 'ret=0 cpages=4 faults=0 data=11,00,00,00', 'ret=-EPERM']);
  });
});

describe('deviceExclusiveKeepsMapcount: a device-exclusive entry counts as a mapping (7.x, from source)', () => {
  it('make_device_exclusive keeps the mapcount on 7.x (6.12 drops it); the CPU fault, fork and munmap agree', () => {
    for (const kernel of ['6.12', '7.x'] as const) {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const pg = m.sys.pages;
      const a = p.mmap(3, 'anon', 'rw');
      for (let i = 0; i < 3; i++) p.write(a + i, 0x10 + i);
      const pfn = ptePfn(p.mm.pt.pte(a));
      expect(p.device(0).exclusive(a, 3).ret, kernel).toBe(0);
      expect(pteType(p.mm.pt.pte(a)), kernel).toBe(PteType.DEVICE_EXCLUSIVE);
      expect(pg.mapcount[pfn], kernel).toBe(kernel === '7.x' ? 1 : 0);
      expect(pg.isMapped(pfn), kernel).toBe(kernel === '7.x');
      // The entry's reference is there on both.
      expect(pg.refcount[pfn], kernel).toBe(1);
      assertInvariants(m, [p]);
      // restore_exclusive_pte on a CPU touch: one mapping on both.
      expect(p.read(a)[0]).toBe(0x10);
      expect(pg.mapcount[pfn], kernel).toBe(1);
      // zap_nonpresent_ptes: munmap of a page still held exclusive frees it on both.
      const pfn2 = ptePfn(p.mm.pt.pte(a + 2));
      expect(pteType(p.mm.pt.pte(a + 2)), kernel).toBe(PteType.DEVICE_EXCLUSIVE);
      expect(p.munmap(a + 2, 1)).toBe(0);
      expect([pg.mapcount[pfn2], pg.refcount[pfn2]], kernel).toEqual([0, 0]);
      assertInvariants(m, [p]);
      // fork restores the parent's entry (copy_nonpresent_pte), then shares the page: two
      // mappings on both.
      const pfn1 = ptePfn(p.mm.pt.pte(a + 1));
      expect(pteType(p.mm.pt.pte(a + 1)), kernel).toBe(PteType.DEVICE_EXCLUSIVE);
      const child = p.fork();
      expect(pteType(p.mm.pt.pte(a + 1)), kernel).toBe(PteType.PRESENT);
      expect(pg.mapcount[pfn1], kernel).toBe(2);
      assertInvariants(m, [p, child]);
      child.exit();
      p.exit();
      assertNoLeaks(m);
    }
  });
  it('every kernel that keeps the mapcount has 6.15\'s make_device_exclusive (the switch needs it)', () => {
    for (const v of KERNEL_VERSIONS) if (KERNELS[v].deviceExclusiveKeepsMapcount) expect(KERNELS[v].deviceExclusiveOnePage, v).toBe(true);
  });
  it('split_huge_page: 6.12 cannot split a THP held exclusive; 7.x splits it and the device loses its access', () => {
    // MADV_COLD of page 5 of a PTE-mapped THP whose page 0 device 0 holds exclusive. 6.12 took
    // every PTE of the folio (its rmap walk), so cold finds nothing present; 7.x took one PTE,
    // cold splits the folio (can_split_folio now counts the entry), the entry comes back a
    // present PTE (try_to_migrate_one + remove_migration_pte) and the zero-filled subpages go
    // to the zero page (thpSplitMapsZeroPage).
    const script = 'mmap T 512 thp rw\ncpu_write T 0 0x11\ncpu_write T 5 0x55\nexclusive 0 T 0 1\nmadvise T 5 1 cold\ncheck_exclusive 0 T 0 1\nsnapshot 0 T 0 6\ncpu_read T 0\n';
    expect(results('6.12', script).slice(-3)).toEqual(['ret=-EPERM', 'ret=0 cpages=6 faults=0 perm=00,00,00,00,00,00', 'first=11 sum=69632 page=11']);
    expect(results('7.x', script).slice(-3)).toEqual(['ret=0', 'ret=0 cpages=6 faults=0 perm=02,11,11,11,11,02', 'first=11 sum=69632 page=11']);
  });
  it('the same THP on 7.x with the switch off (7.0 before the series) keeps the entry: the split fails on the extra reference', () => {
    const m = new Machine({ kernel: '7.x' });
    // The one switch off; everything else 7.x.
    Object.defineProperty(m.sys, 'k', { value: { ...KERNELS['7.x'], deviceExclusiveKeepsMapcount: false } });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    p.write(t + 5, 0x55);
    expect(p.device(0).exclusive(t, 1).ret).toBe(0);
    expect(p.madvise(t + 5, 1, 'cold')).toBe(0);
    expect(pteType(p.mm.pt.pte(t))).toBe(PteType.DEVICE_EXCLUSIVE);
    expect(m.sys.pages.isCompound(ptePfn(p.mm.pt.pte(t + 5)))).toBe(true);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
  it('eviction (RELEASE) migrates a device-coherent page held exclusive on 7.x; 6.12 hangs (behaviour 18)', () => {
    const script = 'mmap T 4 anon rw\ncpu_write T 0 0x11\nmigrate_to_dev 2 T 0 1\nexclusive 2 T 0 1\nrelease 2\ncpu_read T 0\nsnapshot 0 T 0 1\n';
    expect(results('6.12', script).slice(-1)).toEqual(['KERNEL_HANG']);
    expect(results('7.x', script).slice(-3)).toEqual(['ret=0', 'first=11 sum=69632 page=11', 'ret=0 cpages=1 faults=0 perm=02']);
  });
});

describe('migrateHandlesDeviceExclusive: migrating a folio turns its device-exclusive entries into migration entries (7.x, from source)', () => {
  it('7.x: move_pages of a PTE-mapped THP one of whose PTEs a device holds exclusive moves it whole, that PTE too', () => {
    const m = new Machine({ kernel: '7.x', nodes: 2 });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    p.write(t + 1, 0x22);
    expect(p.device(0).exclusive(t, 1).ret).toBe(0); // splits the PMD; PTE 0 exclusive, 511 present
    expect(pteType(p.mm.pt.pte(t))).toBe(PteType.DEVICE_EXCLUSIVE);
    const r = p.movePages(t + 1, 1, 1);
    expect(r.ret).toBe(0);
    // The exclusive entry came back as an ordinary PTE of the new folio on node 1.
    const e0 = p.mm.pt.pte(t), e1 = p.mm.pt.pte(t + 1);
    expect([pteType(e0), pteType(e1)]).toEqual([PteType.PRESENT, PteType.PRESENT]);
    expect(ptePfn(e0) + 1).toBe(ptePfn(e1));
    expect(m.sys.pages.nodeOf(ptePfn(e0))).toBe(1);
    assertInvariants(m, [p]);
    expect(p.read(t)[0]).toBe(0x11);
    expect(p.read(t + 1)[0]).toBe(0x22);
    p.exit();
    assertNoLeaks(m);
  });
  it('6.12 never gets there: its make_device_exclusive_range takes every PTE of the folio', () => {
    const m = new Machine({ kernel: '6.12', nodes: 2 });
    const p = m.spawn();
    const t = p.mmap(PMD_NR, 'thp', 'rw');
    p.write(t, 0x11);
    expect(p.device(0).exclusive(t, 1).ret).toBe(0);
    expect(pteType(p.mm.pt.pte(t + 1))).toBe(PteType.DEVICE_EXCLUSIVE);
    // Nothing is mapped present for move_pages to find.
    expect(p.movePages(t + 1, 1, 1).status[0]).toBeLessThan(0);
    p.exit();
    assertNoLeaks(m);
  });
});

describe('zapChecksFolioAnon: tearing down a device-private COW page of a private file mapping warns on 6.1/6.12 only (7.x, from source)', () => {
  it('migrate_file_private migrates on every kernel; only 7.x unmaps it without the WARN', () => {
    for (const kernel of KERNEL_VERSIONS) {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const fd = p.device(0);
      const a = p.mmap(4, 'file_private', 'rw');
      for (let i = 0; i < 4; i++) p.write(a + i, 0x20 + i);
      const r = fd.migrateToDevice(a, 4);
      expect([r.ret, r.cpages], kernel).toEqual([0, 4]);
      expect(m.sys.warnings, kernel).toEqual([]);
      expect(p.munmap(a, 4)).toBe(0);
      expect(m.sys.warnings, kernel).toEqual(KERNELS[kernel].zapChecksFolioAnon ? [] : ['zap_nonpresent_ptes: !vma_is_anonymous(vma)']);
      p.exit();
      assertNoLeaks(m);
    }
  });
  it('device-private pages of an anonymous mapping warn on no kernel', () => {
    for (const kernel of KERNEL_VERSIONS) {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const a = p.mmap(4, 'anon', 'rw');
      p.write(a, 1);
      expect(p.device(0).migrateToDevice(a, 4).ret).toBe(0);
      p.exit();
      expect(m.sys.warnings, kernel).toEqual([]);
    }
  });
});

describe('devicePrivateThp: a THP moves to device memory whole on 7.x only (from source)', () => {
  /** A written 2 MiB THP migrated to device 0 of a fresh machine on `kernel`. */
  function onDevice(kernel: KernelVersion) {
    const m = new Machine({ kernel });
    const p = m.spawn();
    const fd = p.device(0);
    const a = p.mmap(PMD_NR, 'thp', 'rw');
    for (let i = 0; i < PMD_NR; i += 64) p.write(a + i, 1 + (i >> 6));
    expect(fd.migrateToDevice(a, PMD_NR).ret, kernel).toBe(0);
    return { m, p, fd, a, dev: m.driver.devices[0] };
  }

  it('6.1 and 6.12 split the THP into 512 device-private PTEs; 7.x maps one order-9 folio by a device-private PMD', () => {
    for (const kernel of KERNEL_VERSIONS) {
      const { m, p, a, dev } = onDevice(kernel);
      const pmd = p.mm.pt.pmd(a)!;
      if (KERNELS[kernel].devicePrivateThp) {
        expect(pteType(pmd.huge), kernel).toBe(PteType.DEVICE_PRIVATE);
        const head = ptePfn(pmd.huge);
        expect([m.sys.pages.orderOf(head), m.sys.pages.entireMapcountOf(head), m.sys.pages.refcount[head]]).toEqual([9, 1, 1]);
        expect(dev.hugeHeads.has(head)).toBe(true);
      } else {
        expect(pmd.huge, kernel).toBe(0);
        expect(pteType(pmd.ptes![0]), kernel).toBe(PteType.DEVICE_PRIVATE);
        expect(dev.hugeHeads.size).toBe(0);
      }
      assertInvariants(m, [p]);
      p.exit();
      assertNoLeaks(m);
    }
  });

  it('7.x: fork copies the PMD entry read-only into both; a write faults the folio back as a THP (migrate_to_ram) and COWs', () => {
    const { m, p, a } = onDevice('7.x');
    const child = p.fork();
    for (const q of [p, child]) {
      const e = q.mm.pt.pmd(a)!.huge;
      expect(pteType(e)).toBe(PteType.DEVICE_PRIVATE);
      expect(e & 8).toBe(0); // PTE_WRITE (flags << 3)
    }
    const head = ptePfn(p.mm.pt.pmd(a)!.huge);
    expect(m.sys.pages.entireMapcountOf(head)).toBe(2);
    assertInvariants(m, [p, child]);
    // The parent's write: migrate_to_ram cannot take the shared folio whole (the model's
    // shortcut: it is mapped twice), so it splits it and brings back the faulting page.
    p.write(a + 64, 0x77);
    expect(p.read(a + 64)[0]).toBe(0x77);
    expect(child.read(a + 64)[0]).toBe(2);
    expect(child.read(a)[0]).toBe(1);
    assertInvariants(m, [p, child]);
    child.exit();
    p.exit();
    assertNoLeaks(m);
  });

  it('7.x: a CPU fault brings the folio back whole as a writable THP; mprotect makes the PMD entry read-only', () => {
    const { m, p, fd, a } = onDevice('7.x');
    expect(p.mprotect(a, PMD_NR, 'r')).toBe(0);
    expect(pteType(p.mm.pt.pmd(a)!.huge)).toBe(PteType.DEVICE_PRIVATE);
    expect([...fd.snapshot(a, 1).perm!]).toEqual([0x25]);
    expect(p.mprotect(a, PMD_NR, 'rw')).toBe(0);
    expect(p.read(a + 128)[0]).toBe(3);
    const e = p.mm.pt.pmd(a)!.huge;
    expect(pteType(e)).toBe(PteType.PRESENT);
    expect(m.sys.pages.orderOf(ptePfn(e))).toBe(9);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });

  it('7.x: a partial mprotect splits the PMD entry into 512 device-private PTEs; munmap of the rest frees the folio to the driver', () => {
    const { m, p, a, dev } = onDevice('7.x');
    const head = ptePfn(p.mm.pt.pmd(a)!.huge);
    const freed = dev.cfree;
    expect(p.mprotect(a, 16, 'r')).toBe(0);
    const pmd = p.mm.pt.pmd(a)!;
    expect(pmd.huge).toBe(0);
    expect([...pmd.ptes!.slice(0, 512)].every((e) => pteType(e) === PteType.DEVICE_PRIVATE)).toBe(true);
    expect(ptePfn(pmd.ptes![100])).toBe(head + 100);
    // Still one large folio, now PTE-mapped.
    expect([m.sys.pages.orderOf(head), m.sys.pages.refcount[head], m.sys.pages.entireMapcountOf(head)]).toEqual([9, PMD_NR, 0]);
    assertInvariants(m, [p]);
    expect(p.munmap(a, PMD_NR)).toBe(0);
    expect(dev.cfree - freed).toBe(PMD_NR);
    expect(dev.hugeHeads.size).toBe(0);
    assertInvariants(m, [p]);
    p.exit();
    assertNoLeaks(m);
  });
});
