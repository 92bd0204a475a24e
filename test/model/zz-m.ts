import { Machine } from '../../src/api/machine.ts';
let t0 = performance.now();
for (let i = 0; i < 50; i++) new Machine();
console.log('machine', (performance.now() - t0) / 50);
