// Lint: typescript-eslint's recommended rules plus the layer rule. Each folder under src/ is a
// layer; a layer may import only from layers listed before it. That keeps the byte-exact core
// (mm, hmm) free of timing, tools and I/O, and lets any layer be tested without the ones above.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export const LAYERS = [
  'units', 'engine', 'mm', 'hmm', 'topology', 'policy', 'devices', 'api', 'sim', 'workloads',
  'hmmtrace', 'oracle', 'scenario', 'report', 'faultbench', 'validate', 'sweep', 'view', 'cli',
];

const layerRules = LAYERS.map((layer, i) => {
  const above = LAYERS.slice(i + 1);
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: above.flatMap((up) => [
          { group: [`**/${up}/*`, `**/${up}`], message: `layer '${layer}' must not import from higher layer '${up}'` },
        ]).concat([{ group: ['**/index.ts', '**/index.js'], message: 'import the module, not the public barrel' }]),
      }],
    },
  };
});

// Model code must be deterministic: no wall clock, no unseeded randomness. The sweep layer reads
// the clock for progress, ETAs and Redis timeouts only; its points run the model as it is.
const determinism = {
  files: LAYERS.filter((l) => !['cli', 'report', 'view', 'sweep'].includes(l)).map((l) => `src/${l}/**/*.ts`),
  rules: {
    'no-restricted-properties': ['error',
      { object: 'Math', property: 'random', message: 'use a seeded stream from engine/rng' },
      { object: 'Date', property: 'now', message: 'model time comes from the engine clock' },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'dist.tmp/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layerRules,
  determinism,
);
