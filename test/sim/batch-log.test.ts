// The per-device batch log that replaced a record per batch kept to the end: every batch
// counted and summed (every numeric field), the first `limit` records kept, every record handed
// to the listener, work outside a batch (negative batch numbers) ignored.
import { describe, expect, it } from 'vitest';
import { BATCH_SUM_FIELDS, BatchLog, addBatch, batchSummary, batchSummaryOf, newBatchRecord } from '../../src/sim/metrics.ts';
import { BATCH_FIELDS, type BatchRecord } from '../../src/sim/results.ts';

/** A record whose every numeric field holds a distinct value. */
function record(batch: number, seed: number): BatchRecord {
  const r = newBatchRecord('g', batch, batch * 1000);
  BATCH_SUM_FIELDS.forEach((f, i) => (r[f] = seed * 100 + i + 1));
  return r;
}

describe('BatchLog', () => {
  it('addBatch adds every numeric field but device, batch and start_time', () => {
    expect([...BATCH_SUM_FIELDS]).toEqual(BATCH_FIELDS.filter((f) => f !== 'device' && f !== 'batch' && f !== 'start_time'));
    const sums = batchSummaryOf([]).sums;
    addBatch(sums, record(0, 3));
    addBatch(sums, record(1, 5));
    for (const [i, f] of BATCH_SUM_FIELDS.entries()) expect(sums[f], f).toBe(300 + 500 + 2 * (i + 1));
  });

  it('keeps the first `limit` records, counts and sums them all, and hands each to onRecord', () => {
    const log = new BatchLog(3);
    const seen: number[] = [];
    log.onRecord = (r) => seen.push(r.batch);
    const recs = Array.from({ length: 10 }, (_, i) => record(i, i));
    log.push(newBatchRecord('g', -1, 0));
    for (const r of recs) log.push(r);
    expect(log.kept.map((r) => r.batch)).toEqual([0, 1, 2]);
    expect(seen).toEqual([...Array(10).keys()]);
    const s = batchSummary([log]);
    expect(s).toEqual({ ...batchSummaryOf(recs), kept: 3 });
    expect(s.count).toBe(10);
    expect(s.timePs.count).toBe(10);
    expect(s.sums.time).toBe(recs.reduce((a, r) => a + r.time, 0));
  });
});
