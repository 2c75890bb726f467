import {
  type AstNode,
  AstUtils,
  DefaultDocumentValidator,
  type IndexManager,
  type LangiumCoreServices,
  type LangiumDocument,
  type ParseResult,
  type ReferenceInfo,
  type ScopeProvider,
  UriUtils,
  type ValidationAcceptor,
  type ValidationOptions,
  Cancellation,
} from 'langium';
import type { Diagnostic, Range } from 'vscode-languageserver-types';
import { isTest } from '../generated/ast.js';
import { type IssueCode, IssueCodes } from './issue-codes.js';
import type { SwitchyardParserErrorMessageProvider } from '../parser/syntax-messages.js';
import { closestNames, didYouMean } from './suggest.js';
import { validateNodesFast } from './fast-validation.js';

/** Beyond this many syntax errors in one file, the rest are summarised in one diagnostic. */
export const MAX_SYNTAX_ERRORS = 100;

/** What each kind of reference is called in messages. */
const REFERENCE_WORDS: Record<string, string> = {
  Provider: 'provider',
  Model: 'model',
  Policy: 'policy',
  Route: 'route',
  Budget: 'budget',
};

/** Names that live inside a policy (resolved in the policy, or a test's `for` policy). */
const POLICY_LOCAL = new Set(['Route', 'Budget']);

/**
 * Langium's document validator with the language's own words: syntax errors carry a code and are
 * capped per file, and an unresolved name reads `unknown model 'gpt-5'; did you mean 'gpt-4o'?`
 * (with the candidates, or the file to import, in `data` for quick fixes).
 */
export class SwitchyardDocumentValidator extends DefaultDocumentValidator {
  private readonly services: LangiumCoreServices;

  constructor(services: LangiumCoreServices) {
    super(services);
    this.services = services;
  }

  protected override async validateAstNodes(
    rootNode: AstNode,
    _options: ValidationOptions,
    acceptor: ValidationAcceptor,
    cancelToken: Cancellation.CancellationToken = Cancellation.CancellationToken.None,
  ): Promise<void> {
    await validateNodesFast(this.services, rootNode, acceptor, cancelToken);
  }

  private get scopeProvider(): ScopeProvider {
    return this.services.references.ScopeProvider;
  }

  private get indexManager(): IndexManager {
    return this.services.shared.workspace.IndexManager;
  }

  protected override processLexingErrors(
    parseResult: ParseResult,
    diagnostics: Diagnostic[],
    _options: ValidationOptions,
  ): void {
    for (const error of [...parseResult.lexerErrors, ...(parseResult.lexerReport?.diagnostics ?? [])]) {
      const start = { line: (error.line ?? 1) - 1, character: (error.column ?? 1) - 1 };
      const range = { start, end: { line: start.line, character: start.character + error.length } };
      this.pushSyntax(diagnostics, range, error.message, IssueCodes.InvalidToken);
    }
  }

  protected override processParsingErrors(
    parseResult: ParseResult,
    diagnostics: Diagnostic[],
    _options: ValidationOptions,
  ): void {
    const messages = this.services.parser
      .ParserErrorMessageProvider as Partial<SwitchyardParserErrorMessageProvider>;
    for (const error of parseResult.parserErrors) {
      const range = errorRange(error);
      if (!range) continue;
      const code = messages.codeOf?.(error.token) ?? IssueCodes.SyntaxError;
      this.pushSyntax(diagnostics, range, error.message, code);
    }
  }

  /** Adds a syntax diagnostic, or, past the cap, counts it in one closing summary. */
  private pushSyntax(diagnostics: Diagnostic[], range: Range, message: string, code: IssueCode): void {
    // Lexer and parser errors come first, so every diagnostic so far is a syntax error.
    if (diagnostics.length < MAX_SYNTAX_ERRORS) {
      diagnostics.push(this.syntaxDiagnostic(range, message, code));
      return;
    }
    const last = diagnostics[diagnostics.length - 1]!;
    const more = (last.data as { more?: number } | undefined)?.more;
    if (more === undefined) {
      diagnostics.push({
        ...this.syntaxDiagnostic(range, `1 more syntax error not shown (fix the ones above first)`, code),
        data: { code: IssueCodes.SyntaxError, more: 1 },
      });
    } else {
      last.message = `${more + 1} more syntax errors not shown (fix the ones above first)`;
      last.data = { code: IssueCodes.SyntaxError, more: more + 1 };
    }
  }

