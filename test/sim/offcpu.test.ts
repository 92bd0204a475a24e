// Off-CPU tasks as mm users: a device task binds to its address space with mmget (mm_users) or
// only mmgrab (mm_count), per profile scheduler.holdsMmUsers; the process exits or execs while
// the task runs. Checked: when exit_mmap's RELEASE reaches the notifiers relative to the task's
// stop, fatal faults after the address space is gone, reference counts back to zero, and no page
// leaks (test/invariants.ts).
import { describe, it, expect } from 'vitest';
import { SimMachine, SimRunError } from '../../src/sim/machine.ts';
import type { Profile } from '../../src/devices/profile/schema.ts';
import { NotifyEvent } from '../../src/mm/constants.ts';
import type { KernelRun } from '../../src/sim/device.ts';
import { assertNoLeaks } from '../invariants.ts';
import { profile, streamLanes, FlatReference } from './helpers.ts';

function withSched(p: Profile, s: Partial<NonNullable<Profile['scheduler']>>): Profile {
  return { ...p, scheduler: { faultMode: 'stall', preemptible: true, holdsMmUsers: true, ...p.scheduler, ...s } as Profile['scheduler'] };
}

/** A long kernel (many passes) over 64 pages, with one test notifier recording RELEASE. */
function setup(prof: Profile) {
  const m = new SimMachine({ seed: 1, devices: [{ name: 'gpu0', profile: prof }] });
  const p = m.spawn();
  const base = p.mmap(64, 'anon', 'rw');
  let run: KernelRun | null = null;
  const seen: { event: NotifyEvent; taskLive: boolean }[] = [];
  const sub = p.mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, (s, range, cur) => {
    s.setSeq(cur);
    if (range.event === NotifyEvent.RELEASE) seen.push({ event: range.event, taskLive: run !== null && !run.lanesDone });
    return true;
  });
  m.at(0, () => {
    run = m.launch('gpu0', p, { name: 'long', lanes: streamLanes(base, 64, 4, true, 2000), computePs: 10_000, accessBytes: 64 }) as KernelRun;
  });
  return { m, p, base, seen, sub, getRun: () => run! };
}

