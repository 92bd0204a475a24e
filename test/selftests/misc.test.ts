// Ports of the remaining cases of Linux 6.1's hmm-tests.c: open_close, file_read, file_write,
// mixedmap, hmm_gup_test (FIXTURE(hmm)) and snapshot, double_map (FIXTURE(hmm2): devices 0+1
// or 2+3).
import { describe, it, expect } from 'vitest';
import {
  VARIANTS, N, setup, teardown, mmapFd, cpuWriteInts, cpuReadInts, devWriteInts, ints, mismatch, iota, expectCmd,
  intPattern, pwriteFile, preadFile, INTS_PER_PAGE,
} from './helpers.ts';
import { ptePfn } from '../../src/mm/pte.ts';

describe.each(VARIANTS)('hmm.%s (misc)', (_name, dev, _dev1, coherent) => {
  // open_close: only the fixture: open /dev/hmm_dmirrorN, close() -> 0.
  it('open_close', () => {
    const { p, fd } = setup(dev);
    expect(p.devfd[dev]).toBe(fd.mirror);
    expect(fd.mirror.device).toBe(p.machine.driver.devices[dev]);
    teardown(p, dev);
    expect(fd.mirror.released).toBe(true);
    expect(p.close(dev)).toBe(false);
  });

  // file_read: a tmpfile of N pages, pwrite() pattern i, mmap(PROT_READ, MAP_SHARED); READ(N)
  // -> 0, cpages N, faults 1 with pattern i. Port: the model's 'file' kind creates the tmpfs
  // file at mmap time, so the pwrite happens right after the mmap (before any fault).
  it('file_read', () => {
    const { p, fd } = setup(dev);
    const { start: a, fd: file } = mmapFd(p, N, 'file', 'r');
    pwriteFile(p, file, intPattern(N, iota));
    const r = fd.read(a, N);
    expectCmd(r, 0, N, 1);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    // Port addition: the read faults mapped the page-cache pages read-only (PROT_READ vma).
    expect([...fd.snapshot(a, 2).perm!]).toEqual([0x01, 0x01]);
    teardown(p, dev);
  });

  // file_write: a tmpfile of N pages mmap()ed RW MAP_SHARED; the device WRITEs pattern i ->
  // 0 / N / 1; the mapping and pread() both show pattern i.
  it('file_write', () => {
    const { p, fd } = setup(dev);
    const { start: a, fd: file } = mmapFd(p, N, 'file', 'rw');
    expectCmd(devWriteInts(p, fd, a, N, iota), 0, N, 1);
    expect(mismatch(cpuReadInts(p, a, N), iota)).toBeNull();
    expect(mismatch(preadFile(p, file, N), iota)).toBeNull();
    teardown(p, dev);
  });

  // mixedmap: mmap(1 page, RW, MAP_PRIVATE) of the device file itself (the driver inserts a
  // zeroed kernel page; private, so read-only); SNAPSHOT(1) -> 0, cpages 1, byte 0x01. The
  // mapping holds a file reference: the fixture's close() still succeeds, and the file is
  // released at the munmap.
  it('mixedmap', () => {
    const { p, fd } = setup(dev);
    // The model's devN kind also dups the fd for the region (hmmtrace does); C mmap()s the
    // fixture fd itself, so that duplicate is closed at once: only the VMA's reference stays.
    const { start: a, fd: regionFd } = mmapFd(p, 1, `dev${dev}`, 'rw');
    regionFd!.dmirror!.put();
    expect(regionFd!.dmirror).toBe(fd.mirror);
    const r = fd.snapshot(a, 1);
    expectCmd(r, 0, 1, 0);
    expect([...r.perm!]).toEqual([0x01]);
    expect(mismatch(ints(p.read(a)), () => 0)).toBeNull();
    teardown(p, dev);
    expect(fd.mirror.released).toBe(false);
    expect(p.munmap(a, 1)).toBe(0);
    expect(fd.mirror.released).toBe(true);
  });

  // hmm_gup_test: 4 pages of pattern i migrated (0/4, pattern i); gup_test on page 0
  // GUP_BASIC_TEST, page 1 GUP_FAST_BENCHMARK, page 2 PIN_FAST_BENCHMARK|FOLL_LONGTERM, page 3
  // PIN_LONGTERM_BENCHMARK, all with FOLL_WRITE -> 0 each; SNAPSHOT(4): private: all 0x02
  // (every GUP faults device-private pages back); coherent: pages 0-1 stay 0x42 (plain gets do
  // not migrate coherent pages), pages 2-3 0x02 (long-term pins migrate them out). Data is
  // still pattern i. Port: Process.gup takes FOLL_WRITE always; the fast variants have the
  // same flags as the slow ones here.
  it('hmm_gup_test', () => {
    const { p, fd } = setup(dev);
    const a = p.mmap(4, 'anon', 'rw');
    cpuWriteInts(p, a, 4, iota);
    const r = fd.migrateToDevice(a, 4);
    expectCmd(r, 0, 4);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    expect(p.gup(a, 1, {})).toBe(1); // GUP_BASIC_TEST
    expect(p.gup(a + 1, 1, {})).toBe(1); // GUP_FAST_BENCHMARK
    expect(p.gup(a + 2, 1, { pin: true, longterm: true })).toBe(1); // PIN_FAST_BENCHMARK + FOLL_LONGTERM
    expect(p.gup(a + 3, 1, { pin: true, longterm: true })).toBe(1); // PIN_LONGTERM_BENCHMARK
    const s = fd.snapshot(a, 4);
    expectCmd(s, 0, 4);
    expect([...s.perm!]).toEqual(coherent ? [0x42, 0x42, 0x02, 0x02] : [0x02, 0x02, 0x02, 0x02]);
    expect(mismatch(cpuReadInts(p, a, 4), iota)).toBeNull();
    // Port addition: gup_test released every pin again.
    for (let i = 0; i < 4; i++) {
      const pfn = ptePfn(p.mm.pt.pte(a + i));
      expect(p.sys.pages.pincount[p.sys.pages.folio(pfn)]).toBe(0);
    }
    teardown(p, dev);
  });
});

