// Task memory policies: where each kind of allocation lands, and set_mempolicy's errors. The
// oracle probes in test/oracle-numa (n11-n13) check the same against Linux 6.1; these pin down
// the rules one by one.
import { describe, it, expect } from 'vitest';
import { Machine, type Process } from '../../src/api/machine.ts';
import { setMempolicy, policyNode, MpolMode } from '../../src/mm/mempolicy.ts';
import { PMD_NR } from '../../src/mm/constants.ts';
import { cpuEntry } from '../invariants.ts';

function proc(nodes = 2): Process {
  return new Machine({ nodes }).spawn();
}
const nodeOf = (p: Process, vpn: number) => p.sys.pages.nodeOf(cpuEntry(p.mm, vpn).pfn);

describe('set_mempolicy', () => {
  it('accepts what 6.1 accepts and answers -EINVAL otherwise', () => {
    const p = proc();
    const ok = (mode: MpolMode, nodes: number[]) => setMempolicy(p.mm, mode, nodes);
    expect(ok(MpolMode.DEFAULT, [])).toBe(0);
    expect(ok(MpolMode.DEFAULT, [1])).toBe(-22);
    expect(ok(MpolMode.LOCAL, [1])).toBe(-22);
    expect(ok(MpolMode.BIND, [])).toBe(-22);
    expect(ok(MpolMode.INTERLEAVE, [5])).toBe(-22); // no memory on node 5
    expect(ok(MpolMode.PREFERRED, [5])).toBe(-22);
    expect(ok(MpolMode.PREFERRED, [])).toBe(0);
    expect(p.mm.policy).toEqual({ mode: MpolMode.LOCAL, nodes: [] });
    expect(ok(MpolMode.PREFERRED, [1, 0])).toBe(0);
    expect(p.mm.policy).toEqual({ mode: MpolMode.PREFERRED, nodes: [0] });
    expect(ok(MpolMode.BIND, [1, 5, 1])).toBe(0);
    expect(p.mm.policy).toEqual({ mode: MpolMode.BIND, nodes: [1] });
  });

  it('places anon pages by mode; interleave goes by page number, so neighbours alternate', () => {
    const p = proc();
    const a = p.mmap(8, 'anon', 'rw');
    setMempolicy(p.mm, MpolMode.PREFERRED, [1]);
    p.write(a, 1);
    setMempolicy(p.mm, MpolMode.BIND, [0, 1]);
    p.write(a + 1, 1); // bound to the local node too: local
    setMempolicy(p.mm, MpolMode.BIND, [1]);
    p.write(a + 2, 1);
    setMempolicy(p.mm, MpolMode.INTERLEAVE, [0, 1]);
    for (let i = 3; i < 8; i++) p.write(a + i, 1);
    expect([0, 1, 2].map((i) => nodeOf(p, a + i))).toEqual([1, 0, 1]);
    for (let i = 3; i < 8; i++) expect(nodeOf(p, a + i)).toBe((a + i) % 2);
  });

  it('interleaves THPs and hugetlb pages by their offset in huge pages, whatever the VMA start', () => {
    const p = proc();
    setMempolicy(p.mm, MpolMode.INTERLEAVE, [0, 1]);
    const t = p.mmap(3 * PMD_NR, 'thp', 'rw');
    for (let k = 0; k < 3; k++) p.write(t + k * PMD_NR, 1);
    for (let k = 0; k < 3; k++) expect(nodeOf(p, t + k * PMD_NR)).toBe(Math.floor(t / PMD_NR + k) % 2);
    const h = p.mmap(3 * PMD_NR, 'hugetlb', 'rw');
    for (let k = 0; k < 3; k++) p.write(h + k * PMD_NR, 1);
    expect([0, 1, 2].map((k) => nodeOf(p, h + k * PMD_NR))).toEqual([0, 1, 0]);
    // A VMA starting mid-way through a 2 MiB block: offset = start/512 + (vpn - start)/512.
    const vma = { isAnonymous: true, start: 700, pgoff: 0 } as Parameters<typeof policyNode>[1];
    expect(policyNode(p.mm, vma, 1024, 9)).toBe((Math.floor(700 / 512) + Math.floor(324 / 512)) % 2);
  });

  it("under bind, hugetlb mmap counts only the bound nodes' free pages, and a fault never leaves them", () => {
    const p = proc();
    expect(p.sys.hugetlbFreeNode).toEqual([8, 8]);
    setMempolicy(p.mm, MpolMode.BIND, [1]);
    expect(() => p.mmap(10 * PMD_NR, 'hugetlb', 'rw')).toThrow(/ENOMEM/); // 8 free on node 1
    const h = p.mmap(2 * PMD_NR, 'hugetlb', 'rw');
    expect(h).toBeGreaterThan(0);
    // Another process takes node 1's remaining free pages; this one's reserved fault then fails
    // (SIGBUS) and its reservation stays.
    const other = p.machine.spawn();
    const o = other.mmap(7 * PMD_NR, 'hugetlb', 'rw');
    setMempolicy(other.mm, MpolMode.PREFERRED, [1]);
    for (let k = 0; k < 7; k++) other.write(o + k * PMD_NR, 1);
    p.write(h, 1);
    expect(nodeOf(p, h)).toBe(1);
    const reserved = p.sys.hugetlbReserved;
    expect(p.access(h + PMD_NR, true)).toBe('SIGBUS');
    expect(p.sys.hugetlbReserved).toBe(reserved);
    setMempolicy(p.mm, MpolMode.DEFAULT, []);
    p.write(h + PMD_NR, 2);
    expect(nodeOf(p, h + PMD_NR)).toBe(0);
    expect(p.sys.hugetlbReserved).toBe(reserved - 1);
  });

  it('fork keeps the policy; pages a device hands back follow the policy at their address', () => {
    const p = proc();
    setMempolicy(p.mm, MpolMode.INTERLEAVE, [0, 1]);
    const a = p.mmap(4, 'anon', 'rw');
    for (let i = 0; i < 4; i++) p.write(a + i, 7);
    const c = p.fork();
    expect(c.mm.policy).toEqual(p.mm.policy);
    const dev = p.device(0);
    expect(dev.migrateToDevice(a, 4).ret).toBe(0);
    for (let i = 0; i < 4; i++) p.read(a + i);
    for (let i = 0; i < 4; i++) expect(nodeOf(p, a + i)).toBe((a + i) % 2);
  });
});
