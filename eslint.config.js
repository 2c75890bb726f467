// One linter for the whole repository: typescript-eslint's recommended rules plus the rules that
// keep the rooms clean (docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The rooms and what each may import: the table of docs/architecture.md ("Rooms"), enforced. For
 * each room, `imports` lists the other rooms (or single files) its relative imports may reach, and
 * `packages`, when present, the only packages it may import. Rooms not listed here (cli/, test/,
 * bench/, scripts/) may import anything.
 */
export const ROOMS = {
  // plan/ and workflows/ run in Temporal's workflow sandbox: no Node built-ins, no other packages.
  plan: { imports: [], packages: [] },
  contract: { imports: ['plan'], packages: ['@temporalio/common'] },
  dsl: { imports: ['plan'] },
  workflows: { imports: ['plan', 'contract'], packages: ['@temporalio/workflow'] },
  activities: { imports: ['plan', 'contract', 'store', 'operations'] },
  store: { imports: ['plan/canonical.js', 'plan/windows.js', 'plan/money.js'] },
  client: { imports: ['plan', 'contract'] },
  worker: { imports: ['plan', 'dsl', 'contract', 'workflows', 'activities', 'store', 'operations'] },
  frontdoor: {
    imports: [
      'plan',
      'contract',
      'activities',
      'store',
      'client',
      'operations',
      'worker/config.js',
      'worker/registry.js',
    ],
  },
  // Metrics and alerts: read plans' types, the contract and the store; imported by the executing rooms.
  operations: { imports: ['plan', 'contract', 'store'] },
  // store/ for the route hover's recent traffic (read only, loaded on first use).
  'language-server': { imports: ['dsl', 'plan', 'store'] },
  'vscode-extension': { imports: ['language-server/protocol.js'] },
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `no-restricted-imports` for the files of `room` that sit `depth` folders below the repository
 * root: a relative import that climbs `depth` levels has left the room, and may only go on into
 * the rooms it may import.
 */
function roomRule(room, { imports, packages }, depth) {
  const up = `(\\.\\./){${depth}}`;
  const allowed = [room, ...imports].map((target) =>
    target.endsWith('.js') ? `${escape(target)}$` : `${escape(target)}(/|$)`,
  );
  const patterns = [
    {
      regex: `^${up}(?!(${allowed.join('|')}))`,
      message:
        `${room}/ may import ${imports.length ? imports.map((t) => (t.endsWith('.js') ? t : `${t}/`)).join(', ') : 'nothing outside itself'} ` +
        '(docs/architecture.md, "Rooms").',
    },
  ];
  if (packages) {
    const only = packages.map((name) => `${escape(name)}$`).join('|');
    patterns.push({
      regex: only ? `^(?!\\.|${only})` : '^(?!\\.)',
      message:
        `${room}/ may import ${only ? `no package but ${packages.join(', ')}` : 'no package'}, ` +
        'and no Node built-in (docs/architecture.md, "Rooms").',
    });
  }
  return {
    files: [`${room}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

const roomRules = Object.entries(ROOMS).flatMap(([room, spec]) =>
  [1, 2, 3, 4].map((depth) => roomRule(room, spec, depth)),
);

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
  ...roomRules,
  {
    files: ['bin/*.js', 'bench/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
