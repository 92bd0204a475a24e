import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// The layer rule (eslint.config.js) forbids imports upward between layers; this test forbids
// cycles inside a layer too (mm/mm.ts ↔ system.ts used to be one), so every module can be loaded
// and tested with only what it names below it. Type-only imports are erased at compile time and
// cannot form a load-order cycle, so they are left out; dynamic `import()` (the CLI's lazy
// commands) is too.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Static value imports (and re-exports) of one file, as normalized absolute paths. */
function valueImports(file: string, text: string): string[] {
  const deps: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'(\.[^']+)'/gms)) {
    deps.push(normalize(join(dirname(file), m[1])));
  }
  for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) deps.push(normalize(join(dirname(file), m[1])));
  return deps;
}

/** Strongly connected components of more than one file (Tarjan), each a list of paths. */
function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('import cycles in src/', () => {
  it('finds a cycle when there is one (the checker itself)', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c']]);
    expect(valueImports('/x/a.ts', "import type { T } from './t.ts';\nimport {\n  f,\n} from './f.ts';\nexport { g } from '../g.ts';")).toEqual(['/x/f.ts', '/g.ts']);
  });

  it('has none: every module loads with only what it imports', () => {
    const graph = new Map<string, string[]>();
    for (const f of sourceFiles(SRC)) graph.set(f, valueImports(f, readFileSync(f, 'utf8')));
    expect(graph.size).toBeGreaterThan(100);
    const cycles = importCycles(graph).map((c) => c.map((f) => relative(ROOT, f)).join(' ↔ '));
    expect(cycles).toEqual([]);
  });
});
