import { it } from 'vitest';
import { Machine } from '../src/api/machine.ts';
import { cpuWriteInts, iota, ints, mismatch, cpuReadInts } from '../test/selftests/helpers.ts';
it('fp', () => {
  for (const dev of [0, 2]) {
  const m = new Machine({ kernel: '6.12' });
  const p = m.spawn();
  const fd = p.device(dev);
  const a = p.mmap(64, 'file_private', 'rw');
  cpuWriteInts(p, a, 64, iota);
  const r = fd.migrateToDevice(a, 64);
  console.log(dev, r.ret, r.cpages, mismatch(ints(r.data), iota), fd.snapshot(a, 4).perm);
  console.log(mismatch(cpuReadInts(p, a, 64), iota));
  p.munmap(a, 64);
  p.exit();
  }
});
