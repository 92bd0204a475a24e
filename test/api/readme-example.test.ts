import { describe, it, expect } from 'vitest';
import { Machine } from '../../src/index.ts';

// The README's API example, verbatim in substance, with its claims asserted.
describe('README API example', () => {
  it('runs as documented', () => {
    const m = new Machine();
    const p = m.spawn();
    const a = p.mmap(4, 'anon', 'rw');
    p.write(a, 0x11);
    const gpu = p.device(0);
    const mig = gpu.migrateToDevice(a, 2);
    expect(mig.ret).toBe(0);
    expect(mig.cpages).toBe(2);
    expect(Array.from(gpu.snapshot(a, 4).perm!)).toEqual([0x22, 0x22, 0x00, 0x00]);
    expect(p.read(a).every((b) => b === 0x11)).toBe(true);
    expect(gpu.snapshot(a, 1).perm![0]).toBe(0x02);
    const child = p.fork();
    child.write(a + 1, 0x66);
    expect(child.read(a + 1)[0]).toBe(0x66);
    expect(p.read(a + 1)[0]).toBe(0x00);
    child.exit();
  });
});
