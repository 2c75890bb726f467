import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IssueSeverities, type IssueCode } from '../../dsl/validation/issue-codes.js';
import { loadWorkspace } from '../../dsl/workspace.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const GOOD = path.join(FIXTURES, 'good');
export const BAD = path.join(FIXTURES, 'bad');

export interface Diag {
  /** Path relative to the fixtures directory of the load (good/ or bad/). */
  file: string;
  code: string;
  severity: 'error' | 'warning' | 'info' | 'hint';
  /** 1-based. */
  line: number;
  column: number;
  message: string;
  data: Record<string, unknown>;
}

const SEVERITIES = ['error', 'error', 'warning', 'info', 'hint'] as const;

/** Loads files (following imports) and returns every diagnostic, sorted by file and position. */
export async function diagnose(inputs: string[], texts?: Map<string, string>, base = GOOD): Promise<Diag[]> {
  const workspace = await loadWorkspace(inputs, { texts });
  const out: Diag[] = [];
  for (const document of workspace.documents) {
    for (const d of document.diagnostics ?? []) {
      out.push({
        file: path.relative(base, document.uri.fsPath),
        code: String(d.code),
        severity: SEVERITIES[d.severity ?? 1],
        line: d.range.start.line + 1,
        column: d.range.start.character + 1,
        message: d.message,
        data: (d.data ?? {}) as Record<string, unknown>,
      });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/**
 * Diagnostics of in-memory files (all loaded, with what they import), named relative to the good
 * fixtures so that `schemas/…` and `catalog.policy` resolve to real files.
 */
export async function diagnoseText(files: Record<string, string>): Promise<Diag[]> {
  const texts = new Map(Object.entries(files).map(([name, text]) => [path.join(GOOD, name), text]));
  return diagnose([...texts.keys()], texts);
}

/** `SY053-unreachable-route at 7:9`, the form of fixture markers. */
export function at(d: Pick<Diag, 'code' | 'line' | 'column'>): string {
  return `${d.code} at ${d.line}:${d.column}`;
}

export function severityOf(code: string): string | undefined {
  return IssueSeverities[code as IssueCode];
}

export function codes(diags: Diag[]): string[] {
  return diags.map((d) => d.code);
}
