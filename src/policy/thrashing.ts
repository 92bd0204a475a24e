// NVIDIA UVM thrashing detection and prevention (anchors-uvm.md §b.3, `uvm_perf_thrashing.c`),
// as pure functions over an immutable per-page state.
//
// Detection (`thrashing_event_cb`). Every migration of a page records a time stamp. A migration
// that comes within `lapse` (500 µs) of the page's previous migration is a "thrashing event".
// When a page has `threshold` (3) CONSECUTIVE thrashing events it is thrashing. Note that the
// first migration only sets the time stamp, so the default needs 4 migrations, each ≤ 500 µs
// after the previous one. A gap longer than the lapse ends the run: a thrashing page that is not
// pinned is reset. UVM's code only clears counts that reached the threshold; the model also
// clears shorter runs, following the "consecutive" wording of the doc and code comments.
//
// Prevention (`uvm_perf_thrashing_get_hint`), on each fault of a thrashing page:
// - Throttling. Each throttling period lasts `nap` (1 × lapse). The first faulting processor of a
//   period becomes the "do-not-throttle" processor and keeps servicing faults; every other
//   processor that faults during the period is throttled (told to retry after the period ends).
//   The same processor is not chosen twice in a row. Each processor throttled (once per period)
//   increments the page's throttling count.
// - Pinning. When the do-not-throttle processor faults and the throttling count has reached
//   `pinThreshold` (10), the page is pinned at the requester (or, if pinned already, where all
//   thrashing processors can reach it) and the other processors map it remotely. The pin lasts
//   `pinDuration` (300 × lapse = 150 ms); then the page is unpinned and its history cleared, so
//   the next remote access faults and may migrate again.
// - A preferred location that every thrashing processor can access wins: pin there. An optional
//   fast-access predicate models UVM's NVLink + native-atomics shortcut (pin at the current
//   residency, or at a GPU requester when the page is in system memory).
//
// Not modelled here: UVM's per-block phase 0 (per-page tracking starts only after two migrations
// of the block by different processors within a lapse). These functions track pages from their
// first migration; the HMM mirror driver applies phase 0 before calling them (sim/drivers/mirror.ts), the epoch
// reset (2000 × lapse) with `max_resets`, revocation (system-wide atomics) thrashing, the
// adaptive lapse, migration causes other than fault / prefetch / access counter.

import { ms, us, type TimePs } from '../units/time.ts';
import {
  CPU,
  blockOf,
  checkProcessor,
  checkVpn,
  defaultAccessibility,
  NO_DECISION,
  sortedUnique,
  type AccessEvent,
  type AccessibilityFn,
  type Decision,
  type ProcessorId,
} from './types.ts';

/** Parameters of thrashing detection. Durations are integer picoseconds. */
export interface ThrashingParams {
  /** Consecutive thrashing events that make a page thrashing: 1–7 (3-bit counter in UVM). */
  readonly threshold: number;
  /** Two migrations of a page at most this far apart are a thrashing event. */
  readonly lapse: TimePs;
  /** Length of a throttling period. */
  readonly nap: TimePs;
  /** Throttlings before the page is pinned: 1–255 (8-bit counter in UVM). */
  readonly pinThreshold: number;
  /** How long a pin lasts; 0 = pinned until reset. */
  readonly pinDuration: TimePs;
}

/**
 * UVM defaults (anchors-uvm.md §b.3): `uvm_perf_thrashing_threshold` = 3,
 * `uvm_perf_thrashing_lapse_usec` = 500 µs, `uvm_perf_thrashing_nap` = 1 × lapse = 500 µs,
 * `uvm_perf_thrashing_pin_threshold` = 10, `uvm_perf_thrashing_pin` = 300 × lapse = 150 ms
 * [derived].
 */
export const THRASHING_DEFAULTS: ThrashingParams = Object.freeze({
  threshold: 3,
  lapse: us(500),
  nap: us(500),
  pinThreshold: 10,
  pinDuration: ms(150),
});

