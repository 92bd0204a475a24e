import { NotifyEvent, EOPNOTSUPP } from './constants.ts';
import { PteType, mkPte, pteType, ptePfn, pteHas, PTE_WRITE, PTE_DIRTY } from './pte.ts';
import { PG_DIRTY, PG_HUGETLB } from './page.ts';
import { getUserPages } from './gup.ts';
import { rmapWalk, pageRemoveRmap } from './rmap.ts';
import type { Mm } from './mm.ts';

/**
 * make_device_exclusive_range (Linux 6.1 API): GUPs [start, end) for write with FOLL_SPLIT_PMD,
 * then for each page that is not a THP tail replaces every present mapping of its folio by a
 * device-exclusive entry (each mapping first invalidated with MMU_NOTIFY_EXCLUSIVE carrying
 * `owner`). Returns one slot per page GUP'd — the page, or -1 where exclusivity failed — or a
 * negative errno when the GUP failed at once. The GUP references are dropped before returning.
 */
export function makeDeviceExclusiveRange(mm: Mm, start: number, end: number, owner: unknown): number[] | number {
  const sys = mm.sys, p = sys.pages;
  const got = getUserPages(mm, start, end - start, { write: true, splitPmd: true, touch: true });
  if (typeof got === 'number') return got;
  const out: number[] = [];
  for (let i = 0; i < got.length; i++) {
    const page = got[i];
    const addr = start + i;
    const isTail = p.isCompound(page) && p.folio(page) !== page;
    if (isTail || !folioMakeDeviceExclusive(mm, page, addr, owner)) out.push(-1);
    else out.push(page);
  }
  for (const pg of got) sys.putPage(pg);
  return out;
}

function folioMakeDeviceExclusive(mm: Mm, page: number, addr: number, owner: unknown): boolean {
  const sys = mm.sys, p = sys.pages;
  const folio = p.folio(page);
  if (!p.isAnon(folio) || p.hasFlag(folio, PG_HUGETLB)) return false;
  const n = p.folioNr(folio);
  let valid = false;
  const byMm = new Map<Mm, Array<{ vpn: number; pfn: number }>>();
  for (let i = 0; i < n; i++) {
    for (const h of rmapWalk(sys, folio + i, false)) {
      if (h.huge) continue;
      if (!byMm.has(h.mm)) byMm.set(h.mm, []);
      byMm.get(h.mm)!.push({ vpn: h.vpn, pfn: folio + i });
    }
  }
  for (const [m, list] of byMm) {
    list.sort((a, b) => a.vpn - b.vpn);
    const first = list[0].vpn - (list[0].pfn - folio);
    const v = m.findVma(list[0].vpn)!;
    m.notifiers.invalidate({ start: first, end: Math.min(v.end, first + n), event: NotifyEvent.EXCLUSIVE, owner }, () => {
      for (const { vpn, pfn } of list) {
        const e = m.pt.pte(vpn);
        if (pteType(e) !== PteType.PRESENT) continue;
        if (pteHas(e, PTE_DIRTY)) p.setFlag(folio, PG_DIRTY);
        if (m === mm && vpn === addr && pteHas(e, PTE_WRITE)) valid = true;
        m.pt.setPte(vpn, mkPte(PteType.DEVICE_EXCLUSIVE, pfn, pteHas(e, PTE_WRITE) ? PTE_WRITE : 0));
        pageRemoveRmap(sys, pfn);
      }
    });
  }
  return valid && p.folioMapcount(folio) === 0;
}


/**
 * make_device_exclusive (6.15 on, the 7.x kernel: KernelSwitches.deviceExclusiveOnePage): marks
 * the one page at `addr` for exclusive use by a device. GUPs it for write with FOLL_SPLIT_PMD;
 * a folio that is not anonymous, or is hugetlb, is -EOPNOTSUPP. Then, under an
 * MMU_NOTIFY_EXCLUSIVE invalidation of that page carrying `owner`, walks the page table again
 * (folio_walk) and, if the PTE still maps the same page writable, replaces that one PTE by a
 * device-exclusive entry (a dirty PTE dirties the folio first); else it starts over. Other
 * mappings of the folio stay, and a subpage of a PTE-mapped THP works. The entry keeps the
 * page's mapcount where KernelSwitches.deviceExclusiveKeepsMapcount says so (7.x). Returns the page, its
 * GUP reference dropped (the caller's folio_put is done here), or a negative errno.
 * Modelled from mm/rmap.c of 6.15, not checked against a running kernel.
 */
export function makeDeviceExclusive(mm: Mm, addr: number, owner: unknown): number {
  const sys = mm.sys, p = sys.pages;
  // The second walk fails only when something changed the PTE between the GUP and the walk;
  // the model's GUP leaves it present and writable, so one retry is more than enough.
  for (let tries = 0; tries < 3; tries++) {
    const got = getUserPages(mm, addr, 1, { write: true, splitPmd: true, touch: true });
    if (typeof got === 'number') return got;
    if (got.length !== 1) return -EOPNOTSUPP; // unreachable: a short GUP of one page is an errno
    const page = got[0];
    const folio = p.folio(page);
    if (!p.isAnon(folio) || p.hasFlag(folio, PG_HUGETLB)) {
      sys.putPage(page);
      return -EOPNOTSUPP;
    }
    let done = false;
    mm.notifiers.invalidate({ start: addr, end: addr + 1, event: NotifyEvent.EXCLUSIVE, owner }, () => {
      const pmd = mm.pt.pmd(addr);
      if (!pmd || pmd.huge !== 0) return; // fw.level != FW_LEVEL_PTE
      const e = mm.pt.pte(addr);
      if (pteType(e) !== PteType.PRESENT || ptePfn(e) !== page || !pteHas(e, PTE_WRITE)) return;
      if (pteHas(e, PTE_DIRTY)) p.setFlag(folio, PG_DIRTY);
      mm.pt.setPte(addr, mkPte(PteType.DEVICE_EXCLUSIVE, page, PTE_WRITE));
      // 6.15 keeps the entry's mapcount (deviceExclusiveKeepsMapcount); the first version of
      // this function still dropped it, as 6.1 did.
      if (!sys.k.deviceExclusiveKeepsMapcount) pageRemoveRmap(sys, page);
      done = true;
    });
    sys.putPage(page);
    if (done) return page;
  }
  throw new Error(`make_device_exclusive: the PTE at ${addr} never maps its page writable`);
}
