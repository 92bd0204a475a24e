/**
 * Whole-machine invariant checker for the mm + HMM model.
 *
 * `checkInvariants(machine, procs)` walks every live address space (`sys.mms`), every page-cache
 * file, every dmirror device and every live mirror, recomputes what each struct page's counters
 * must be, and returns the list of violations (empty when the state is consistent). It is meant
 * to run between operations: no operation may leave transient references, migration entries or
 * pins behind. `assertInvariants` throws with every violation listed.
 *
 * Reference counting, as the model does it (ARCHITECTURE.md "Reference counting"):
 *   refcount(folio head) = #PMD leaves mapping the folio
 *                        + #PTEs (present, device-private, device-exclusive, migration) of any subpage
 *                        + pincount
 *                        + 1 if the page is in its shmem file's page cache (`file.pages`)
 *                        + 1 if the page is a dmirror backing page (a value of `device.backing`)
 *   The 4 KiB zero page and the huge zero page are not counted (mm_get_huge_zero_page aside,
 *   the kernel never refcounts them per mapping either).
 *   mapcount(subpage)     = #present or device-private PTEs of that subpage (6.1 and 6.12:
 *                           device-exclusive entries hold a reference but no mapcount; 7.x counts
 *                           them, KernelSwitches.deviceExclusiveKeepsMapcount; migration entries
 *                           never)
 *   entireMapcount(head)  = #PMD leaves mapping the folio.
 */
import type { Machine, Process } from '../src/api/machine.ts';
import type { Mm } from '../src/mm/mm.ts';
import type { Vma } from '../src/mm/vma.ts';
import { PageKind, PG_HEAD, PG_FILE, PG_ANON, PG_ANON_EXCLUSIVE, PG_HUGETLB } from '../src/mm/page.ts';
import { PteType, pteType, ptePfn, pteHas, PTE_WRITE } from '../src/mm/pte.ts';
import { PMD_NR, PMD_ORDER } from '../src/mm/constants.ts';
import { Dmirror, TAG_READ, TAG_WRITE, TAG_ATOMIC } from '../src/devices/dmirror/dmirror.ts';

export interface InvariantOptions {
  /** Mirrors to check besides the processes' fds and devN mappings (e.g. a trace region's fd). */
  mirrors?: Iterable<Dmirror>;
}

const KIND_NAMES = ['FREE', 'SYSTEM', 'ZERO', 'HUGE_ZERO', 'DEVICE_PRIVATE', 'DEVICE_COHERENT'];
const TYPE_NAMES = ['NONE', 'PRESENT', 'DEVICE_PRIVATE', 'DEVICE_EXCLUSIVE', 'MIGRATION'];
const hex = (n: number) => `0x${n.toString(16)}`;

function bump(m: Map<number, number>, k: number, by = 1): void {
  m.set(k, (m.get(k) ?? 0) + by);
}

/** The CPU side of one page of an mm, without faulting. */
interface CpuEntry {
  type: PteType;
  pfn: number;
  write: boolean;
  huge: boolean;
}

export function cpuEntry(mm: Mm, vpn: number): CpuEntry {
  const pmd = mm.pt.pmd(vpn);
  if (pmd && pmd.huge !== 0) {
    return { type: pteType(pmd.huge), pfn: ptePfn(pmd.huge) + (vpn % PMD_NR), write: pteHas(pmd.huge, PTE_WRITE), huge: true };
  }
  const e = mm.pt.pte(vpn);
  return { type: pteType(e), pfn: ptePfn(e), write: pteHas(e, PTE_WRITE), huge: false };
}

/** Every mirror that can still be used: the processes' fds, devN mappings' files, extra ones. */
export function liveMirrors(machine: Machine, procs: Iterable<Process>, extra: Iterable<Dmirror> = []): Dmirror[] {
  const set = new Set<Dmirror>();
  for (const p of procs) for (const d of p.devfd) if (d) set.add(d);
  for (const mm of machine.sys.mms) for (const v of mm.vmas) if (v.fileRef instanceof Dmirror) set.add(v.fileRef);
  for (const d of extra) set.add(d);
  return [...set].filter((d) => !d.released);
}

