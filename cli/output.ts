import * as path from 'node:path';
import type { LangiumDocument } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-types';

export interface Located {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'info' | 'hint';
  code: string;
  message: string;
  endLine?: number;
  endColumn?: number;
}

const SEVERITY = ['error', 'error', 'warning', 'info', 'hint'] as const;

export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function fromDiagnostic(document: LangiumDocument, diagnostic: Diagnostic): Located {
  return {
    file: document.uri.fsPath,
    line: diagnostic.range.start.line + 1,
    column: diagnostic.range.start.character + 1,
    endLine: diagnostic.range.end.line + 1,
    endColumn: diagnostic.range.end.character + 1,
    severity: SEVERITY[diagnostic.severity ?? 1],
    code: diagnostic.code === undefined ? 'E000' : String(diagnostic.code),
    message: diagnostic.message,
  };
}

/** `file:line:col: error CODE message`, then the source line with the range underlined. */
export function formatLocated(item: Located, text?: string, frame = true): string {
  const head = `${displayPath(item.file)}:${item.line}:${item.column}: ${item.severity} ${item.code} ${item.message}`;
  if (!frame || text === undefined) return head;
  const lines = text.split(/\r?\n/);
  const source = lines[item.line - 1];
  if (source === undefined) return head;
  const gutter = String(item.line).length;
  const shown = source.length > 200 ? source.slice(Math.max(0, item.column - 80), item.column + 120) : source;
  const offset = source.length > 200 ? Math.max(0, item.column - 80) : 0;
  const start = item.column - 1 - offset;
  const end = item.endLine === item.line && item.endColumn ? item.endColumn - 1 - offset : shown.length;
  const width = Math.max(1, Math.min(shown.length, end) - start);
  return [
    head,
    `  ${String(item.line).padStart(gutter)} | ${shown.replace(/\t/g, ' ')}`,
    `  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, start))}${'^'.repeat(width)}`,
  ].join('\n');
}
