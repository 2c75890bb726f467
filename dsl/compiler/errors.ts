import { type AstNode, AstUtils } from 'langium';

/** A problem that stops compilation, at a place in a source file (line and column are 1-based). */
export interface CompileError {
  code: string;
  message: string;
  file: string;
  line: number;
  column: number;
}

/** Thrown by `compilePolicy` and `compileTest`; `compileWorkspace` and `compileTests` collect it. */
export class CompileFailure extends Error {
  constructor(readonly errors: CompileError[]) {
    super(errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`).join('\n'));
    this.name = 'CompileFailure';
  }
}

/** A compile error at an AST node's first character. */
export function errorAt(node: AstNode, code: string, message: string): CompileError {
  const file = AstUtils.getDocument(node).uri.fsPath;
  const start = node.$cstNode?.range.start;
  return { code, message, file, line: (start?.line ?? 0) + 1, column: (start?.character ?? 0) + 1 };
}

/** Throws a single compile error. */
export function fail(node: AstNode, code: string, message: string): never {
  throw new CompileFailure([errorAt(node, code, message)]);
}
