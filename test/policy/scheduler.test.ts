// The off-CPU batch scheduler's decisions (src/policy/scheduler.ts) as properties: no device is
// given twice, no job is passed over by one behind it for a device it wants, gang jobs are never
// starved, fair share keeps owners within one slice of each other, priority never runs a lower
// job while a higher one waits.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compareJobs, planStarts, shouldPreempt, type SchedJob, type SchedPolicy } from '../../src/policy/scheduler.ts';

const DEVICES = 4;
const jobArb = (maxDevices: number) => fc.record({
  devices: fc.uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 }), { minLength: 1, maxLength: maxDevices }),
  priority: fc.integer({ min: 0, max: 3 }),
  owner: fc.integer({ min: 0, max: 3 }),
});
const jobsArb = (maxDevices: number) => fc.array(jobArb(maxDevices), { minLength: 1, maxLength: 10 })
  .map((js) => js.map((j, i): SchedJob => ({ ...j, id: i, order: i })));
const policyArb = fc.constantFrom<SchedPolicy>('fifo', 'priority', 'fair', 'gang');
const usedArb = fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 4, maxLength: 4 }).map((u) => new Map(u.map((v, i) => [i, v * 1000])));

describe('planStarts', () => {
  it('gives each free device to at most one job, and a job only all of its devices', () => {
    fc.assert(fc.property(policyArb, jobsArb(3), fc.uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 })), usedArb, (policy, jobs, free, used) => {
      const started = planStarts(policy, new Set(free), jobs, used).map((id) => jobs[id]);
      const taken = started.flatMap((j) => j.devices);
      expect(new Set(taken).size).toBe(taken.length);
      for (const d of taken) expect(free).toContain(d);
    }));
  });

  it('never passes a job over for one behind it in policy order that wants one of its devices', () => {
    fc.assert(fc.property(policyArb, jobsArb(3), fc.uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 })), usedArb, (policy, jobs, free, used) => {
      const started = new Set(planStarts(policy, new Set(free), jobs, used));
      for (const j of jobs) {
        if (!started.has(j.id)) continue;
        for (const k of jobs) {
          if (started.has(k.id) || compareJobs(policy, k, j, used) >= 0) continue;
          expect(k.devices.some((d) => j.devices.includes(d)), `job ${k.id} before ${j.id} wants one of its devices`).toBe(false);
        }
      }
    }));
  });

  it('is work-conserving for one-device jobs: a free device with a job waiting for it gets one', () => {
    fc.assert(fc.property(policyArb, jobsArb(1), fc.uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 })), usedArb, (policy, jobs, free, used) => {
      const started = planStarts(policy, new Set(free), jobs, used).map((id) => jobs[id]);
      for (const d of free) if (jobs.some((j) => j.devices[0] === d)) expect(started.some((j) => j.devices[0] === d)).toBe(true);
    }));
  });

  it('priority: no job starts while a higher-priority job waits for its device', () => {
    fc.assert(fc.property(jobsArb(1), fc.uniqueArray(fc.integer({ min: 0, max: DEVICES - 1 })), (jobs, free) => {
      const started = new Set(planStarts('priority', new Set(free), jobs, new Map()));
      for (const j of jobs) {
        if (!started.has(j.id)) continue;
        expect(jobs.some((k) => !started.has(k.id) && k.devices[0] === j.devices[0] && k.priority > j.priority)).toBe(false);
      }
    }));
  });
});

describe('gang scheduling over slices', () => {
  it('starts every gang job within as many slices as there are jobs (no starvation by narrower jobs), all its devices at once', () => {
    fc.assert(fc.property(jobsArb(DEVICES), (jobs0) => {
      let jobs = jobs0.map((j) => ({ ...j }));
      let seq = jobs.length;
      const firstStart = new Map<number, number>();
      const all = new Set(Array.from({ length: DEVICES }, (_, i) => i));
      for (let slice = 0; slice < jobs0.length; slice++) {
        // Every slice end preempts all running gang jobs; the plan starts from all devices free.
        const started = planStarts('gang', all, jobs, new Map());
        for (const id of started) if (!firstStart.has(id)) firstStart.set(id, slice);
        // Jobs that ran are requeued behind everyone waiting.
        jobs = jobs.map((j) => (started.includes(j.id) ? { ...j, order: seq++ } : j));
        const held = started.flatMap((id) => jobs0[id].devices);
        expect(new Set(held).size).toBe(held.length);
      }
      for (const j of jobs0) expect(firstStart.has(j.id), `job ${j.id} on ${j.devices} never started`).toBe(true);
    }));
  });
});

describe('fair share over slices', () => {
  it('keeps every owner within one slice of device time of every other while all are runnable', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 40 }), (owners, slices) => {
      const SLICE = 1000;
      const used = new Map<number, number>();
      let seq = 0;
      let waiting: SchedJob[] = Array.from({ length: owners }, (_, o) => ({ id: o, devices: [0], order: seq++, priority: 0, owner: o }));
      let running = waiting.find((j) => j.id === planStarts('fair', new Set([0]), waiting, used)[0])!;
      waiting = waiting.filter((j) => j !== running);
      for (let s = 0; s < slices; s++) {
        used.set(running.owner, (used.get(running.owner) ?? 0) + SLICE);
        if (shouldPreempt('fair', running, waiting, used)) {
          waiting.push({ ...running, order: seq++ });
          const next = planStarts('fair', new Set([0]), waiting, used)[0];
          running = waiting.find((j) => j.id === next)!;
          waiting = waiting.filter((j) => j !== running);
        }
        const u = Array.from({ length: owners }, (_, o) => used.get(o) ?? 0);
        expect(Math.max(...u) - Math.min(...u)).toBeLessThanOrEqual(SLICE);
      }
    }));
  });

  it('fifo never preempts; priority preempts only for an equal or higher priority', () => {
    const run: SchedJob = { id: 0, devices: [0], order: 0, priority: 1, owner: 0 };
    const low: SchedJob = { id: 1, devices: [0], order: 1, priority: 0, owner: 1 };
    const eq: SchedJob = { ...low, id: 2, priority: 1 };
    expect(shouldPreempt('fifo', run, [eq], new Map())).toBe(false);
    expect(shouldPreempt('priority', run, [low], new Map())).toBe(false);
    expect(shouldPreempt('priority', run, [eq], new Map())).toBe(true);
    // A waiting job on another device is no rival.
    expect(shouldPreempt('gang', run, [{ ...eq, devices: [1] }], new Map())).toBe(false);
    expect(shouldPreempt('gang', run, [eq], new Map())).toBe(true);
  });
});
