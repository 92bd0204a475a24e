import { describe, it, expect } from 'vitest';
import { DeviceMemory, SECTION_CHUNKS } from '../../src/devices/device-memory.ts';
import { System } from '../../src/mm/system.ts';
import { EVICTION_DEFAULTS, type EvictionKind, type EvictionParams } from '../../src/policy/eviction.ts';
import type { TimePs } from '../../src/units/time.ts';

const t = (n: number) => n as TimePs;
const MiB = 1024 * 1024;
const CHUNK = 512; // 4 KiB pages per 2 MiB root chunk
const never = () => 0; // rng for the LRU policies (ignored)

/** A device memory on a fresh System; freed pages go back to it through the pagemap ops. */
function setup(capacityBytes: number, chunkPages = CHUNK, kind: EvictionKind = 'lru-chunk', sys = new System()) {
  const owner = { name: 'gpu0' };
  const mem: DeviceMemory = new DeviceMemory(
    sys, 'private', owner,
    { pageFree: (pfn) => mem.pageFreed(pfn), migrateToRam: () => 0 },
    capacityBytes, chunkPages, EVICTION_DEFAULTS[kind],
  );
  return { sys, mem, owner };
}

describe('DeviceMemory: capacity', () => {
  it('rounds the capacity down to whole chunks', () => {
    // 5 MiB + 4095 B = 1280 pages (+ a partial one) = 2.5 chunks of 512 -> 2 chunks.
    const { mem } = setup(5 * MiB + 4095);
    expect(mem.capacityChunks).toBe(2);
    expect(mem.capacityPages).toBe(1024);
    // 100 KiB with 64 KiB chunks (16 pages): 25 pages -> 1 chunk of 16 pages.
    const small = setup(100 * 1024, 16).mem;
    expect(small.capacityChunks).toBe(1);
    expect(small.capacityPages).toBe(16);
    // Less than one chunk: no capacity at all.
    const none = setup(MiB).mem;
    expect(none.capacityChunks).toBe(0);
    expect(none.canAlloc(1, 0)).toBe(false);
    expect(none.allocPage(1, 0, t(0))).toBe(-1);
  });

  it('rejects a chunk size that is not a positive integer', () => {
    expect(() => setup(8 * MiB, 0)).toThrow(RangeError);
    expect(() => setup(8 * MiB, 1.5)).toThrow(RangeError);
  });

  it('creates no pagemap until a page is used', () => {
    const { sys, mem } = setup(8 * MiB);
    expect(sys.pagemaps.length).toBe(0);
    expect(mem.allocated).toBe(0);
    expect(mem.rootChunkAllocs).toBe(0);
    expect(mem.canAlloc(1, 0)).toBe(true);
    expect(sys.pagemaps.length).toBe(0);
  });
});

