/**
 * The room table of docs/architecture.md is enforced by eslint.config.js: the two list the same
 * imports for every room, and the rules bite — an import a room may not make is a lint error that
 * names docs/architecture.md, one it may make is not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/provider-server.js';

interface Room {
  imports: string[];
  packages?: string[];
}

async function lintRooms(): Promise<Record<string, Room>> {
  const config = pathToFileURL(path.join(PROJECT_ROOT, 'eslint.config.js')).href;
  return ((await import(config)) as { ROOMS: Record<string, Room> }).ROOMS;
}

/** Each room's row of the "Rooms" table: what its "may import" cell names, before any "never". */
function documentedRooms(): Map<string, { imports: Set<string>; packages: Set<string> }> {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/architecture.md'), 'utf8');
  const table = text.slice(text.indexOf('## Rooms'), text.indexOf('### Inside `dsl/`'));
  const rooms = new Map<string, { imports: Set<string>; packages: Set<string> }>();
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const room = /^`([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!room) continue;
    const imports = new Set<string>();
    const packages = new Set<string>();
    let folder = '';
    for (const [, token] of (cells[3] ?? '').split(/\bnever\b/)[0]!.matchAll(/`([^`]+)`/g)) {
      if (token!.startsWith('@')) packages.add(token!);
      else if (token!.endsWith('/')) {
        folder = token!.slice(0, -1);
        if (folder !== room) imports.add(folder);
      } else if (token!.endsWith('.ts')) {
        // `plan/`'s pure helpers: `canonical.ts`, … — files of the folder named before them.
        const file = token!.includes('/') ? token! : `${folder}/${token}`;
        imports.delete(file.split('/')[0]!);
        imports.add(file.replace(/\.ts$/, '.js'));
      }
    }
    rooms.set(room, { imports, packages });
  }
  return rooms;
}

describe('the rooms of docs/architecture.md', () => {
  it('are the rooms eslint.config.js checks, with the same imports and packages', async () => {
    const linted = await lintRooms();
    const documented = documentedRooms();
    expect([...documented.keys()].filter((room) => room in linted).sort()).toEqual(
      Object.keys(linted).sort(),
    );
    for (const [room, rule] of Object.entries(linted)) {
      const doc = documented.get(room)!;
      expect({ room, imports: [...doc.imports].sort() }).toEqual({ room, imports: [...rule.imports].sort() });
      if (rule.packages) {
        expect({ room, packages: [...doc.packages].sort() }).toEqual({
          room,
          packages: [...rule.packages].sort(),
        });
      }
    }
  });

  it('are enforced: an import a room may not make fails lint, naming the table', async () => {
    const eslint = new ESLint({
      cwd: PROJECT_ROOT,
      // Probe files do not exist: lint them without type information.
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false } },
        rules: {
          '@typescript-eslint/no-floating-promises': 'off',
          '@typescript-eslint/no-unused-vars': 'off',
        },
      },
    });
    const cases: [file: string, specifier: string, allowed: boolean][] = [
      ['plan/probe.ts', './types.js', true],
      ['plan/probe.ts', '../store/index.js', false],
      ['plan/probe.ts', 'node:fs', false],
      ['plan/probe.ts', 'ajv', false],
      ['store/probe.ts', '../plan/canonical.js', true],
      ['store/probe.ts', '../plan/evaluator.js', false],
      ['contract/probe.ts', '../plan/index.js', true],
      ['contract/probe.ts', '../store/index.js', false],
      ['workflows/probe.ts', '../contract/index.js', true],
      ['workflows/probe.ts', '@temporalio/workflow', true],
      ['workflows/probe.ts', '../activities/index.js', false],
      ['workflows/probe.ts', '@temporalio/client', false],
      ['client/probe.ts', '../contract/index.js', true],
      ['client/probe.ts', '../workflows/request.js', false],
      ['frontdoor/probe.ts', '../worker/registry.js', true],
      ['frontdoor/probe.ts', '../worker/worker.js', false],
      ['frontdoor/probe.ts', '../workflows/index.js', false],
      ['activities/providers/probe.ts', '../../store/types.js', true],
      ['activities/providers/probe.ts', '../../../elsewhere.js', false],
      ['dsl/lsp/probe.ts', '../../plan/index.js', true],
      ['dsl/lsp/probe.ts', '../../store/index.js', false],
      ['language-server/probe.ts', '../dsl/lsp/module.js', true],
      ['language-server/probe.ts', '../worker/config.js', false],
      ['cli/commands/probe.ts', '../../workflows/index.js', true],
    ];
    const verdicts = [];
    for (const [file, specifier] of cases) {
      const [result] = await eslint.lintText(`import '${specifier}';\n`, {
        filePath: path.join(PROJECT_ROOT, file),
      });
      const refusals = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      for (const m of refusals) expect(m.message).toContain('docs/architecture.md');
      verdicts.push([file, specifier, refusals.length === 0]);
    }
    expect(verdicts).toEqual(cases);
  });
});
