// One linter for the whole repository: typescript-eslint's recommended rules plus the rules that
// keep the rooms clean (docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'net',
  'http',
  'https',
  'url',
  'util',
  'stream',
  'worker_threads',
  'process',
  'timers',
];
const noNodeBuiltins = {
  patterns: [
    {
      group: nodeBuiltins.flatMap((m) => [m, `node:${m}`, `${m}/*`, `node:${m}/*`]),
      message: 'Deterministic code (plan/, workflows/) may not use Node built-ins.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.venv/**',
      '**/.tmp/**',
      '.switchyard/**',
      'dsl/generated/**',
      'vscode-extension/dist/**',
      'coverage/**',
      '**/*.js',
      '!eslint.config.js',
      '!bin/*.js',
      '!bench/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['plan/**/*.ts', 'workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', noNodeBuiltins],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process in deterministic code.' },
        { name: 'setTimeout', message: 'Use workflow sleep.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'No clock in deterministic code.' },
        { object: 'Math', property: 'random', message: 'No randomness in deterministic code.' },
      ],
    },
  },
  {
    files: ['bin/*.js', 'bench/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