describe('DeviceMemory: placement', () => {
  it('pages of one VA block land in one chunk, at their offsets within the block', () => {
    const { sys, mem, owner } = setup(8 * MiB); // 4 chunks
    const block = 3 * CHUNK; // vpns 1536..2047 of space 1
    const vpns = [block + 7, block, block + 511, block + 100];
    const pfns = vpns.map((v, i) => mem.allocPage(1, v, t(i)));
    expect(pfns.every((p) => p >= 0)).toBe(true);
    expect(mem.rootChunkAllocs).toBe(1);
    expect(mem.allocated).toBe(4);
    // The first chunk handed out is chunk 0; its base is device page index 0.
    const base = mem.pfnOf(0);
    expect(pfns.map((p) => p - base)).toEqual(vpns.map((v) => v % CHUNK)); // [7, 0, 511, 100]
    // A fresh device page: refcount 1, not mapped, in a device-private pagemap owned by us.
    for (const p of pfns) {
      expect(sys.pages.refcount[p]).toBe(1);
      expect(sys.pages.mapcount[p]).toBe(0);
      const pm = sys.pagemapOf(p)!;
      expect(pm.type).toBe('private');
      expect(pm.owner).toBe(owner);
    }
    // The chunk backs (space 1, block 3): key = 1 * 2^36 + 3.
    expect(mem.keyOf(1, block + 7)).toBe(2 ** 36 + 3);
    expect(mem.keyOfIndex(7)).toBe(2 ** 36 + 3);
    expect(mem.keyOfIndex(511)).toBe(2 ** 36 + 3); // any index of the chunk, allocated or not
    expect(mem.keyOfIndex(CHUNK)).toBe(-1); // chunk 1 is free
  });

  it('a new VA block (or the same block of another space) takes a new chunk', () => {
    const { mem } = setup(8 * MiB);
    const a = mem.allocPage(1, 5, t(0)); // space 1 block 0 -> chunk 0
    const b = mem.allocPage(1, CHUNK + 5, t(1)); // space 1 block 1 -> chunk 1
    const c = mem.allocPage(2, 5, t(2)); // space 2 block 0 -> chunk 2
    const d = mem.allocPage(1, 6, t(3)); // space 1 block 0 again -> chunk 0
    expect(mem.rootChunkAllocs).toBe(3);
    expect(a - mem.pfnOf(0)).toBe(5);
    expect(b - mem.pfnOf(1 * CHUNK)).toBe(5);
    expect(c - mem.pfnOf(2 * CHUNK)).toBe(5);
    expect(d - mem.pfnOf(0)).toBe(6);
    expect(mem.keyOfIndex(1 * CHUNK)).toBe(mem.keyOf(1, CHUNK));
    expect(mem.keyOfIndex(2 * CHUNK)).toBe(mem.keyOf(2, 0));
    expect(mem.keyOfIndex(3 * CHUNK)).toBe(-1);
    // Contiguous vpns of one block are contiguous pfns.
    const e = mem.allocPage(1, 7, t(4));
    expect(e).toBe(d + 1);
  });

  it('returns -1 when every chunk backs another block; pages of held blocks still allocate', () => {
    const { mem } = setup(4 * MiB); // 2 chunks
    expect(mem.allocPage(1, 0, t(0))).toBeGreaterThanOrEqual(0); // block 0 -> chunk 0
    expect(mem.allocPage(1, CHUNK, t(1))).toBeGreaterThanOrEqual(0); // block 1 -> chunk 1
    expect(mem.canAlloc(1, 2 * CHUNK)).toBe(false);
    expect(mem.allocPage(1, 2 * CHUNK, t(2))).toBe(-1); // block 2: nothing free
    expect(mem.allocPage(2, 0, t(3))).toBe(-1); // another space's block 0: nothing free
    expect(mem.rootChunkAllocs).toBe(2);
    expect(mem.allocated).toBe(2);
    // Block 0 already has a chunk: more of its pages fit without evicting.
    expect(mem.canAlloc(1, 300)).toBe(true);
    expect(mem.allocPage(1, 300, t(4)) - mem.pfnOf(0)).toBe(300);
    expect(mem.allocated).toBe(3);
  });

  it('a page still held cannot be allocated again (-2, nothing changes)', () => {
    const { mem } = setup(4 * MiB);
    const p = mem.allocPage(1, 9, t(0));
    expect(p).toBeGreaterThanOrEqual(0);
    expect(mem.allocPage(1, 9, t(1))).toBe(-2);
    expect(mem.allocated).toBe(1);
    expect(mem.eviction.size).toBe(1);
  });
});

describe('DeviceMemory: freeing', () => {
  it('put_page of the last reference frees the slot; an emptied chunk is recycled', () => {
    const { sys, mem } = setup(4 * MiB); // 2 chunks
    const a0 = mem.allocPage(1, 10, t(0)); // block 0 -> chunk 0
    const a1 = mem.allocPage(1, 11, t(1));
    mem.allocPage(1, CHUNK, t(2)); // block 1 -> chunk 1
    expect(mem.allocPage(1, 2 * CHUNK + 3, t(3))).toBe(-1);

    sys.putPage(a0); // refcount 1 -> 0: page_free -> pageFreed
    expect(sys.pages.refcount[a0]).toBe(0);
    expect(mem.allocated).toBe(2);
    expect(mem.eviction.size).toBe(2);
    // Chunk 0 still backs block 0 (one page left): still nothing for block 2.
    expect(mem.keyOfIndex(0)).toBe(mem.keyOf(1, 0));
    expect(mem.canAlloc(1, 2 * CHUNK + 3)).toBe(false);
    expect(mem.allocPage(1, 2 * CHUNK + 3, t(4))).toBe(-1);

    sys.putPage(a1); // last page of chunk 0
    expect(mem.allocated).toBe(1);
    expect(mem.keyOfIndex(0)).toBe(-1);
    expect(mem.canAlloc(1, 2 * CHUNK + 3)).toBe(true);
    const b = mem.allocPage(1, 2 * CHUNK + 3, t(5)); // block 2 reuses chunk 0
    expect(b).toBe(mem.pfnOf(0) + 3);
    expect(mem.keyOfIndex(0)).toBe(mem.keyOf(1, 2 * CHUNK));
    expect(mem.rootChunkAllocs).toBe(3);
    expect(mem.allocated).toBe(2);
    // Block 0 lost its chunk: its pages need a chunk again, and none is free.
    expect(mem.allocPage(1, 10, t(6))).toBe(-1);
  });

  it('a freed slot can be allocated again for the same vpn', () => {
    const { sys, mem } = setup(4 * MiB);
    const p = mem.allocPage(1, 42, t(0));
    mem.allocPage(1, 43, t(1)); // keep the chunk
    sys.putPage(p);
    expect(mem.allocPage(1, 42, t(2))).toBe(p);
    expect(sys.pages.refcount[p]).toBe(1);
    expect(mem.rootChunkAllocs).toBe(1);
  });

  it('ignores page_free of a pfn it does not own', () => {
    const { sys, mem } = setup(4 * MiB);
    mem.allocPage(1, 0, t(0));
    mem.pageFreed(sys.zeroPfn);
    expect(mem.allocated).toBe(1);
  });
});

