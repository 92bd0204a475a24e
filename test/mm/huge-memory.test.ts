// split_huge_page's MMU notifier ranges (huge-memory.ts splitHugePage), on every kernel: the
// kernel's unmap_folio → try_to_migrate walks the folio's rmap VMA by VMA and
// try_to_migrate_one invalidates [the folio's first address in the VMA, vma_address_end) with
// MMU_NOTIFY_CLEAR once for each (mm/rmap.c). The probe test/oracle-corpus-612/
// probe-free-split-vmas shows the 6.12 kernel's mirror being told about every VMA.
import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/api/machine.ts';
import { KERNEL_VERSIONS } from '../../src/mm/kernel.ts';
import { NotifyEvent, PMD_NR } from '../../src/mm/constants.ts';
import { splitHugePage } from '../../src/mm/huge-memory.ts';
import { ptePfn } from '../../src/mm/pte.ts';
import { assertInvariants } from '../invariants.ts';

describe('split_huge_page invalidates each VMA the THP is mapped in', () => {
  for (const kernel of KERNEL_VERSIONS) {
    it(`three VMAs of one mm, one range each (${kernel})`, () => {
      const m = new Machine({ kernel });
      const p = m.spawn();
      const t = p.mmap(PMD_NR, 'thp', 'rw');
      p.write(t, 0x11);
      const head = ptePfn(p.mm.pt.pmd(t)!.huge);
      // [0,1) read-only, [1,3) rw, a hole, [16,512) rw: the PMD is split, the folio is whole.
      expect(p.munmap(t + 3, 13)).toBe(0);
      expect(p.mprotect(t, 1, 'r')).toBe(0);
      const seen: Array<[number, number, NotifyEvent]> = [];
      p.mm.notifiers.insert(t, PMD_NR, (sub, range, seq) => {
        sub.setSeq(seq);
        seen.push([range.start - t, range.end - t, range.event]);
        return true;
      });
      expect(splitHugePage(m.sys, head)).toBe(true);
      expect(seen).toEqual([[0, 1, NotifyEvent.CLEAR], [1, 3, NotifyEvent.CLEAR], [16, PMD_NR, NotifyEvent.CLEAR]]);
      expect(p.read(t)[0]).toBe(0x11);
      assertInvariants(m, [p]);
    });
  }
});
