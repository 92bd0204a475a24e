// Seeded pseudo-random streams. Every random choice in the model comes from a named stream so
// that a run is a pure function of its seed, and adding draws to one component does not shift
// the numbers another component sees.
//
// Generator: xoshiro128** (Blackman & Vigna, 2018): 128-bit state, period 2^128 − 1, passes
// BigCrush, and needs only 32-bit ops, which JavaScript does exactly via Math.imul and `>>> 0`.

/** Checkpoint of a stream's generator state: four unsigned 32-bit words, not all zero. */
export type RngState = readonly [number, number, number, number];

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** MurmurHash3 finalizer: a bijection on u32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 64-bit FNV-1a over the UTF-16 code units of `name`, as [hi, lo] u32 words. */
function fnv1a64(name: string): [number, number] {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < name.length; i++) {
    h ^= BigInt(name.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return [Number(h >> 32n), Number(h & 0xffffffffn)];
}

/**
 * A deterministic stream of pseudo-random numbers.
 *
 * A stream is identified by a 64-bit key (from the seed, or from the parent key and a name for
 * forks); its state evolves with each draw. Forking depends only on the key, never on how many
 * numbers have been drawn, so streams can be created in any order with the same result.
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private keyHi: number;
  private keyLo: number;

  /**
   * @param seed any safe integer; seeds that differ in any bit give unrelated streams.
   * @throws RangeError if `seed` is not a safe integer.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    }
    // Two's-complement split so negative seeds are distinct from positive ones.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_32) >>> 0;
    this.keyHi = hi;
    this.keyLo = lo;
    this.initFromKey();
  }

  private initFromKey(): void {
    // Expand the 64-bit key into 128 bits of state with two splitmix-style counters, one per
    // key half, so every state word (and hence the first output) depends on all 64 key bits.
    const words: number[] = [];
    let x = this.keyLo;
    let y = this.keyHi ^ 0x6a09e667;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      y = (y + 0x7f4a7c15) | 0;
      words.push((fmix32(x) ^ rotl(fmix32(y), 16)) >>> 0);
    }
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1; // all-zero is a fixed point
    [this.a, this.b, this.c, this.d] = words;
  }

  /** Next uniformly distributed unsigned 32-bit integer in [0, 2^32). */
  nextU32(): number {
    const b = this.b;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.c ^= this.a;
    this.d ^= b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution (multiples of 2^-32). One draw. */
  nextFloat(): number {
    return this.nextU32() / TWO_32;
  }

  /**
   * Uniform integer in [lo, hiExclusive), without modulo bias (rejection sampling).
   * Spans up to 2^32 use one draw per attempt; larger spans (up to 2^53) use two.
   * @throws RangeError unless lo and hiExclusive are safe integers with lo < hiExclusive and
   *   span ≤ 2^53.
   */
  int(lo: number, hiExclusive: number): number {
    const span = hiExclusive - lo;
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hiExclusive) || !(span > 0) || span > TWO_53) {
      throw new RangeError(`Rng.int: need safe integers lo < hi with span ≤ 2^53, got [${lo}, ${hiExclusive})`);
    }
    if (span <= TWO_32) {
      // Accept only the largest multiple of span below 2^32, so every residue is equally likely.
      const limit = TWO_32 - (TWO_32 % span);
      let u = this.nextU32();
      while (u >= limit) u = this.nextU32();
      return lo + (u % span);
    }
    const limit = TWO_53 - (TWO_53 % span);
    let u: number;
    do {
      u = (this.nextU32() >>> 11) * TWO_32 + this.nextU32();
    } while (u >= limit);
    return lo + (u % span);
  }

  /** A uniformly chosen element of `array`. @throws RangeError if `array` is empty. */
  pick<T>(array: readonly T[]): T {
    if (array.length === 0) throw new RangeError('Rng.pick: empty array');
    return array[this.int(0, array.length)];
  }

  /** Shuffles `array` in place (Fisher–Yates, uniform over permutations) and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * A new, independent stream derived from this stream's key and `name` (not from its current
   * state): the same parent seed and name always give the same child, whatever was drawn before.
   * Distinct names give distinct child keys (the map from name hash to key is a bijection).
   */
  fork(name: string): Rng {
    const [hHi, hLo] = fnv1a64(name);
    const child = new Rng(0);
    child.keyLo = fmix32(this.keyLo ^ hLo);
    child.keyHi = fmix32(this.keyHi ^ hHi ^ child.keyLo);
    child.initFromKey();
    return child;
  }

  /** Snapshot of the generator state; pass it to restore() to replay the following draws. */
  state(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /**
   * Rewinds (or fast-forwards) the generator to a snapshot from state(). The stream key, and so
   * what fork() returns, is unchanged.
   * @throws RangeError if the words are not u32 or are all zero.
   */
  restore(state: RngState): void {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32)) {
      throw new RangeError('Rng.restore: state must be four unsigned 32-bit integers');
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) {
      throw new RangeError('Rng.restore: the all-zero state is invalid for xoshiro128**');
    }
    [this.a, this.b, this.c, this.d] = state;
  }
}
