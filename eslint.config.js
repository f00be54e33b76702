import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: it must not reach Node built-ins or
// the activities' runtime code (types are fine), and a floating promise there is a lost step.
const NODE_BUILTINS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'url',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'examples/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'common/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: NODE_BUILTINS,
              message: 'Workflow code runs in a sandbox without Node built-ins.',
            },
            {
              group: [
                '../activities/*',
                '../activities/**',
                '@temporalio/activity',
                '@temporalio/worker',
              ],
              allowTypeImports: true,
              message: 'Workflow code may import activity types only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Command-line entry points and the demo talk to a terminal.
    files: [
      'client/cli/**/*.ts',
      'demo/**/*.ts',
      'worker/bundle-workflows.ts',
      'test/registry/main.ts',
    ],
    rules: { 'no-console': 'off' },
  },
  {
    // node:test's describe() and test() return promises the runner itself awaits.
    files: ['test/**/*.test.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  }
);