describe.each(VARIANTS)('hmm2.%s (two devices)', (_name, dev0, dev1, coherent) => {
  // snapshot: 7 PROT_NONE pages; page 1 unmapped; page 2 read-only zero page; page 3 read-only
  // anon page; pages 4-6 RW with page 4 written; page 5 migrated to device 0, page 6 to
  // device 1 (each 0 / 1); SNAPSHOT(fd0, 7) -> 0 / 7 and bytes ff ff 11 01 02 22 00 (private)
  // or ff ff 11 01 02 42 52 (coherent).
  it('snapshot', () => {
    const { p, fd: fd0, fd1 } = setup(dev0, dev1);
    const a = p.mmap(7, 'anon', 'none');
    expect(p.munmap(a + 1, 1)).toBe(0);
    expect(p.mprotect(a + 2, 1, 'r')).toBe(0);
    const val = ints(p.read(a + 2))[0] + 3;
    expect(val).toBe(3);
    const pg = new Int32Array(INTS_PER_PAGE);
    pg[0] = val;
    expect(p.mprotect(a + 3, 1, 'rw')).toBe(0);
    p.writeBytes(a + 3, new Uint8Array(pg.buffer));
    expect(p.mprotect(a + 3, 1, 'r')).toBe(0);
    expect(p.mprotect(a + 4, 3, 'rw')).toBe(0);
    p.writeBytes(a + 4, new Uint8Array(pg.buffer));
    expectCmd(fd0.migrateToDevice(a + 5, 1), 0, 1);
    expectCmd(fd1!.migrateToDevice(a + 6, 1), 0, 1);
    const r = fd0.snapshot(a, 7);
    expectCmd(r, 0, 7, 0);
    expect([...r.perm!]).toEqual(coherent
      ? [0xff, 0xff, 0x11, 0x01, 0x02, 0x42, 0x52]
      : [0xff, 0xff, 0x11, 0x01, 0x02, 0x22, 0x00]);
    // Port addition: the same table seen from device 1.
    expect([...fd1!.snapshot(a, 7).perm!]).toEqual(coherent
      ? [0xff, 0xff, 0x11, 0x01, 0x02, 0x52, 0x42]
      : [0xff, 0xff, 0x11, 0x01, 0x02, 0x00, 0x22]);
    teardown(p, dev0, dev1);
  });

  // double_map: 6 pages of pattern i made read-only; device 0 READs (0 / 6 / 1, pattern i),
  // device 1 READs (0 / 6 / 1, pattern i); device 1 migrates them (0 / 6); device 0 READs
  // again: 0 / 6 / 1 (device 1's migration invalidated device 0's mirror; private pages fault
  // back to RAM, coherent pages are faulted in where they are) with pattern i.
  it('double_map', () => {
    const { p, fd: fd0, fd1 } = setup(dev0, dev1);
    const n = 6;
    const a = p.mmap(n, 'anon', 'rw');
    cpuWriteInts(p, a, n, iota);
    expect(p.mprotect(a, n, 'r')).toBe(0);
    let r = fd0.read(a, n);
    expectCmd(r, 0, n, 1);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    r = fd1!.read(a, n);
    expectCmd(r, 0, n, 1);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    r = fd1!.migrateToDevice(a, n);
    expectCmd(r, 0, n);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    r = fd0.read(a, n);
    expectCmd(r, 0, n, 1);
    expect(mismatch(ints(r.data), iota)).toBeNull();
    // Port addition: where the pages ended up, seen from device 0.
    expect([...fd0.snapshot(a, n).perm!]).toEqual(new Array<number>(n).fill(coherent ? 0x51 : 0x01));
    teardown(p, dev0, dev1);
  });
});

