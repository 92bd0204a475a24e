// Vitest global setup: makes sure the distributed-sweep tests (test/sweep/redis.test.ts) have a
// real Redis, so `npm ci && npm test` needs nothing installed by hand. Debian's redis-server when
// it is there (.ci/run installs it too); otherwise it is installed with apt-get where this runs
// as root with apt (as on this project's machines). Only where neither works do those tests skip,
// and this says so on stderr instead of passing silently.
import { spawnSync } from 'node:child_process';

function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export default function setup(): void {
  if (haveRedis()) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (root && apt) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: 'ignore', env, timeout: 300_000 });
  }
  if (!haveRedis()) {
    process.stderr.write('test/redis-setup.ts: redis-server is missing and could not be installed (needs root and apt-get): the BullMQ tests in test/sweep/redis.test.ts are skipped\n');
  }
}
