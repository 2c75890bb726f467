// Bundles the CLI into dist/bundle/ (ESM, code-split so each command loads only what it needs).
// Node resolves ~300 separate modules of Langium and its friends in ~0.45 s; one bundle loads in
// a fraction of that, which is most of `switchyard check`'s wall time on small workspaces.
import * as fs from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: start empty so stale chunks do not pile up.
fs.rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: { switchyard: 'dist/cli/main.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  logLevel: 'warning',
  // Native modules, Temporal (its worker bundles workflow code itself) and model runtimes stay
  // in node_modules.
  external: [
    'better-sqlite3',
    'pg',
    'node-llama-cpp',
    '@node-llama-cpp/*',
    '@temporalio/*',
    '@swc/*',
    'playwright-core',
  ],
  // vscode-jsonrpc and friends are CommonJS and call require().
  banner: {
    js: "import { createRequire as __syCreateRequire } from 'node:module'; const require = __syCreateRequire(import.meta.url);",
  },
});