describe('device tasks are mm users', () => {
  it('exit with a live device task: the task holds mm_users, so exit_mmap runs only after the device file closed and stopped it; nothing leaks', () => {
    const { m, p, seen, sub, getRun } = setup(profile('h100-pcie5'));
    m.at(200_000_000, () => {
      expect(p.mm.users).toBe(2); // the process and the task (mmget at bind)
      p.mm.notifiers.remove(sub);
      p.mm.notifiers.insert(0, Number.MAX_SAFE_INTEGER, (s, range, cur) => {
        s.setSeq(cur);
        if (range.event === NotifyEvent.RELEASE) seen.push({ event: range.event, taskLive: !getRun().lanesDone });
        return true;
      });
      m.exit(p);
    });
    m.run();
    const k = m.results('exit').devices[0].kernels[0];
    expect(k.stopped).toBe(true);
    expect(k.endPs).toBeLessThan(1_000_000_000);
    // RELEASE came once, after the task was stopped: its mm_users reference kept the mm alive.
    expect(seen).toEqual([{ event: NotifyEvent.RELEASE, taskLive: false }]);
    expect(p.mm.alive).toBe(false);
    expect(p.mm.users).toBe(0);
    expect(p.mm.count).toBe(0); // the mirror's mmgrab went with the file
    assertNoLeaks(m.core, 'after exit with a live device task');
  });

  it('holdsMmUsers false: the exit tears the address space down under the live task (RELEASE while it runs), then the file close stops it; nothing leaks', () => {
    const { m, p, seen, getRun } = setup(withSched(profile('h100-pcie5'), { holdsMmUsers: false }));
    m.at(200_000_000, () => {
      expect(p.mm.users).toBe(1); // only the process: the task grabbed mm_count
      expect(p.mm.count).toBe(3); // users' share, the mirror's subscription, the task
      m.exit(p);
      expect(getRun().stopped).toBe(true);
    });
    m.run();
    expect(seen).toEqual([{ event: NotifyEvent.RELEASE, taskLive: true }]);
    expect(p.mm.count).toBe(0);
    assertNoLeaks(m.core, 'after exit, task holding mm_count');
  });

  it('exec with a live task holding mm_users: the old address space lives until the task ends, the task finishes every access; then nothing leaks', () => {
    const { m, p, getRun } = setup(profile('h100-pcie5'));
    let after: ReturnType<SimMachine['exec']> | null = null;
    m.at(200_000_000, () => {
      after = m.exec(p);
      expect(p.mm.alive).toBe(true);
      expect(p.mm.users).toBe(1); // the task's
      expect(() => m.launch('gpu0', p, { name: 'late', lanes: [], computePs: 0, accessBytes: 64 })).toThrow(SimRunError);
    });
    m.run();
    const d = m.results('exec').devices[0];
    expect(getRun().stopped).toBe(false);
    expect(d.faults.fatal).toBe(0);
    expect(d.accesses.local + d.accesses.remote).toBe(64 * 2000);
    expect(p.mm.alive).toBe(false); // its last mmput ran exit_mmap
    m.exit(after!);
    assertNoLeaks(m.core, 'after exec and exit');
  });

  it('exec with a task holding only mm_count: the old address space goes at exec, the task takes fatal faults and ends early; nothing leaks', () => {
    const { m, p, getRun } = setup(withSched(profile('h100-pcie5'), { holdsMmUsers: false }));
    let after: ReturnType<SimMachine['exec']> | null = null;
    m.at(200_000_000, () => {
      after = m.exec(p);
      expect(p.mm.alive).toBe(false);
    });
    m.run();
    const d = m.results('exec-grab').devices[0];
    expect(d.faults.fatal).toBe(4); // each lane's next access
    expect(getRun().stopped).toBe(false);
    expect(d.accesses.local + d.accesses.remote).toBeLessThan(64 * 2000);
    m.exit(after!);
    assertNoLeaks(m.core, 'after exec (mm_count only) and exit');
  });

  it('SVA device: exit stops the task and unbinds the PASID (its subscription and mmgrab); nothing leaks', () => {
    const { m, p } = setup(profile('sva-accelerator'));
    m.at(200_000_000, () => m.exit(p));
    m.run();
    expect(m.results('sva-exit').devices[0].kernels[0].stopped).toBe(true);
    expect(p.mm.count).toBe(0);
    assertNoLeaks(m.core, 'after SVA exit');
  });

  it('a process exiting under its GPU and SVA tasks leaves another process sharing the devices byte-exact (flat reference), and frees everything when both are gone', () => {
    const m = new SimMachine({ seed: 3, devices: [{ name: 'gpu0', profile: profile('h100-pcie5') }, { name: 'sva0', profile: profile('sva-accelerator') }] });
    const ref = new FlatReference().attach(m);
    const a = m.spawn(), b = m.spawn();
    const ba = a.mmap(96, 'anon', 'rw'), bb = b.mmap(96, 'anon', 'rw');
    m.at(0, () => {
      for (const [p, base] of [[a, ba], [b, bb]] as const) {
        m.launch('gpu0', p, { name: 'w', lanes: streamLanes(base, 64, 4, true, 30), computePs: 10_000, accessBytes: 64 });
        m.launch('sva0', p, { name: 's', lanes: streamLanes(base + 64, 32, 2, true, 30), computePs: 10_000, accessBytes: 64 });
      }
    });
    m.at(150_000_000, () => m.exit(a));
    m.run();
    let checked = 0;
    for (let v = bb; v < bb + 96; v++) {
      const bytes = b.read(v);
      const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const expected = ref.pages.get(`${b.mm.id}:${v}`);
      for (let off = 0; off < 4096; off += 4) expect(words.getUint32(off, true)).toBe(expected?.get(off) ?? 0);
      checked += expected?.size ?? 0;
    }
    expect(checked).toBeGreaterThan(0);
    const r = m.results('exit-integrity');
    expect(r.devices.every((d) => d.kernels.filter((k) => k.stopped).length === 1)).toBe(true);
    m.exit(b);
    assertNoLeaks(m.core, 'after both exits');
  });
});
