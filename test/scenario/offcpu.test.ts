// Scenario fields of off-CPU tasks: a device's run-queue policy, a kernel's priority and gang,
// and the exit step. Each test changes the field and checks its effect on the run.
import { describe, it, expect } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/scenario/load.ts';
import { runScenario } from '../../src/scenario/run.ts';
import type { RunResults } from '../../src/sim/results.ts';

const run = (text: string): RunResults => runScenario(parseScenario(text, 'test.yaml'));

/** Two processes' kernels on gpu0 (and gpu1), started together. */
function twoJobs(opts: { scheduler?: string; priorityB?: number; gang?: boolean; exit?: string } = {}): string {
  const sched = opts.scheduler ? `, scheduler: ${opts.scheduler}` : '';
  const gang = opts.gang ? ', gang: g' : '';
  return `
name: t
data: false
devices:
  - { name: gpu0, profile: h100-pcie5${sched} }
  - { name: gpu1, profile: h100-pcie5${sched} }
processes:
  - { name: a, allocations: [{ name: x, size: 1 MiB }, { name: y, size: 1 MiB, align: 4 MiB }] }
  - { name: b, allocations: [{ name: x, size: 1 MiB }] }
steps:
  - - kernel: { device: gpu0, process: a${gang}, workload: { type: streaming, buffer: x, passes: 4, write: true, name: ka } }
    - kernel: { device: gpu0, process: b${opts.priorityB !== undefined ? `, priority: ${opts.priorityB}` : ''}, workload: { type: streaming, buffer: x, passes: 4, write: true, name: kb } }
${opts.gang ? '    - kernel: { device: gpu1, process: a, gang: g, workload: { type: streaming, buffer: y, passes: 4, write: true, name: ka1 } }\n' : ''}${opts.exit ?? ''}`;
}

const kernel = (r: RunResults, dev: string, name: string) => r.devices.find((d) => d.id === dev)!.kernels.find((k) => k.name === name)!;

describe('scenario: off-CPU tasks', () => {
  it('devices[].scheduler: fifo runs gpu0\'s two kernels one after the other; the default (concurrent) runs them together', () => {
    const conc = run(twoJobs()), fifo = run(twoJobs({ scheduler: 'fifo' }));
    expect(kernel(conc, 'gpu0', 'kb').sched).toBeUndefined();
    const a = kernel(fifo, 'gpu0', 'ka'), b = kernel(fifo, 'gpu0', 'kb');
    expect(b.sched!.queuedPs).toBeGreaterThanOrEqual(a.sched!.runningPs);
    expect(b.endPs).toBeGreaterThan(kernel(conc, 'gpu0', 'kb').endPs);
  });

  it('steps[].kernel.priority: under scheduler priority, the later kernel with the higher priority runs first', () => {
    const plain = run(twoJobs({ scheduler: 'priority' })), high = run(twoJobs({ scheduler: 'priority', priorityB: 3 }));
    expect(kernel(plain, 'gpu0', 'kb').endPs).toBeGreaterThan(kernel(plain, 'gpu0', 'ka').endPs);
    expect(kernel(high, 'gpu0', 'kb').endPs).toBeLessThan(kernel(high, 'gpu0', 'ka').endPs);
  });

  it('steps[].kernel.gang: the gang\'s kernels on gpu0 and gpu1 start together, after the kernel holding gpu0; without it ka1 starts at once', () => {
    const withGang = run(twoJobs({ scheduler: 'gang', gang: true }));
    const turns = (r: RunResults, track: string, name: string) => r.spans.filter((s) => s.track === track && s.name === name).map((s) => s.startPs);
    expect(turns(withGang, 'gpu0:run-queue', 'ka')[0]).toBe(turns(withGang, 'gpu1:run-queue', 'ka1')[0]);
    expect(turns(withGang, 'gpu1:run-queue', 'ka1')[0]).toBeGreaterThan(turns(withGang, 'gpu0:run-queue', 'kb')[0]);
    const noGang = run(twoJobs({ scheduler: 'gang' }).replace('steps:', 'steps:').replace("    - kernel: { device: gpu0, process: b", "    - kernel: { device: gpu1, process: a, workload: { type: streaming, buffer: y, passes: 4, write: true, name: ka1 } }\n    - kernel: { device: gpu0, process: b"));
    expect(turns(noGang, 'gpu1:run-queue', 'ka1')[0]).toBeLessThan(turns(noGang, 'gpu0:run-queue', 'ka')[0] + 1);
    expect(() => parseScenario(twoJobs({ gang: true }), 't.yaml')).toThrow(/does not schedule gangs; give it scheduler: gang/);
  });

  it('steps[].exit.process with a delay: the process exits that long into the step, stopping its running kernel; later steps may not use it', () => {
    const early = run(twoJobs({ exit: '    - { exit: { process: a }, delay: 50 us }\n' }));
    const late = run(twoJobs({ exit: '    - { exit: { process: a }, delay: 150 us }\n' }));
    const bExit = run(twoJobs({ exit: '    - { exit: { process: b }, delay: 50 us }\n' }));
    expect(kernel(early, 'gpu0', 'ka').stopped).toBe(true);
    expect(kernel(early, 'gpu0', 'ka').endPs).toBe(50_000_000);
    expect(kernel(late, 'gpu0', 'ka').endPs).toBe(150_000_000);
    expect(kernel(early, 'gpu0', 'kb').stopped).toBeUndefined();
    expect(kernel(bExit, 'gpu0', 'kb').stopped).toBe(true);
    expect(kernel(bExit, 'gpu0', 'ka').stopped).toBeUndefined();
    const reuse = twoJobs({ exit: '    - exit: { process: a }\n' }) + '  - kernel: { device: gpu0, process: a, workload: { type: streaming, buffer: x } }\n';
    let err: unknown;
    try {
      parseScenario(reuse, 't.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as Error).message).toMatch(/^t\.yaml:\d+:\d+: .*process 'a' has exited \(exit at steps\[0\]/);
  });
});
