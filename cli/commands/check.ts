import { loadWorkspace } from '../../dsl/workspace.js';
import { parse } from '../args.js';
import { fromDiagnostic, formatLocated, type Located } from '../output.js';
import type { CommandResult } from '../result.js';

export const checkUsage = `usage: switchyard check FILE|DIR… [--format text|json] [--no-frame]

Parses, links and validates policy files and everything they import.
Prints one line per problem: file:line:col: error|warning CODE message.
Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage.`;

/** Loads and validates; returns every diagnostic, sorted by file and position. */
export async function diagnose(
  files: string[],
): Promise<{ items: Located[]; texts: Map<string, string>; fileCount: number }> {
  const workspace = await loadWorkspace(files);
  const items: Located[] = [];
  const texts = new Map<string, string>();
  for (const document of workspace.documents) {
    texts.set(document.uri.fsPath, document.textDocument.getText());
    for (const diagnostic of document.diagnostics ?? []) items.push(fromDiagnostic(document, diagnostic));
  }
  items.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { items, texts, fileCount: workspace.documents.length };
}

export function summary(items: Located[], fileCount: number): string {
  const errors = items.filter((d) => d.severity === 'error').length;
  const warnings = items.filter((d) => d.severity === 'warning').length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(fileCount, 'file')}`;
}

export async function check(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { format: { type: 'string' }, 'no-frame': { type: 'boolean' } },
    checkUsage,
  );
  if (values.help) return { stdout: checkUsage, exitCode: 0 };
  if (positionals.length === 0) return { usage: `switchyard check needs at least one FILE\n${checkUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json')
    return { usage: `--format must be text or json, not '${format}'` };

  const { items, texts, fileCount } = await diagnose(positionals);
  const hasErrors = items.some((d) => d.severity === 'error');
  if (format === 'json') {
    return {
      stdout: JSON.stringify({ files: fileCount, diagnostics: items }, null, 2),
      exitCode: hasErrors ? 1 : 0,
    };
  }
  const lines = items.map((item) => formatLocated(item, texts.get(item.file), !values['no-frame']));
  lines.push(summary(items, fileCount));
  return { stdout: lines.join('\n'), exitCode: hasErrors ? 1 : 0 };
}
