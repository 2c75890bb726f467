/**
 * The VS Code extension as shipped: `npm run package`'s build (esbuild bundles + vsce 3.9.2,
 * offline) makes vscode-extension/switchyard-<version>.vsix holding the bundles, the grammar, the
 * icons and the docs, no node_modules, and small. The bundled server starts and answers over stdio.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { URI } from 'langium';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildExtension,
  extensionDir,
  extensionVersion,
  packageExtension,
  root,
} from '../../scripts/build-extension.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { LspClient } from '../lsp/lsp-client.js';

interface ZipEntry {
  name: string;
  size: number;
  read(): Buffer;
}

/** The entries of a zip file, from its central directory. */
function readZip(file: string): ZipEntry[] {
  const zip = fs.readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressed = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extra = zip.readUInt16LE(offset + 30);
    const comment = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.push({
      name,
      size,
      read: () => {
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const data = zip.subarray(start, start + compressed);
        return method === 8 ? zlib.inflateRawSync(data) : data;
      },
    });
    offset += 46 + nameLength + extra + comment;
  }
  return entries;
}

let vsix: string;
let entries: ZipEntry[];

beforeAll(async () => {
  // The TextMate grammar is generated from the Langium grammar (npm run build / package run it).
  if (!fs.existsSync(path.join(extensionDir, 'syntaxes', 'policy.tmLanguage.json'))) {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'langium-cli', 'bin', 'langium.js'), 'generate'],
      {
        cwd: root,
        stdio: 'ignore',
      },
    );
  }
  await buildExtension();
  vsix = packageExtension();
  entries = readZip(vsix);
}, 120_000);

describe('the .vsix', () => {
  it('is named after the manifest version', () => {
    expect(path.basename(vsix)).toBe(`switchyard-${extensionVersion()}.vsix`);
  });

  it('holds the bundles, grammar, language configuration, icons and docs, and nothing else', () => {
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        '[Content_Types].xml',
        'extension.vsixmanifest',
        'extension/LICENSE.txt',
        'extension/changelog.md',
        'extension/dist/extension.cjs',
        'extension/dist/plan/plan.schema.json',
        'extension/dist/server.cjs',
        'extension/dist/webview.js',
        'extension/images/icon.png',
        'extension/images/icon.svg',
        'extension/images/policy-file.svg',
        'extension/language-configuration.json',
        'extension/media/diagram.css',
        'extension/package.json',
        'extension/readme.md',
        'extension/syntaxes/policy.tmLanguage.json',
      ].sort(),
    );
    expect(entries.some((e) => e.name.includes('node_modules'))).toBe(false);
  });

  it('stays small', () => {
    const size = fs.statSync(vsix).size;
    // Graphviz (WebAssembly) is most of the server bundle.
    expect(size).toBeLessThan(1_500_000);
    expect(entries.reduce((total, e) => total + e.size, 0)).toBeLessThan(3_000_000);
  });

  it('declares the language, grammar, icon and commands', () => {
    const manifest = JSON.parse(
      entries
        .find((e) => e.name === 'extension/package.json')!
        .read()
        .toString('utf8'),
    );
    expect(manifest.engines.vscode).toBe('^1.82.0');
    expect(manifest.main).toBe('./dist/extension.cjs');
    expect(manifest.contributes.languages[0]).toMatchObject({
      id: 'switchyard-policy',
      extensions: ['.policy'],
    });
    expect(manifest.contributes.languages[0].icon.light).toBe('./images/policy-file.svg');
    expect(manifest.contributes.grammars[0].path).toBe('./syntaxes/policy.tmLanguage.json');
    expect(manifest.contributes.commands.map((c: { title: string }) => c.title)).toEqual([
      'Check Workspace',
      'Compile Policy to Plan',
      'Explain the Request of the Test Under the Cursor',
      "Run the File's Tests",
      'Show Policy Diagram',
    ]);
    const grammar = JSON.parse(
      entries
        .find((e) => e.name === 'extension/syntaxes/policy.tmLanguage.json')!
        .read()
        .toString('utf8'),
    );
    expect(grammar.scopeName).toBe(manifest.contributes.grammars[0].scopeName);
    const configuration = JSON.parse(
      entries
        .find((e) => e.name === 'extension/language-configuration.json')!
        .read()
        .toString('utf8'),
    );
    expect(configuration.comments).toEqual({ lineComment: '//', blockComment: ['/*', '*/'] });
  });

  it('bundles the extension host side as CommonJS with vscode left external', () => {
    const extension = entries
      .find((e) => e.name === 'extension/dist/extension.cjs')!
      .read()
      .toString('utf8');
    expect(extension).toMatch(/require\("vscode"\)/);
    expect(extension).not.toMatch(/^import /m);
  });

  it('ships a language server bundle that runs on its own', async () => {
    const dir = path.join(root, 'test', '.tmp', 'vsix-server');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const server = path.join(dir, 'server.cjs');
    fs.writeFileSync(server, entries.find((e) => e.name === 'extension/dist/server.cjs')!.read());
    const text = 'policy p {\n  route r when true {\n    use nowhere\n  }\n}\n';
    fs.writeFileSync(path.join(dir, 'p.policy'), text);
    const client = new LspClient({ command: [process.execPath, server, '--stdio'], root: dir });
    try {
      await client.initialize();
      const uri = URI.file(path.join(dir, 'p.policy')).toString();
      await client.open(uri, text);
      const diagnostics = await client.diagnosticsFor(uri, (d) => d.length > 0);
      expect(diagnostics.map((d) => d.code)).toContain(IssueCodes.UnknownReference);
    } finally {
      await client.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