describe('DeviceMemory: pfn <-> index', () => {
  it('owns / pageIndex / pfnOf round-trip for allocated pages', () => {
    const { mem } = setup(8 * MiB);
    // [space, vpn, chunk expected]: chunks are handed out in order of first use of a block.
    const cases: [number, number, number][] = [[1, 0, 0], [1, 511, 0], [1, CHUNK + 17, 1], [2, 3 * CHUNK + 200, 2]];
    cases.forEach(([space, vpn, chunk], i) => {
      const pfn = mem.allocPage(space, vpn, t(i));
      expect(mem.owns(pfn)).toBe(true);
      const idx = mem.pageIndex(pfn);
      expect(idx).toBe(chunk * CHUNK + (vpn % CHUNK)); // same offset as in the VA block
      expect(mem.pfnOf(idx)).toBe(pfn);
      expect(mem.keyOfIndex(idx)).toBe(mem.keyOf(space, vpn));
    });
  });

  it('system pages, the zero page and another device’s pages are not ours', () => {
    const sys = new System();
    const { mem } = setup(4 * MiB, CHUNK, 'lru-chunk', sys);
    const other = setup(4 * MiB, CHUNK, 'lru-chunk', sys).mem;
    const mine = mem.allocPage(1, 0, t(0));
    const theirs = other.allocPage(1, 0, t(0));
    expect(sys.pagemaps.length).toBe(2);
    expect(mine).not.toBe(theirs);
    expect(mem.owns(theirs)).toBe(false);
    expect(mem.pageIndex(theirs)).toBe(-1);
    expect(other.owns(mine)).toBe(false);
    expect(mem.owns(sys.zeroPfn)).toBe(false);
    const ram = sys.pages.allocSystem();
    expect(mem.owns(ram)).toBe(false);
    expect(mem.pageIndex(ram)).toBe(-1);
    // page_free of each page reaches its own memory.
    sys.putPage(theirs);
    expect(other.allocated).toBe(0);
    expect(mem.allocated).toBe(1);
  });
});