/** Saturation limit of the per-page thrashing-event counter (PAGE_THRASHING_NUM_EVENTS_BITS = 3). */
export const MAX_THRASHING_EVENTS = 7;
/** Saturation limit of the per-page throttling counter (8 bits). */
export const MAX_THROTTLING_COUNT = 255;

/** A pin of a page at `residency`, expiring at `deadline` (null = never). */
export interface PagePin {
  readonly residency: ProcessorId;
  readonly deadline: TimePs | null;
}

/** Thrashing history of one page. Immutable; absent from the state = no history. */
export interface PageThrashing {
  /** Time of the last recorded migration; null if none since the last reset. */
  readonly lastEvent: TimePs | null;
  /** Consecutive thrashing events, 0..MAX_THRASHING_EVENTS. */
  readonly events: number;
  /** Processors that migrated or faulted on the page (sorted ascending). */
  readonly processors: readonly ProcessorId[];
  /** Throttlings so far, 0..MAX_THROTTLING_COUNT; 0 once pinned. */
  readonly throttlingCount: number;
  /** End of the current throttling period; null if no processor is throttled. */
  readonly throttleEnd: TimePs | null;
  /** Processors throttled in the current period (sorted ascending). */
  readonly throttled: readonly ProcessorId[];
  /** Processor allowed to service faults in the current period, if chosen. */
  readonly doNotThrottle: ProcessorId | null;
  /** The pin, if the page is pinned. */
  readonly pin: PagePin | null;
}

/**
 * Thrashing state of an address space: per 2 MiB block, per VPN. Immutable: every update returns
 * a new state sharing unchanged blocks (cost O(blocks + pages of one block) per update).
 */
export interface ThrashingState {
  readonly blocks: ReadonlyMap<number, ReadonlyMap<number, PageThrashing>>;
}

/** The state with no history. */
export const EMPTY_THRASHING_STATE: ThrashingState = Object.freeze({ blocks: new Map() });

const FRESH_PAGE: PageThrashing = Object.freeze({
  lastEvent: null,
  events: 0,
  processors: [],
  throttlingCount: 0,
  throttleEnd: null,
  throttled: [],
  doNotThrottle: null,
  pin: null,
});

/** History of `vpn`, or undefined if it has none. */
export function pageThrashing(state: ThrashingState, vpn: number): PageThrashing | undefined {
  return state.blocks.get(blockOf(vpn))?.get(vpn);
}

/** Applies page updates (undefined = delete) and returns the new state. */
/**
 * A state that every call updates in place and returns again (O(pages changed) per update rather
 * than O(blocks)). For callers that never look at an old state again, like a driver holding the
 * current state of an address space; the decisions are the same as with immutable states.
 */
export function mutableThrashingState(): ThrashingState {
  return new MutableThrashing();
}

class MutableThrashing implements ThrashingState {
  readonly blocks = new Map<number, Map<number, PageThrashing>>();
}

function withPages(state: ThrashingState, updates: ReadonlyMap<number, PageThrashing | undefined>): ThrashingState {
  if (state instanceof MutableThrashing) {
    for (const [vpn, page] of updates) {
      const b = blockOf(vpn);
      let pages = state.blocks.get(b);
      if (!pages) state.blocks.set(b, (pages = new Map()));
      if (page) pages.set(vpn, page);
      else pages.delete(vpn);
      if (pages.size === 0) state.blocks.delete(b);
    }
    return state;
  }
  const blocks = new Map(state.blocks);
  const touched = new Map<number, Map<number, PageThrashing>>();
  for (const [vpn, page] of updates) {
    const b = blockOf(vpn);
    let pages = touched.get(b);
    if (!pages) {
      pages = new Map(blocks.get(b) ?? []);
      touched.set(b, pages);
    }
    if (page) pages.set(vpn, page);
    else pages.delete(vpn);
  }
  for (const [b, pages] of touched) {
    if (pages.size === 0) blocks.delete(b);
    else blocks.set(b, pages);
  }
  return { blocks };
}