export function checkInvariants(machine: Machine, procs: Iterable<Process>, opts: InvariantOptions = {}): string[] {
  const out: string[] = [];
  const sys = machine.sys, p = sys.pages;
  const bad = (msg: string) => {
    if (out.length < 200) out.push(msg);
  };
  const isZero = (pfn: number) => p.kind[pfn] === PageKind.ZERO || p.kind[pfn] === PageKind.HUGE_ZERO;
  const devices = machine.driver.devices;

  // ---- references from page tables ----
  const refs = new Map<number, number>(); // folio head -> references found
  const maps = new Map<number, number>(); // pfn -> PTE-level present/device-private mappings
  const entire = new Map<number, number>(); // head -> PMD leaves
  for (const mm of sys.mms) {
    const where = (vpn: number) => `mm${mm.id} vpn ${hex(vpn)}`;
    if (!mm.alive) bad(`mm${mm.id} is in sys.mms but not alive`);
    for (const [key, pmd] of mm.pt.pmds) {
      const base = key * PMD_NR;
      if (pmd.huge !== 0) {
        const vpn = base;
        const vma = mm.findVma(vpn);
        if (!vma || vma.start > base || vma.end < base + PMD_NR) bad(`${where(vpn)}: PMD leaf not inside one VMA`);
        if (pmd.ptes && pmd.ptes.some((e) => e !== 0)) bad(`${where(vpn)}: PMD is a huge leaf and has PTEs too`);
        if (pteType(pmd.huge) === PteType.DEVICE_PRIVATE && sys.k.devicePrivateThp) {
          // 7.x: a device-private PMD entry maps an order-9 device-private folio.
          const head = ptePfn(pmd.huge);
          const pm = sys.pagemapOf(head);
          if (p.kind[head] !== PageKind.DEVICE_PRIVATE || !pm || pm.dead || !p.hasFlag(head, PG_HEAD) || p.order[head] !== PMD_ORDER) {
            bad(`${where(vpn)}: device-private PMD entry of pfn ${hex(head)} (${KIND_NAMES[p.kind[head]]}) that is not a live PMD-order device folio head`);
            continue;
          }
          if (pteHas(pmd.huge, PTE_WRITE)) checkWritable(vma, head, where(vpn));
          bump(entire, head);
          bump(refs, head);
          continue;
        }
        if (pteType(pmd.huge) !== PteType.PRESENT) {
          bad(`${where(vpn)}: PMD leaf of type ${TYPE_NAMES[pteType(pmd.huge)]}`);
          continue;
        }
        const head = ptePfn(pmd.huge);
        if (p.kind[head] === PageKind.HUGE_ZERO) {
          if (head !== sys.hugeZeroPfn) bad(`${where(vpn)}: PMD maps a huge zero subpage ${hex(head)}`);
          if (pteHas(pmd.huge, PTE_WRITE)) bad(`${where(vpn)}: writable PMD of the huge zero page`);
          continue;
        }
        if (p.kind[head] !== PageKind.SYSTEM || !p.hasFlag(head, PG_HEAD) || p.order[head] !== PMD_ORDER) {
          bad(`${where(vpn)}: PMD leaf maps pfn ${hex(head)} (${KIND_NAMES[p.kind[head]]}) that is not a PMD-order folio head`);
          continue;
        }
        if (pteHas(pmd.huge, PTE_WRITE)) checkWritable(vma, head, where(vpn));
        bump(entire, head);
        bump(refs, head);
        continue;
      }
      if (!pmd.ptes) continue;
      for (let i = 0; i < PMD_NR; i++) {
        const e = pmd.ptes[i];
        if (e === 0) continue;
        const vpn = base + i;
        const t = pteType(e), pfn = ptePfn(e);
        const vma = mm.findVma(vpn);
        if (!vma) bad(`${where(vpn)}: ${TYPE_NAMES[t] ?? t} entry outside any VMA`);
        if (pfn >= p.top) {
          bad(`${where(vpn)}: entry points past the last pfn (${hex(pfn)})`);
          continue;
        }
        switch (t) {
          case PteType.PRESENT:
            if (p.kind[pfn] === PageKind.ZERO) {
              if (pteHas(e, PTE_WRITE)) bad(`${where(vpn)}: writable PTE of the zero page`);
              continue;
            }
            if (p.kind[pfn] === PageKind.HUGE_ZERO) {
              bad(`${where(vpn)}: PTE maps a huge-zero subpage`);
              continue;
            }
            if (p.kind[pfn] === PageKind.FREE) bad(`${where(vpn)}: present PTE of a FREE frame ${hex(pfn)}`);
            if (p.kind[pfn] === PageKind.DEVICE_PRIVATE) bad(`${where(vpn)}: present PTE of device-private pfn ${hex(pfn)}`);
            if (sys.pagemapOf(pfn)?.dead) bad(`${where(vpn)}: present PTE into a removed pagemap (${hex(pfn)})`);
            if (pteHas(e, PTE_WRITE)) checkWritable(vma, pfn, where(vpn));
            bump(maps, pfn);
            bump(refs, p.folio(pfn));
            break;
          case PteType.DEVICE_PRIVATE: {
            const pm = sys.pagemapOf(pfn);
            if (p.kind[pfn] !== PageKind.DEVICE_PRIVATE || !pm) bad(`${where(vpn)}: device-private entry of a ${KIND_NAMES[p.kind[pfn]]} page ${hex(pfn)}`);
            else if (pm.dead) bad(`${where(vpn)}: device-private entry into a removed pagemap (${hex(pfn)})`);
            if (pteHas(e, PTE_WRITE)) checkWritable(vma, pfn, where(vpn));
            bump(maps, pfn);
            bump(refs, p.folio(pfn));
            break;
          }
          case PteType.DEVICE_EXCLUSIVE:
            if (p.kind[pfn] !== PageKind.SYSTEM && p.kind[pfn] !== PageKind.DEVICE_COHERENT) bad(`${where(vpn)}: device-exclusive entry of a ${KIND_NAMES[p.kind[pfn]]} page ${hex(pfn)}`);
            if (sys.k.deviceExclusiveKeepsMapcount) bump(maps, pfn);
            bump(refs, p.folio(pfn));
            break;
          case PteType.MIGRATION:
            bad(`${where(vpn)}: migration entry left behind (pfn ${hex(pfn)})`);
            bump(refs, p.folio(pfn));
            break;
          default:
            bad(`${where(vpn)}: PTE of unknown type ${t}`);
        }
      }
    }
  }

  /** A writable mapping needs a VM_WRITE vma, and in a private mapping an exclusive anon page. */
  function checkWritable(vma: Vma | undefined, pfn: number, at: string): void {
    if (!vma) return;
    if (!vma.writable) bad(`${at}: writable entry in a VMA without VM_WRITE`);
    if (!vma.shared && !(p.hasFlag(p.folio(pfn), PG_ANON) && p.hasFlag(pfn, PG_ANON_EXCLUSIVE))) {
      bad(`${at}: writable entry in a private mapping of a page that is not exclusive anon (pfn ${hex(pfn)})`);
    }
  }

  // ---- references from the page cache and from the driver ----
  for (const f of sys.files.values()) {
    if (f.refs <= 0) bad(`file ${f.id} is live with ${f.refs} references`);
    for (const [idx, pfn] of f.pages) {
      if (p.kind[pfn] !== PageKind.SYSTEM || !p.hasFlag(pfn, PG_FILE) || p.mapping[pfn] !== f.id || p.index[pfn] !== idx) {
        bad(`file ${f.id} page ${idx}: pfn ${hex(pfn)} is not its page-cache page (kind ${KIND_NAMES[p.kind[pfn]]}, mapping ${p.mapping[pfn]}, index ${p.index[pfn]})`);
      }
      bump(refs, p.folio(pfn));
    }
  }
  for (const dev of devices) {
    for (const [dpage, rpage] of dev.backing) {
      if (!dev.ownsPage(dpage) || p.refcount[p.folio(dpage)] <= 0) bad(`device ${dev.id}: backing entry for a free or foreign device page ${hex(dpage)}`);
      if (p.kind[rpage] !== PageKind.SYSTEM) bad(`device ${dev.id}: backing page ${hex(rpage)} of ${hex(dpage)} is ${KIND_NAMES[p.kind[rpage]]}`);
      // A huge device page (7.x) is backed by one system THP: one reference for the folio.
      if (p.isCompound(dpage) !== p.isCompound(rpage) || p.folio(rpage) - rpage !== p.folio(dpage) - dpage) bad(`device ${dev.id}: backing page ${hex(rpage)} of ${hex(dpage)} does not match its folio`);
      if (p.folio(rpage) === rpage) bump(refs, rpage);
    }
    if (!dev.isPrivate && dev.backing.size > 0) bad(`device ${dev.id}: a coherent device has backing pages`);
    for (const dpage of dev.migratedBy.keys()) {
      if (p.refcount[p.folio(dpage)] <= 0) bad(`device ${dev.id}: migratedBy entry for a free device page ${hex(dpage)}`);
    }
  }

  // ---- compare with the counters ----
  for (const [head, n] of refs) {
    if (isZero(head)) continue;
    const want = n + p.pincount[head];
    if (p.refcount[head] !== want) {
      bad(`pfn ${hex(head)} (${KIND_NAMES[p.kind[head]]}): refcount ${p.refcount[head]}, expected ${want} (${n} mappings/cache/backing + ${p.pincount[head]} pins)`);
    }
  }
  for (const [pfn, n] of maps) {
    if (p.mapcount[pfn] !== n) bad(`pfn ${hex(pfn)}: mapcount ${p.mapcount[pfn]}, expected ${n}`);
  }
  for (const [head, n] of entire) {
    if (p.entireMapcount[head] !== n) bad(`pfn ${hex(head)}: entireMapcount ${p.entireMapcount[head]}, expected ${n}`);
  }
  // Counters nobody accounts for: leaked references, stale mapcounts, pins left by an op.
  const rc = p.refcount, mc = p.mapcount, em = p.entireMapcount, pc = p.pincount, hd = p.head;
  for (const [lo, hi] of scanRanges(machine)) for (let pfn = lo; pfn < hi; pfn++) {
    if ((rc[pfn] | mc[pfn] | em[pfn] | pc[pfn]) === 0) continue;
    if (isZero(pfn)) continue;
    if (pc[pfn] !== 0) bad(`pfn ${hex(pfn)}: pincount ${pc[pfn]} after the operation returned`);
    if (rc[pfn] < 0) bad(`pfn ${hex(pfn)}: negative refcount ${rc[pfn]}`);
    const isTail = hd[pfn] >= 0 && hd[pfn] !== pfn;
    if (isTail && rc[pfn] !== 0) bad(`pfn ${hex(pfn)}: tail page with refcount ${rc[pfn]}`);
    if (!isTail && rc[pfn] !== 0 && !refs.has(pfn)) bad(`pfn ${hex(pfn)} (${KIND_NAMES[p.kind[pfn]]}): refcount ${rc[pfn]} but nothing references it (leak)`);
    if (mc[pfn] !== 0 && !maps.has(pfn)) bad(`pfn ${hex(pfn)}: mapcount ${mc[pfn]} but no PTE maps it`);
    if (em[pfn] !== 0 && !entire.has(pfn)) bad(`pfn ${hex(pfn)}: entireMapcount ${em[pfn]} but no PMD maps it`);
  }

  // ---- hugetlb pool ----
  let hugetlbInUse = 0;
  for (const [head] of refs) if (p.hasFlag(head, PG_HUGETLB) && p.refcount[head] > 0) hugetlbInUse++;
  if (sys.hugetlbFree + hugetlbInUse !== sys.hugetlbTotal) bad(`hugetlb pool: ${sys.hugetlbFree} free + ${hugetlbInUse} in use != ${sys.hugetlbTotal}`);
  const resvSets = new Set<Set<number>>();
  for (const mm of sys.mms) for (const v of mm.vmas) if (v.hugetlbResv) resvSets.add(v.hugetlbResv);
  let resv = 0;
  for (const s of resvSets) resv += s.size;
  if (resv !== sys.hugetlbReserved) bad(`hugetlb reservations: VMAs hold ${resv}, hugetlbReserved is ${sys.hugetlbReserved}`);

  // ---- device mirrors ----
  for (const m of liveMirrors(machine, procs, opts.mirrors)) checkMirror(machine, m, bad);

  if (sys.mms.size === 0) out.push(...checkNoLeaks(machine));
  return out;
}

