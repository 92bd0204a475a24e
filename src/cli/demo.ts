import { runTrace } from '../hmmtrace/runner.ts';

/** A short tour of the byte-exact core, printed by `npm start` until scenarios exist. */
export function demo(): string {
  const script = [
    'mmap A 4 anon rw', 'cpu_write A 0 0x11', 'cpu_write A 1 0x22', 'dev_read 0 A 0 4',
    'migrate_to_dev 0 A 0 2', 'snapshot 0 A 0 4', 'snapshot 1 A 0 4', 'cpu_read A 0',
    'snapshot 0 A 0 4', 'fork_write_child A 1 0x66', 'cpu_read A 1', 'exclusive 0 A 2 2',
    'check_exclusive 0 A 2 2', 'cpu_read A 2', 'check_exclusive 0 A 2 2',
  ].join('\n');
  return 'hetmem: replaying a short op script on the Linux 6.1 mm + HMM model\n\n' + runTrace(script).lines.join('\n') + '\n';
}