describe('DeviceMemory: eviction', () => {
  it('lru-chunk: the victim is the least recently allocated chunk, with all its pages', () => {
    const { mem } = setup(8 * MiB);
    const a = mem.allocPage(1, 4, t(10)); // chunk 0
    mem.allocPage(1, 6, t(11)); // chunk 0 again
    mem.allocPage(1, CHUNK + 1, t(20)); // chunk 1
    mem.allocPage(2, 0, t(30)); // chunk 2
    expect(mem.victim(never)).toEqual({ unit: 0, pages: [4, 6], lastUse: 11 });
    expect(mem.unitOf(6)).toBe(0);
    expect(mem.unitOf(CHUNK + 1)).toBe(1);
    // A use of chunk 0 makes it the most recent: chunk 1 is next.
    mem.touch(a, t(40));
    expect(mem.victim(never)).toEqual({ unit: 1, pages: [CHUNK + 1], lastUse: 20 });
    // Allocating into chunk 1 refreshes it as well: chunk 2 is next.
    mem.allocPage(1, CHUNK + 2, t(50));
    expect(mem.victim(never)).toEqual({ unit: 2, pages: [2 * CHUNK], lastUse: 30 });
    // Units the caller is busy with are skipped.
    expect(mem.victim(never, new Set([mem.keyOf(2, 0)]))?.unit).toBe(0);
    expect(mem.victim(never, new Set([mem.keyOf(1, 0), mem.keyOf(1, CHUNK), mem.keyOf(2, 0)]))).toBeNull();
    // A busy key with no chunk behind it skips nothing.
    expect(mem.victim(never, new Set([mem.keyOf(7, 0)]))?.unit).toBe(2);
  });

  it('lru-chunk: a touch of a pfn that is not resident changes nothing', () => {
    const { sys, mem } = setup(8 * MiB);
    mem.allocPage(1, 0, t(0)); // chunk 0
    mem.allocPage(1, CHUNK, t(1)); // chunk 1
    mem.touch(sys.zeroPfn, t(2));
    mem.touch(mem.pfnOf(5), t(3)); // chunk 0, slot 5 never allocated
    expect(mem.victim(never)?.unit).toBe(0);
  });

  it('lru-chunk: a freed chunk leaves the eviction state', () => {
    const { sys, mem } = setup(8 * MiB);
    const a = mem.allocPage(1, 0, t(0)); // chunk 0
    mem.allocPage(1, CHUNK, t(1)); // chunk 1
    sys.putPage(a);
    expect(mem.victim(never)).toEqual({ unit: 1, pages: [CHUNK], lastUse: 1 });
    expect(mem.eviction.unitCount).toBe(1);
  });

  it('empty memory has no victim', () => {
    expect(setup(8 * MiB).mem.victim(never)).toBeNull();
  });

  it('lru-page: units are single device pages', () => {
    const { mem } = setup(8 * MiB, CHUNK, 'lru-page');
    const a = mem.allocPage(1, 4, t(0));
    mem.allocPage(1, 6, t(1));
    expect(mem.victim(never)).toEqual({ unit: 4, pages: [4], lastUse: 0 });
    mem.touch(a, t(2));
    expect(mem.victim(never)).toEqual({ unit: 6, pages: [6], lastUse: 1 });
  });

  it('random (4 KiB units): the pick follows the rng over resident pages', () => {
    const { mem } = setup(8 * MiB, CHUNK, 'random');
    mem.allocPage(1, 4, t(0));
    mem.allocPage(1, 6, t(1));
    mem.allocPage(1, CHUNK, t(2));
    // Units in insertion order [4, 6, 512]: rng 0.5 -> floor(1.5) = index 1 -> unit 6.
    expect(mem.victim(() => 0.5)?.unit).toBe(6);
    expect(mem.victim(() => 0.99)?.unit).toBe(CHUNK);
  });

  it('busy chunks are skipped under every policy: LRU takes the oldest of the rest, random the floor(r × m)-th of the rest in array order', () => {
    const policies: EvictionParams[] = [EVICTION_DEFAULTS.random, { kind: 'random', unitPages: CHUNK }, EVICTION_DEFAULTS['lru-page'], EVICTION_DEFAULTS['lru-chunk']];
    for (const params of policies) {
      const kind = params.kind;
      const mem: DeviceMemory = new DeviceMemory(new System(), 'private', {}, { pageFree: (pfn) => mem.pageFreed(pfn), migrateToRam: () => 0 }, 64 * MiB, CHUNK, params);
      // 4 chunks of space 1 with 3 pages each, allocated in an interleaved order.
      let time = 0;
      for (let off = 0; off < 3; off++) for (let c = 0; c < 4; c++) mem.allocPage(1, c * CHUNK + off * 7, t(time++));
      const all = kind === 'random' ? mem.eviction.randomOrder() : mem.eviction.lruOrder();
      const busy = new Set([mem.keyOf(1, 0), mem.keyOf(1, 3 * CHUNK)]);
      const inBusy = (unit: number) => busy.has(mem.keyOfIndex(unit * mem.eviction.unitPages));
      const rest = all.filter((u) => !inBusy(u));
      expect(rest.length).toBeLessThan(all.length);
      for (const r of [0, 0.3, 0.5, 0.99]) {
        const want = kind === 'random' ? rest[Math.floor(r * rest.length)] : rest[0];
        expect(mem.victim(() => r, busy)?.unit, `${kind}/${params.unitPages} r=${r}`).toBe(want);
      }
    }
  });
});

describe('DeviceMemory: lazy sections', () => {
  it('creates one pagemap per 512 chunks, only when a chunk of it is first used', () => {
    // chunkPages 1: 513 chunks = 513 pages, cheap.
    const { sys, mem } = setup(513 * 4096, 1);
    expect(mem.capacityChunks).toBe(513);
    expect(SECTION_CHUNKS).toBe(512);
    expect(sys.pagemaps.length).toBe(0);
    const first = mem.allocPage(1, 0, t(0)); // chunk 0 -> section 0
    expect(sys.pagemaps.length).toBe(1);
    expect(sys.pagemaps[0].npages).toBe(512);
    expect(first).toBe(sys.pagemaps[0].start);
    for (let v = 1; v < 512; v++) mem.allocPage(1, v, t(v)); // chunks 1..511: same section
    expect(sys.pagemaps.length).toBe(1);
    expect(mem.rootChunkAllocs).toBe(512);
    const last = mem.allocPage(1, 512, t(512)); // chunk 512 -> section 1
    expect(sys.pagemaps.length).toBe(2);
    expect(last).toBe(sys.pagemaps[1].start);
    expect(mem.owns(last)).toBe(true);
    expect(mem.pageIndex(last)).toBe(512);
    expect(mem.pfnOf(512)).toBe(last);
    expect(mem.allocPage(1, 513, t(513))).toBe(-1); // full
    expect(sys.pagemaps.length).toBe(2);
    // Freeing returns to the right chunk across sections.
    sys.putPage(last);
    expect(mem.keyOfIndex(512)).toBe(-1);
    expect(mem.allocPage(1, 513, t(514))).toBe(last);
  });
});
