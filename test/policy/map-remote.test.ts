import { describe, it, expect } from 'vitest';
import { mapRemoteDecision, MAP_REMOTE_DEFAULTS } from '../../src/policy/map-remote.ts';
import { CPU, defaultAccessibility, type AccessEvent, type AccessibilityFn } from '../../src/policy/types.ts';
import { us } from '../../src/units/time.ts';

const ev = (vpn: number, deviceId: number): AccessEvent => ({ vpn, deviceId, write: false, time: us(2) });
/** GPUs 0 and 1 are NVLink peers; GPU 2 is not; everyone reaches system memory. */
const peers: AccessibilityFn = (p, r) =>
  p === r || r === CPU || (p >= 0 && r >= 0 && p <= 1 && r <= 1);

describe('map-remote (zero-copy)', () => {
  it('maps system memory remotely instead of migrating', () => {
    expect(mapRemoteDecision(ev(4, 0), CPU, defaultAccessibility)).toEqual({
      kind: 'map-remote', processor: 0, residency: CPU, vpns: [4],
    });
  });

  it('maps a peer device memory in place when the accessibility predicate allows it', () => {
    expect(mapRemoteDecision(ev(4, 1), 0, peers)).toEqual({ kind: 'map-remote', processor: 1, residency: 0, vpns: [4] });
  });

  it('falls back to migration when the requester cannot reach the residency', () => {
    expect(mapRemoteDecision(ev(4, 2), 0, peers)).toEqual({ kind: 'migrate', target: 2, vpns: [4] });
    expect(mapRemoteDecision(ev(4, 1), 0, defaultAccessibility)).toEqual({ kind: 'migrate', target: 1, vpns: [4] });
  });

  it('does nothing for a local page', () => {
    expect(mapRemoteDecision(ev(4, 1), 1, peers)).toEqual({ kind: 'none' });
  });

  it('places unpopulated pages in system memory by default, and at the requester if asked', () => {
    expect(MAP_REMOTE_DEFAULTS.populateOn).toBe('system');
    expect(mapRemoteDecision(ev(8, 0), null, defaultAccessibility)).toEqual({
      kind: 'map-remote', processor: 0, residency: CPU, vpns: [8],
    });
    expect(mapRemoteDecision(ev(8, 0), null, defaultAccessibility, { populateOn: 'requester' })).toEqual({
      kind: 'migrate', target: 0, vpns: [8],
    });
    // A CPU access to an unpopulated page populates system memory (its own memory).
    expect(mapRemoteDecision(ev(8, CPU), null, defaultAccessibility)).toEqual({ kind: 'migrate', target: CPU, vpns: [8] });
  });

  it('never migrates when every processor can reach every memory', () => {
    const all: AccessibilityFn = () => true;
    for (const [dev, res] of [[0, 1], [1, CPU], [CPU, 0], [2, 0]]) {
      expect(mapRemoteDecision(ev(1, dev), res, all).kind).toBe('map-remote');
    }
  });
});
