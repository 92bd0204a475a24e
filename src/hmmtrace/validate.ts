import { readFileSync } from 'node:fs';
import type { KernelVersion } from '../mm/kernel.ts';
import { validateTrace, TraceSyntaxError } from './runner.ts';

export { TraceSyntaxError };

/**
 * Strictly validates one op script file on the machine it will run on (`nodes`, `kernel`);
 * throws TraceSyntaxError with `FILE:LINE: ...`, or `FILE: ...` when it cannot be read.
 */
export function validateTraceFile(path: string, opts: { nodes?: number; kernel?: KernelVersion } = {}): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new TraceSyntaxError(`${path}: cannot read the op script: ${why}`);
  }
  validateTrace(text, path, opts);
}
