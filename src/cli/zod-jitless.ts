// Imported first by the commands that validate input (run.ts), before any module that parses
// with zod is evaluated. A CLI process validates each file once; zod's default compiles a
// parser for every object schema on its first parse (new Function, zod/v4/core/doc.ts), which
// costs more than that one parse saves (about 40 ms of `hetmem run`'s fixed cost, bench/README.md
// CLI start-up). Jitless parsing accepts and rejects the same input with the same issues.
import { z } from 'zod';

z.config({ jitless: true });