/** Device pagemaps found dead (memunmap_pages'd) with every counter zero: never handed out again. */
const cleanDeadPagemaps = new WeakSet<object>();

/**
 * The pfn ranges whose counters can be non-zero: every system pfn, the part of each live device
 * chunk the driver has handed out (a chunk hands out pages from its top down), and a removed
 * chunk until it has been seen clean once. Skipping the never-used device pfns keeps a check
 * cheap enough to run after every fuzz op (4 chunks are 256K pfns).
 */
function scanRanges(machine: Machine): Array<[number, number]> {
  const sys = machine.sys, p = sys.pages;
  const used = new Map<object, number>();
  for (const dev of machine.driver.devices) for (const c of dev.chunks) used.set(c.pagemap, c.used);
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const pm of [...sys.pagemaps].sort((x, y) => x.start - y.start)) {
    if (pm.start > next) out.push([next, pm.start]);
    const end = pm.start + pm.npages;
    next = Math.max(next, end);
    const u = used.get(pm);
    if (u !== undefined) {
      if (u > 0) out.push([end - u, end]);
    } else if (!cleanDeadPagemaps.has(pm)) {
      let clean = true;
      for (let pfn = pm.start; pfn < end && clean; pfn++) {
        if ((p.refcount[pfn] | p.mapcount[pfn] | p.entireMapcount[pfn] | p.pincount[pfn]) !== 0) clean = false;
      }
      if (clean && pm.dead) cleanDeadPagemaps.add(pm);
      else out.push([pm.start, end]);
    }
  }
  if (p.top > next) out.push([next, p.top]);
  return out;
}