  private syntaxDiagnostic(range: Range, message: string, code: IssueCode): Diagnostic {
    return { severity: 1, range, message, code, data: { code }, source: this.getSource() };
  }

  protected override processLinkingErrors(
    document: LangiumDocument,
    diagnostics: Diagnostic[],
    _options: ValidationOptions,
  ): void {
    for (const reference of document.references) {
      const error = reference.error;
      if (!error) continue;
      const { container, property, index } = error.info;
      const refText = reference.$refText;
      // A reference the parser invented while recovering from a syntax error has no text.
      if (!refText) continue;
      const type = this.reflection.getReferenceType(error.info);
      // Routes and budgets of a test resolve in its `for` policy: unknown policy, one error.
      const test = AstUtils.getContainerOfType(container, isTest);
      if (test && POLICY_LOCAL.has(type) && !test.policy?.ref) continue;
      const word = REFERENCE_WORDS[type] ?? type.toLowerCase();
      const visible = this.visibleNames(error.info);
      const candidates = closestNames(refText, visible);
      let message = `unknown ${word} '${refText}'${didYouMean(candidates)}`;
      let importPath: string | undefined;
      if (POLICY_LOCAL.has(type)) {
        const policy = policyName(container);
        if (policy) message = `unknown ${word} '${refText}' in policy '${policy}'${didYouMean(candidates)}`;
      } else {
        const documents = this.services.shared.workspace.LangiumDocuments;
        const elsewhere = this.indexManager
          .allElements(type)
          .find((d) => d.name === refText && documents.hasDocument(d.documentUri));
        if (elsewhere) {
          importPath = UriUtils.relative(UriUtils.dirname(document.uri), elsewhere.documentUri);
          message = `${word} '${refText}' is defined in ${importPath}, which this file does not import (add import "${importPath}")`;
        }
      }
      diagnostics.push(
        this.toDiagnostic('error', message, {
          node: container,
          range: reference.$refNode?.range,
          property,
          index,
          code: IssueCodes.UnknownReference,
          data: { code: IssueCodes.UnknownReference, type, refText, candidates, importPath },
        }),
      );
    }
  }

  private get reflection() {
    return this.services.shared.AstReflection;
  }

  private visibleNames(info: ReferenceInfo): string[] {
    try {
      return this.scopeProvider
        .getScope(info)
        .getAllElements()
        .map((d) => d.name)
        .toArray();
    } catch {
      return [];
    }
  }
}

function policyName(node: AstNode): string | undefined {
  for (let current: AstNode | undefined = node; current; current = current.$container) {
    if (current.$type === 'Policy') return (current as { name?: string }).name;
    if (isTest(current)) return current.policy?.ref?.name ?? current.policy?.$refText;
  }
  return undefined;
}

function errorRange(error: ParseResult['parserErrors'][number]): Range | undefined {
  const token = error.token;
  if (!isNaN(token.startOffset)) {
    return {
      start: { line: (token.startLine ?? 1) - 1, character: (token.startColumn ?? 1) - 1 },
      end: { line: (token.endLine ?? 1) - 1, character: token.endColumn ?? 1 },
    };
  }
  // A token the parser inserted while recovering has no position: point after the previous one.
  const previous = (error as { previousToken?: typeof token }).previousToken;
  if (previous && !isNaN(previous.startOffset)) {
    const position = { line: (previous.endLine ?? 1) - 1, character: previous.endColumn ?? 0 };
    return { start: position, end: position };
  }
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}
