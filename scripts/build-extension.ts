/**
 * Builds the VS Code extension's bundles with esbuild, and with `--package` packs the `.vsix` with
 * @vscode/vsce (offline: nothing is fetched, `vsce.dependencies` is false because everything is
 * bundled).
 *
 * - dist/extension.cjs: the extension host side (CommonJS, `vscode` external);
 * - dist/server.cjs: the language server (language-server/server.ts and dsl/, CommonJS);
 * - dist/webview.js: the diagram webview's script (browser, IIFE);
 * - dist/plan/plan.schema.json: the plan schema, which dsl/compiler reads beside its code.
 *
 * `npm run package` runs `langium generate` first: it writes the TextMate grammar into
 * vscode-extension/syntaxes/.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const extensionDir = path.join(root, 'vscode-extension');
const dist = path.join(extensionDir, 'dist');

/**
 * dsl/compiler/validate-plan.ts finds the schema at `../../plan/plan.schema.json` from its own
 * URL; in the bundle that URL is made to point two folders below dist/, so the path lands on
 * dist/plan/plan.schema.json.
 */
const importMetaBanner =
  "var __switchyard_import_meta_url = require('url').pathToFileURL(require('path').join(__dirname, 'bundle', 'lib', 'index.js')).href;";

export interface BuildOptions {
  /** @default true */
  minify?: boolean;
}

/** The diagram page's script alone (tests build it into their own folder). */
export async function buildWebview(outfile: string, minify = false): Promise<void> {
  await esbuild.build({
    entryPoints: [path.join(extensionDir, 'src', 'webview', 'diagram.ts')],
    outfile,
    bundle: true,
    minify,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

export async function buildExtension(options: BuildOptions = {}): Promise<void> {
  const minify = options.minify ?? true;
  fs.mkdirSync(path.join(dist, 'plan'), { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
  };
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [path.join(extensionDir, 'src', 'extension.ts')],
      outfile: path.join(dist, 'extension.cjs'),
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      external: ['vscode'],
    }),
    esbuild.build({
      ...common,
      entryPoints: [path.join(root, 'language-server', 'server.ts')],
      outfile: path.join(dist, 'server.cjs'),
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      banner: { js: importMetaBanner },
      define: { 'import.meta.url': '__switchyard_import_meta_url' },
    }),
    buildWebview(path.join(dist, 'webview.js'), minify),
  ]);
  fs.copyFileSync(path.join(root, 'plan', 'plan.schema.json'), path.join(dist, 'plan', 'plan.schema.json'));
}

/** The manifest's version: the `.vsix` is `switchyard-<version>.vsix`. */
export function extensionVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** Packs vscode-extension/ into vscode-extension/switchyard-<version>.vsix and returns its path. */
export function packageExtension(): string {
  const grammar = path.join(extensionDir, 'syntaxes', 'policy.tmLanguage.json');
  if (!fs.existsSync(grammar))
    throw new Error(`${grammar} is missing: run 'langium generate' (npm run package does)`);
  const out = path.join(extensionDir, `switchyard-${extensionVersion()}.vsix`);
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  try {
    execFileSync(
      process.execPath,
      [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--out', out],
      {
        cwd: extensionDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    const failure = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `vsce package failed:\n${failure.stdout?.toString() ?? ''}${failure.stderr?.toString() ?? ''}`,
    );
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildExtension();
  console.log(`built vscode-extension/dist in ${Date.now() - started} ms`);
  if (process.argv.includes('--package')) {
    const vsix = packageExtension();
    console.log(`packaged ${path.relative(root, vsix)} (${Math.round(fs.statSync(vsix).size / 1024)} KiB)`);
  }
}
