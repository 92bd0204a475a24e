// A pool child: runs the points its parent sends, one at a time, and answers each with its
// result or its one-line error. It leaves when its parent goes (a killed worker's children do not
// linger).
import { runPoint } from './point.ts';
import { oneLine } from './errors.ts';
import type { PointPayload } from './load.ts';

process.on('disconnect', () => process.exit(0));
process.on('message', (p: PointPayload) => {
  runPoint(p).then(
    (r) => process.send?.({ ok: true, result: r }),
    (e: unknown) => process.send?.({ ok: false, key: p.key, error: oneLine(e) }),
  );
});
process.send?.({ ready: true });
