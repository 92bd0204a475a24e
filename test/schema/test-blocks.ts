// Reads the `it(...)` blocks of a test file: title and body text, so that the schema coverage
// test can check that a named test exists and mentions the field it is said to exercise.
import { readFileSync } from 'node:fs';

/** One `it('title', ...)` block: its title and its source up to the end of the block. */
export interface TestBlock {
  readonly title: string;
  readonly body: string;
}

const OPEN = /^(\s*)(?:it|test)(?:\.each\([^)]*\))?\(\s*(['"`])((?:\\.|(?!\2).)*)\2/gm;

/**
 * The test blocks of `file`. A block's body runs from its `it(` to the next line at the same
 * indentation that closes it (`});` or `})`), or to the next `it(` at that indentation.
 */
export function testBlocks(file: string): TestBlock[] {
  const text = readFileSync(file, 'utf8');
  const out: TestBlock[] = [];
  for (const m of text.matchAll(OPEN)) {
    const indent = m[1].replace(/^\n+/, '');
    const start = m.index + m[0].length;
    const close = new RegExp(`\\n${indent}(?:\\}\\)|(?:it|test)\\()`, 'g');
    close.lastIndex = start;
    const end = close.exec(text)?.index ?? text.length;
    out.push({ title: m[3].replace(/\\(.)/g, '$1'), body: text.slice(start, end) });
  }
  return out;
}