function addSorted(xs: readonly number[], x: number): readonly number[] {
  return xs.includes(x) ? xs : sortedUnique([...xs, x]);
}

// Asked on every fault the thrashing policy sees: a module-level helper, not a closure per call.
function checkParams(p: ThrashingParams): void {
  checkIntParam(p.threshold, 1, MAX_THRASHING_EVENTS, 'threshold');
  checkIntParam(p.pinThreshold, 1, MAX_THROTTLING_COUNT, 'pinThreshold');
  checkIntParam(p.lapse, 1, Number.MAX_SAFE_INTEGER, 'lapse');
  checkIntParam(p.nap, 1, Number.MAX_SAFE_INTEGER, 'nap');
  checkIntParam(p.pinDuration, 0, Number.MAX_SAFE_INTEGER, 'pinDuration');
}

function checkIntParam(v: number, lo: number, hi: number, name: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`thrashing: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  }
}

/** A migration of pages to `target` at `time` (cause: fault, prefetch or access counter). */
export interface MigrationRecord {
  readonly vpns: readonly number[];
  readonly target: ProcessorId;
  readonly time: TimePs;
}

/**
 * Records a migration (UVM `thrashing_event_cb`). Pinned pages are left alone (a pinned page is
 * only "migrated" to its pin residency, which UVM ignores).
 * @throws RangeError on bad parameters, ids, or a time earlier than the page's last event.
 */
export function recordMigration(
  state: ThrashingState,
  params: ThrashingParams,
  m: MigrationRecord,
): ThrashingState {
  checkParams(params);
  checkProcessor(m.target, 'target');
  const updates = new Map<number, PageThrashing | undefined>();
  for (const vpn of sortedUnique(m.vpns.map((v) => checkVpn(v)))) {
    const page = pageThrashing(state, vpn) ?? FRESH_PAGE;
    if (page.pin) continue;
    const last = page.lastEvent;
    if (last !== null && m.time < last) {
      throw new RangeError(`thrashing: migration at ${m.time} ps precedes the last one at ${last} ps`);
    }
    const base = { ...page, lastEvent: m.time, processors: addSorted(page.processors, m.target) };
    if (last === null) {
      updates.set(vpn, base);
    } else if (m.time - last <= params.lapse) {
      updates.set(vpn, { ...base, events: Math.min(MAX_THRASHING_EVENTS, page.events + 1) });
    } else if (page.events >= params.threshold) {
      updates.set(vpn, undefined); // thrashing_reset_page: history cleared, time stamp included
    } else {
      updates.set(vpn, { ...base, events: 0 });
    }
  }
  return updates.size === 0 ? state : withPages(state, updates);
}

/** True if `vpn` currently counts as thrashing (events ≥ threshold) or is pinned. */
export function isThrashing(state: ThrashingState, params: ThrashingParams, vpn: number): boolean {
  const p = pageThrashing(state, vpn);
  return p !== undefined && (p.events >= params.threshold || p.pin !== null);
}

/** All thrashing or pinned VPNs, ascending (the prefetcher excludes these). */
export function thrashingVpns(state: ThrashingState, params: ThrashingParams): number[] {
  const out: number[] = [];
  for (const pages of state.blocks.values()) {
    for (const [vpn, p] of pages) if (p.events >= params.threshold || p.pin !== null) out.push(vpn);
  }
  return out.sort((a, b) => a - b);
}

/** Optional context of a fault for the hint. */
export interface ThrashingContext {
  /** Whether a processor can map a residency remotely (default: own memory and system memory). */
  readonly canAccess?: AccessibilityFn;
  /** Preferred location of the page (UVM SetPreferredLocation), if any. */
  readonly preferredLocation?: ProcessorId | null;
  /** Current residency of the page, used with `fastAccess`. */
  readonly residency?: ProcessorId | null;
  /** NVLink + native atomics reachability (UVM's fast path); absent = no fast access. */
  readonly fastAccess?: AccessibilityFn;
}

/** Result of a thrashing hint: the new state and a `none`, `throttle` or `pin` decision. */
export interface ThrashingHint {
  readonly state: ThrashingState;
  readonly decision: Decision;
}

/**
 * Hint for a fault by `ev.deviceId` on `ev.vpn` at `ev.time` (UVM `uvm_perf_thrashing_get_hint`).
 * A pin whose deadline has passed is expired first. `none` means: service the fault normally.
 * `throttle` means: do not service it before `until`. `pin` means: make/keep the page resident at
 * `residency` and map it on the requester (remotely if it is not the residency).
 */
export function thrashingHint(
  state: ThrashingState,
  params: ThrashingParams,
  ev: AccessEvent,
  ctx: ThrashingContext = {},
): ThrashingHint {
  checkParams(params);
  checkVpn(ev.vpn);
  const req = checkProcessor(ev.deviceId, 'deviceId');
  const t = ev.time;
  let page = pageThrashing(state, ev.vpn);
  if (!page) return { state, decision: NO_DECISION };

  const save = (p: PageThrashing | undefined, decision: Decision): ThrashingHint => ({
    state: withPages(state, new Map([[ev.vpn, p]])),
    decision,
  });

  if (page.pin && page.pin.deadline !== null && page.pin.deadline <= t) {
    return save(undefined, NO_DECISION);
  }
  if (page.events < params.threshold) return { state, decision: NO_DECISION };

  // A throttled requester stays throttled until the period ends.
  if (page.throttled.includes(req)) {
    if (page.throttleEnd !== null && t < page.throttleEnd && req !== page.doNotThrottle) {
      return { state, decision: throttleDecision(req, page.throttleEnd, ev.vpn) };
    }
    const throttled = page.throttled.filter((p) => p !== req);
    page = { ...page, throttled, throttleEnd: throttled.length === 0 ? null : page.throttleEnd };
  }

  // No thrashing event within a lapse: no longer thrashing (unless pinned).
  if (!page.pin && (page.lastEvent === null || t - page.lastEvent > params.lapse)) {
    return save(page, NO_DECISION);
  }

  page = { ...page, processors: addSorted(page.processors, req) };

  // thrashing_throttle_update: open a new period, or pick its do-not-throttle processor.
  if (page.throttleEnd === null || t > page.throttleEnd) {
    page = {
      ...page,
      throttleEnd: (t + params.nap) as TimePs,
      doNotThrottle: page.doNotThrottle === req ? null : req,
    };
  } else if (page.doNotThrottle === null) {
    page = { ...page, doNotThrottle: req };
  }

  const hint = migrationHint(page, params, req, ctx);
  if (hint.kind === 'pin') {
    // thrashing_pin_page → thrashing_throttling_reset_page: unthrottle everyone; the period
    // ends only if someone was throttled (as in thrashing_throttle_end_processor).
    const repin = page.pin !== null && page.pin.residency !== hint.residency;
    if ((!page.pin || repin) && page.throttled.length > 0) page = { ...page, throttled: [], throttleEnd: null };
    const pin: PagePin = page.pin
      ? { residency: hint.residency, deadline: page.pin.deadline }
      : { residency: hint.residency, deadline: params.pinDuration > 0 ? ((t + params.pinDuration) as TimePs) : null };
    page = { ...page, pin, throttlingCount: page.pin ? page.throttlingCount : 0 };
    return save(page, {
      kind: 'pin',
      residency: pin.residency,
      processors: page.processors,
      until: pin.deadline,
      vpns: [ev.vpn],
    });
  }
  if (hint.kind === 'throttle') {
    if (!page.throttled.includes(req)) {
      page = {
        ...page,
        throttled: addSorted(page.throttled, req),
        throttlingCount: page.pin ? page.throttlingCount : Math.min(MAX_THROTTLING_COUNT, page.throttlingCount + 1),
      };
    }
    return save(page, throttleDecision(req, page.throttleEnd!, ev.vpn));
  }
  return save(page, NO_DECISION);
}

function throttleDecision(processor: ProcessorId, until: TimePs, vpn: number): Decision {
  return { kind: 'throttle', processor, until, vpns: [vpn] };
}

type Hint = { kind: 'none' } | { kind: 'throttle' } | { kind: 'pin'; residency: ProcessorId };

/** UVM `get_hint_for_migration_thrashing`, without the "processor has no memory" fallback. */
function migrationHint(page: PageThrashing, params: ThrashingParams, req: ProcessorId, ctx: ThrashingContext): Hint {
  const canAccess = ctx.canAccess ?? defaultAccessibility;
  const pref = ctx.preferredLocation ?? null;
  const dnt = page.doNotThrottle;
  const allCanAccess = (to: ProcessorId): boolean => page.processors.every((p) => canAccess(p, to));
  const residency = ctx.residency ?? null;
  const fast = ctx.fastAccess;

  if (pref !== null && allCanAccess(pref)) return { kind: 'pin', residency: pref };
  if (
    fast &&
    residency !== null &&
    !(pref !== null && page.processors.includes(pref)) &&
    page.processors.every((p) => p === residency || fast(p, residency))
  ) {
    if (residency !== CPU) return { kind: 'pin', residency };
    if (req !== CPU) return { kind: 'pin', residency: req };
    return { kind: 'none' };
  }
  if (pref !== null && req === pref) {
    if (page.pin) {
      return page.pin.residency === pref || dnt === pref ? { kind: 'pin', residency: pref } : { kind: 'throttle' };
    }
    if (dnt !== pref) return { kind: 'throttle' };
    return page.throttlingCount >= params.pinThreshold ? { kind: 'pin', residency: pref } : { kind: 'none' };
  }
  if (page.pin) {
    if (req === dnt) {
      if (allCanAccess(req)) return { kind: 'pin', residency: req };
      // A location every thrashing processor can reach. UVM picks the closest to the requester;
      // without distances the model picks the lowest id (system memory first).
      const common = sortedUnique([CPU, ...page.processors]).filter(allCanAccess);
      return { kind: 'pin', residency: common.length > 0 ? common[0] : req };
    }
    if (canAccess(req, page.pin.residency)) return { kind: 'pin', residency: page.pin.residency };
    return { kind: 'throttle' };
  }
  if (req !== dnt) return { kind: 'throttle' };
  if (page.throttlingCount >= params.pinThreshold) return { kind: 'pin', residency: req };
  return { kind: 'none' };
}

/**
 * Expires pins whose deadline is ≤ `now` (UVM's delayed unpin worker): their history is cleared.
 * @returns the new state and the unpinned VPNs (ascending), whose remote mappings the caller
 *   should remove so the next access faults.
 */
export function expirePins(state: ThrashingState, now: TimePs): { state: ThrashingState; unpinned: number[] } {
  const updates = new Map<number, PageThrashing | undefined>();
  for (const pages of state.blocks.values()) {
    for (const [vpn, p] of pages) {
      if (p.pin && p.pin.deadline !== null && p.pin.deadline <= now) updates.set(vpn, undefined);
    }
  }
  if (updates.size === 0) return { state, unpinned: [] };
  return { state: withPages(state, updates), unpinned: [...updates.keys()].sort((a, b) => a - b) };
}

/** Earliest pin deadline in the state, or null if no pin expires (for scheduling expirePins). */
export function nextPinDeadline(state: ThrashingState): TimePs | null {
  let best: TimePs | null = null;
  for (const pages of state.blocks.values()) {
    for (const p of pages.values()) {
      const d = p.pin?.deadline ?? null;
      if (d !== null && (best === null || d < best)) best = d;
    }
  }
  return best;
}