/**
 * A live mirror must agree with the CPU page table of its mm (test_hmm keeps it coherent through
 * the interval notifier; it holds no page references, so a stale entry is a use-after-free).
 */
function checkMirror(machine: Machine, m: Dmirror, bad: (msg: string) => void): void {
  const sys = machine.sys, p = sys.pages, dev = m.device;
  const name = `mirror(dev${dev.id}, mm${m.mm.id})`;
  if (!m.mm.alive) {
    if (m.pt.size > 0) bad(`${name}: ${m.pt.size} entries although the mm has exited`);
    return;
  }
  for (const [vpn, ent] of m.pt) {
    const at = `${name} vpn ${hex(vpn)}`;
    if (ent.tag !== TAG_READ && ent.tag !== TAG_WRITE && ent.tag !== TAG_ATOMIC) {
      bad(`${at}: unknown tag ${ent.tag}`);
      continue;
    }
    const cpu = cpuEntry(m.mm, vpn);
    // Linux 6.1 (behaviour 17): hmm_range_fault hands the device its own private pages as they
    // are, and dmirror_do_fault stores the ZONE_DEVICE page itself. The mirror ignores
    // invalidations of its own device's migrations (owner == mdevice), and
    // dmirror_devmem_fault erases only the entry of the mirror that migrated the page, so such
    // an entry can outlive the CPU mapping it came from. Any later use of it oopses (the model
    // throws KernelCrash), so it is only required to point into this device's private memory.
    if (p.kind[ent.pfn] === PageKind.DEVICE_PRIVATE && sys.pagemapOf(ent.pfn)?.owner === dev) continue;
    if (ent.tag === TAG_ATOMIC) {
      if (cpu.type !== PteType.DEVICE_EXCLUSIVE || cpu.pfn !== ent.pfn) {
        bad(`${at}: ATOMIC entry of pfn ${hex(ent.pfn)} but the CPU entry is ${TYPE_NAMES[cpu.type]} ${hex(cpu.pfn)}`);
      }
      continue;
    }
    switch (cpu.type) {
      case PteType.PRESENT: {
        if (ent.pfn !== cpu.pfn) bad(`${at}: mirror maps pfn ${hex(ent.pfn)}, the CPU maps ${hex(cpu.pfn)}`);
        if (ent.tag === TAG_WRITE && !cpu.write) bad(`${at}: WRITE entry but the CPU entry is read-only`);
        break;
      }
      case PteType.DEVICE_PRIVATE: {
        const owner = sys.pagemapOf(cpu.pfn)?.owner;
        if (owner !== dev) {
          bad(`${at}: mirror entry over another device's private page ${hex(cpu.pfn)}`);
          break;
        }
        if (ent.pfn !== dev.backing.get(cpu.pfn)) bad(`${at}: mirror maps pfn ${hex(ent.pfn)}, not the backing page of device page ${hex(cpu.pfn)}`);
        if (ent.tag === TAG_WRITE && !cpu.write) bad(`${at}: WRITE entry but the device-private entry is read-only`);
        break;
      }
      default:
        bad(`${at}: ${ent.tag === TAG_WRITE ? 'WRITE' : 'READ'} entry of pfn ${hex(ent.pfn)} but the CPU entry is ${TYPE_NAMES[cpu.type]}`);
    }
  }
}

