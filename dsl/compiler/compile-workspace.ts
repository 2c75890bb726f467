import type { Diagnostic } from 'vscode-languageserver-types';
import type { Plan } from '../../plan/types.js';
import type { LoadedWorkspace } from '../workspace.js';
import { compilePolicy } from './compile.js';
import { type CompileError, CompileFailure } from './errors.js';

export interface CompiledWorkspace {
  /** One plan per policy of every loaded document, by policy name. */
  plans: Map<string, Plan>;
  /** Error diagnostics of the workspace (nothing is compiled then), or the compile errors. */
  errors: CompileError[];
}

/**
 * Compiles every policy of a loaded workspace. Refuses (no plans) when any loaded document has an
 * error: a lexer, parser, linker or validation error, returned as compile errors.
 */
export function compileWorkspace(ws: LoadedWorkspace): CompiledWorkspace {
  const plans = new Map<string, Plan>();
  const errors = ws.documents.flatMap((document) => {
    const file = document.uri.fsPath;
    if (document.diagnostics) {
      return document.diagnostics.filter((d) => (d.severity ?? 1) === 1).map((d) => fromDiagnostic(file, d));
    }
    // Built without validation: at least refuse what does not parse.
    const { lexerErrors, parserErrors } = document.parseResult;
    return [
      ...lexerErrors.map((e) => ({
        code: 'E-SYNTAX',
        message: e.message,
        file,
        line: e.line ?? 1,
        column: e.column ?? 1,
      })),
      ...parserErrors.map((e) => ({
        code: 'E-SYNTAX',
        message: e.message,
        file,
        line: Number.isNaN(e.token.startLine) ? 1 : (e.token.startLine ?? 1),
        column: Number.isNaN(e.token.startColumn) ? 1 : (e.token.startColumn ?? 1),
      })),
    ];
  });
  if (errors.length > 0) return { plans, errors };

  for (const document of ws.documents) {
    for (const policy of document.parseResult.value.policies) {
      if (plans.has(policy.name)) continue; // a duplicate name is a validation error
      try {
        plans.set(policy.name, compilePolicy(policy, { entryFile: document.uri.fsPath }));
      } catch (error) {
        if (!(error instanceof CompileFailure)) throw error;
        errors.push(...error.errors);
      }
    }
  }
  return { plans, errors };
}

function fromDiagnostic(file: string, diagnostic: Diagnostic): CompileError {
  const data = diagnostic.data as { code?: unknown } | undefined;
  const code = diagnostic.code ?? (typeof data?.code === 'string' ? data.code : undefined) ?? 'E-SOURCE';
  return {
    code: String(code),
    message: diagnostic.message,
    file,
    line: diagnostic.range.start.line + 1,
    column: diagnostic.range.start.character + 1,
  };
}
