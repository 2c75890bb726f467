/**
 * Guards (docs/language.md §4.4): `before` guards rewrite or refuse what is sent (`redact`,
 * `block`, `max-input`); `after` guards check answers (`schema`, `block`) and cannot target
 * `external`. Schemas are JSON files relative to the policy file; patterns are JavaScript regular
 * expressions.
 */
import { AstUtils, EmptyFileSystemProvider, UriUtils, type ValidationChecks } from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import { IssueCodes } from './issue-codes.js';

/** `/BEGIN [A-Z ]*PRIVATE KEY/i` → the engine's error for it, or undefined when it compiles. */
export function regexError(literal: string): string | undefined {
  const slash = literal.lastIndexOf('/');
  if (!literal.startsWith('/') || slash <= 0) return 'not a /pattern/flags literal';
  try {
    new RegExp(literal.slice(1, slash), literal.slice(slash + 1));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function guardChecks(services: SwitchyardServices): ValidationChecks<SwitchyardAstType> {
  const fileSystem = services.shared.workspace.FileSystemProvider;
  return {
    Guard: (guard, accept) => {
      if (guard.phase === 'after' && guard.target?.kind === 'external') {
        accept(
          'error',
          `guard '${guard.name}': after external is not allowed (an answer comes from one model): use after all, route R or model M`,
          {
            node: guard.target,
            property: 'kind',
            code: IssueCodes.AfterExternal,
            data: { code: IssueCodes.AfterExternal, guard: guard.name },
          },
        );
      }
      for (const item of guard.items) {
        let message: string | undefined;
        if (guard.phase === 'after' && (item.$type === 'Redact' || item.$type === 'MaxInput')) {
          const word = item.$type === 'Redact' ? 'redact' : 'max-input';
          message = `${word} applies to what is sent: it belongs in a before guard, and guard '${guard.name}' runs after`;
        } else if (guard.phase === 'before' && item.$type === 'SchemaCheck') {
          message = `schema checks an answer: it belongs in an after guard, and guard '${guard.name}' runs before`;
        }
        if (!message) continue;
        accept('error', message, {
          node: item,
          code: IssueCodes.GuardItemPhase,
          data: { code: IssueCodes.GuardItemPhase, guard: guard.name, phase: guard.phase, item: item.$type },
        });
      }
    },
    Block: (block, accept) => {
      if (typeof block.pattern !== 'string') return;
      const error = regexError(block.pattern);
      if (!error) return;
      accept('error', `${block.pattern} is not a valid JavaScript regular expression: ${error}`, {
        node: block,
        property: 'pattern',
        code: IssueCodes.InvalidRegex,
        data: { code: IssueCodes.InvalidRegex, pattern: block.pattern, error },
      });
    },
    SchemaCheck: (schema, accept) => {
      if (typeof schema.path !== 'string') return;
      // Without a file system (the browser) there is nothing to check.
      if (fileSystem instanceof EmptyFileSystemProvider) return;
      const document = AstUtils.getDocument(schema);
      const uri = UriUtils.resolvePath(UriUtils.dirname(document.uri), schema.path);
      let text: string;
      try {
        text = fileSystem.readFileSync(uri);
      } catch {
        accept(
          'error',
          `schema file "${schema.path}" not found (looked for ${uri.fsPath}); paths are relative to this file`,
          {
            node: schema,
            property: 'path',
            code: IssueCodes.SchemaNotFound,
            data: { code: IssueCodes.SchemaNotFound, path: schema.path, resolved: uri.toString() },
          },
        );
        return;
      }
      let problem: string | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (
          typeof parsed !== 'boolean' &&
          (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        ) {
          problem = 'a JSON Schema is an object (or true/false)';
        }
      } catch (error) {
        problem = (error as Error).message;
      }
      if (!problem) return;
      accept('error', `schema file "${schema.path}" is not a JSON Schema: ${problem}`, {
        node: schema,
        property: 'path',
        code: IssueCodes.SchemaNotJson,
        data: { code: IssueCodes.SchemaNotJson, path: schema.path },
      });
    },
  };
}
