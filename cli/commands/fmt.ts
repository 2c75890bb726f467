import * as fs from 'node:fs';
import type { IToken } from 'chevrotain';
import type { ParseResult } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { formatSource } from '../../dsl/lsp/formatter.js';
import { createSwitchyardServices } from '../../dsl/switchyard-module.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { policyFilesIn, readPolicyFile } from '../../dsl/workspace.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { displayPath, formatLocated } from '../output.js';

export const fmtUsage = `usage: switchyard fmt FILE|DIR… [--check]

Formats policy files in place (a directory: every .policy file below it), with the formatter the
language server uses: two-space indentation, one item per line, comments kept where they are.
--check changes nothing and lists the files that are not formatted.
Exit status: 0 formatted (with --check: nothing to change), 1 a file needs formatting (--check)
or has syntax errors, 2 usage.`;

/** Where the first syntax error is (1-based) and what it says. */
function firstSyntaxError(parsed: ParseResult): { line: number; column: number; message: string } {
  const lexer = parsed.lexerErrors[0];
  if (lexer) return { line: lexer.line ?? 1, column: lexer.column ?? 1, message: lexer.message };
  const error = parsed.parserErrors[0];
  if (!error) return { line: 1, column: 1, message: 'syntax error' };
  const token = Number.isNaN(error.token.startOffset)
    ? ((error as { previousToken?: IToken }).previousToken ?? error.token)
    : error.token;
  const atEnd = token !== error.token;
  const line = token.startLine ?? 1;
  const column = (atEnd ? token.endColumn : token.startColumn) ?? 1;
  return {
    line: Number.isNaN(line) ? 1 : line,
    column: Number.isNaN(column) ? 1 : column + (atEnd ? 1 : 0),
    message: error.message,
  };
}

/** The 1-based number of the first line where two texts differ. */
function firstDifference(a: string, b: string): number {
  const left = a.split('\n');
  const right = b.split('\n');
  let i = 0;
  while (i < left.length && i < right.length && left[i] === right[i]) i++;
  return i + 1;
}

export async function fmt(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(argv, { check: { type: 'boolean' } }, fmtUsage);
  if (values.help) return { stdout: fmtUsage, exitCode: 0 };
  if (positionals.length === 0) return { usage: `switchyard fmt needs at least one FILE\n${fmtUsage}` };
  const check = values.check === true;

  const files: string[] = [];
  for (const input of positionals) {
    let isDir = false;
    try {
      isDir = fs.statSync(input).isDirectory();
    } catch {
      /* readPolicyFile reports it */
    }
    files.push(...(isDir ? policyFilesIn(input) : [input]));
  }

  const { Switchyard } = createSwitchyardServices(NodeFileSystem);
  const out: string[] = [];
  const errors: string[] = [];
  let changed = 0;
  for (const file of files) {
    const text = readPolicyFile(file);
    const result = formatSource(text, Switchyard);
    if (!result.ok) {
      const parsed = Switchyard.parser.LangiumParser.parse(text);
      const first = firstSyntaxError(parsed);
      errors.push(
        formatLocated(
          {
            file,
            line: first.line,
            column: first.column,
            severity: 'error',
            code: IssueCodes.SyntaxError,
            message: `cannot format: ${first.message}`,
          },
          text,
        ),
      );
      continue;
    }
    if (result.text === text) continue;
    changed++;
    if (check) {
      out.push(`${displayPath(file)}:${firstDifference(text, result.text)}: not formatted`);
    } else {
      try {
        fs.writeFileSync(file, result.text);
      } catch (error) {
        throw new CliError(
          'E-WRITE',
          `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
      out.push(`formatted ${displayPath(file)}`);
    }
  }
  const plural = (n: number): string => `${n} file${n === 1 ? '' : 's'}`;
  if (errors.length > 0) out.push(`${plural(errors.length)} with syntax errors left as they are`);
  out.push(
    check
      ? changed === 0
        ? `${plural(files.length - errors.length)} already formatted`
        : `${plural(changed)} of ${files.length} not formatted (run switchyard fmt to fix)`
      : `${plural(changed)} formatted, ${plural(files.length - changed - errors.length)} unchanged`,
  );
  return {
    stdout: out.join('\n'),
    stderr: errors.length > 0 ? errors.join('\n') : undefined,
    exitCode: errors.length > 0 || (check && changed > 0) ? 1 : 0,
  };
}
