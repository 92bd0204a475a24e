import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = join(here, '..');
/** ../shared/hmmtrace/traces beside the checkout (CI clones with shared/ next to main). */
export const SHARED_TRACES = process.env.HETMEM_SHARED_TRACES ?? join(ROOT, '..', 'shared', 'hmmtrace', 'traces');
/** ../shared/hmmtrace/traces-6.12: the same public scripts with the outputs Linux 6.12 printed. */
export const SHARED_TRACES_612 = process.env.HETMEM_SHARED_TRACES_612 ?? join(ROOT, '..', 'shared', 'hmmtrace', 'traces-6.12');
