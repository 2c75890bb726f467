import * as fs from 'node:fs';
import * as path from 'node:path';
import { type AstNode, GrammarUtils } from 'langium';
import type * as ast from '../generated/ast.js';
import { CompileFailure, errorAt } from './errors.js';
import { fileOf } from './nodes.js';

/**
 * Paths inside a plan. A path is written relative to the file it appears in
 * (docs/language.md §2.1); the plan carries it relative to the directory of the file it is compiled
 * from, with `/` separators, so that moving the whole folder keeps the plan's hash. An absolute
 * path stays absolute.
 */
export class PlanPaths {
  readonly baseDir: string;

  constructor(entryFile: string) {
    this.baseDir = path.dirname(path.resolve(entryFile));
  }

  /** The absolute path a path written in `node`'s file means. */
  resolve(node: AstNode, written: string): string {
    return path.resolve(path.dirname(fileOf(node)), written);
  }

  /** The path as the plan carries it. */
  rebase(node: AstNode, written: string): string {
    if (path.isAbsolute(written)) return written;
    const relative = path.relative(this.baseDir, this.resolve(node, written));
    return (relative === '' ? '.' : relative).split(path.sep).join('/');
  }
}

/**
 * Reads the JSON Schema a `schema` item names and embeds it, so workers need no file. A file that
 * is missing, unreadable, not JSON, or not a schema (an object or a boolean) is a compile error at
 * the path.
 */
export function embedSchema(item: ast.SchemaCheck, paths: PlanPaths): { path: string; schema: unknown } {
  const at = GrammarUtils.findNodeForProperty(item.$cstNode, 'path');
  const refuse = (code: string, message: string): never => {
    const error = errorAt(item, code, message);
    if (at) Object.assign(error, { line: at.range.start.line + 1, column: at.range.start.character + 1 });
    throw new CompileFailure([error]);
  };
  const file = paths.resolve(item, item.path);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(
      'E-SCHEMA-MISSING',
      code === 'ENOENT'
        ? `schema file not found: "${item.path}" (looked for ${file})`
        : `cannot read schema file "${item.path}": ${code ?? 'error'}`,
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    return refuse(
      'E-SCHEMA-INVALID',
      `schema file "${item.path}" is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (
    typeof schema !== 'boolean' &&
    (typeof schema !== 'object' || schema === null || Array.isArray(schema))
  ) {
    return refuse('E-SCHEMA-INVALID', `schema file "${item.path}" is not a JSON Schema (expected an object)`);
  }
  return { path: paths.rebase(item, item.path), schema };
}