/**
 * After every process has exited and every device file is closed: nothing is left but the zero
 * pages and the page cache of still-open shmem files; the hugetlb pool is whole.
 */
export function checkNoLeaks(machine: Machine): string[] {
  const out: string[] = [];
  const sys = machine.sys, p = sys.pages;
  const bad = (msg: string) => {
    if (out.length < 200) out.push(msg);
  };
  if (sys.mms.size > 0) bad(`${sys.mms.size} address spaces still live`);
  const cached = new Set<number>();
  for (const f of sys.files.values()) for (const pfn of f.pages.values()) cached.add(pfn);
  for (let pfn = 0; pfn < p.top; pfn++) {
    if (p.refcount[pfn] === 0) continue;
    const k = p.kind[pfn];
    if (k === PageKind.ZERO || k === PageKind.HUGE_ZERO) continue;
    if (k === PageKind.SYSTEM && cached.has(pfn)) continue;
    bad(`leak after exit: pfn ${hex(pfn)} (${KIND_NAMES[k]}) refcount ${p.refcount[pfn]}`);
  }
  if (sys.hugetlbFree !== sys.hugetlbTotal) bad(`leak after exit: hugetlb pool ${sys.hugetlbFree}/${sys.hugetlbTotal} free`);
  if (sys.hugetlbReserved !== 0) bad(`leak after exit: ${sys.hugetlbReserved} hugetlb reservations`);
  for (const dev of machine.driver.devices) {
    if (dev.backing.size > 0) bad(`leak after exit: device ${dev.id} has ${dev.backing.size} backing pages`);
    if (dev.migratedBy.size > 0) bad(`leak after exit: device ${dev.id} remembers ${dev.migratedBy.size} migrated pages`);
  }
  return out;
}

export class InvariantError extends Error {
  constructor(readonly violations: string[], context = '') {
    super(`${violations.length} invariant violation(s)${context ? ` ${context}` : ''}:\n  ${violations.join('\n  ')}`);
  }
}

export function assertInvariants(machine: Machine, procs: Iterable<Process>, opts: InvariantOptions = {}, context = ''): void {
  const v = checkInvariants(machine, procs, opts);
  if (v.length > 0) throw new InvariantError(v, context);
}

export function assertNoLeaks(machine: Machine, context = ''): void {
  const v = checkNoLeaks(machine);
  if (v.length > 0) throw new InvariantError(v, context);
}
