import { readFileSync } from 'node:fs';
import { validateTrace, TraceSyntaxError } from './runner.ts';

export { TraceSyntaxError };

/** Strictly validates one op script file; throws TraceSyntaxError with `FILE:LINE: ...`. */
export function validateTraceFile(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new TraceSyntaxError(`${path}:0: expected a readable op script file`);
  }
  validateTrace(text, path);
}
