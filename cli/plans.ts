import type { Plan } from '../plan/types.js';
import { compileWorkspace, type CompileError } from '../dsl/compiler/index.js';
import { loadWorkspace, type LoadedWorkspace } from '../dsl/workspace.js';
import { formatLocated, fromDiagnostic, type Located } from './output.js';

export interface CompiledFiles {
  workspace: LoadedWorkspace;
  /** Plans of the policies declared in the named files (not in their imports), by name. */
  plans: Map<string, Plan>;
  /** Plans of every loaded policy, imports included, by name. */
  allPlans: Map<string, Plan>;
  /** Source texts by absolute path, for code frames. */
  texts: Map<string, string>;
  /** Errors that stopped compilation, formatted with code frames; empty when all compiled. */
  errors: string[];
  /** Warnings, formatted (printed on stderr by commands that compile). */
  warnings: string[];
}

export function formatCompileError(error: CompileError, texts: Map<string, string>): string {
  const item: Located = {
    file: error.file,
    line: error.line,
    column: error.column,
    severity: 'error',
    code: error.code,
    message: error.message,
  };
  return formatLocated(item, texts.get(error.file));
}

/** Loads, validates and compiles; a file with errors yields no plans and the errors to print. */
export async function compileFiles(files: string[]): Promise<CompiledFiles> {
  const workspace = await loadWorkspace(files);
  const texts = new Map<string, string>();
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const document of workspace.documents) {
    const text = document.textDocument.getText();
    texts.set(document.uri.fsPath, text);
    for (const diagnostic of document.diagnostics ?? []) {
      const item = fromDiagnostic(document, diagnostic);
      (item.severity === 'error' ? errors : warnings).push(formatLocated(item, text));
    }
  }
  const plans = new Map<string, Plan>();
  if (errors.length > 0) return { workspace, plans, allPlans: new Map(), texts, errors, warnings };

  const compiled = compileWorkspace(workspace);
  for (const error of compiled.errors) errors.push(formatCompileError(error, texts));
  const rootPolicies = new Set(
    workspace.roots.flatMap((doc) => doc.parseResult.value.policies.map((p) => p.name)),
  );
  for (const [name, plan] of compiled.plans) if (rootPolicies.has(name)) plans.set(name, plan);
  return { workspace, plans, allPlans: compiled.plans, texts, errors, warnings };
}
