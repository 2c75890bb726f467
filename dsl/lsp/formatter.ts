/**
 * The one formatter of the policy language: the language server's `textDocument/formatting` and
 * `switchyard fmt` both call {@link formatPolicyText}.
 *
 * It works on the token stream and never moves, adds or drops a token, so formatting cannot change
 * what a file means. What it decides is the whitespace between tokens:
 * - every block item (`kind`, `route`, `use`, `given`, …) and every top-level element starts a line;
 * - blocks indent by two spaces; a closing `}` sits on its own line at its block's indentation;
 * - a block written on one line that holds no other block and no comment stays on one line
 *   (`request { capability "chat" mode interactive }`);
 * - one space between tokens, none before `,` `)` `]` and around the `.` of a field path;
 * - a line break inside an item (a long condition) is kept, indented two levels below the item;
 * - at most one blank line in a row, none after `{` or before `}`;
 * - comments stay where they are: a comment at the end of a line keeps the spaces before it (so
 *   aligned comments stay aligned), a comment on its own line is indented like the item after it.
 * A file with syntax errors is left as it is.
 */
import type { AstNode, LangiumCoreServices, LangiumDocument, ParseResult } from 'langium';
import { AstUtils } from 'langium';
import type { Formatter } from 'langium/lsp';
import type {
  DocumentFormattingParams,
  DocumentOnTypeFormattingOptions,
  DocumentOnTypeFormattingParams,
  DocumentRangeFormattingParams,
  TextEdit,
} from 'vscode-languageserver-protocol';
import type { IToken } from 'chevrotain';

/** Indentation of one block level. The style is fixed: editors' tab settings do not change it. */
export const INDENT = '  ';
/** Extra indentation of a continuation line inside an item (two levels). */
const CONTINUATION = INDENT + INDENT;

/** AST properties that hold block items (or top-level elements): each element starts a line. */
const ITEM_PROPERTIES = new Set(['imports', 'providers', 'models', 'policies', 'tests', 'items', 'fields']);

/** One stretch of whitespace between two tokens (or before the first / after the last). */
export interface Gap {
  /** Offsets in the original text. */
  start: number;
  end: number;
  /** What the formatter puts there. */
  text: string;
}

export interface FormatResult {
  /** Whether the file could be formatted (no syntax errors). */
  ok: boolean;
  /** The formatted text (the original when not `ok`). */
  text: string;
  /** Every gap whose whitespace changes, in order. */
  changes: Gap[];
}

interface Token {
  offset: number;
  end: number;
  image: string;
  comment: 'line' | 'block' | undefined;
}

interface Block {
  open: number;
  close: number;
  inline: boolean;
}

function tokensOf(lexed: { tokens: IToken[]; hidden: IToken[] }): Token[] {
  const all = [...lexed.tokens, ...lexed.hidden].sort((a, b) => a.startOffset - b.startOffset);
  return all.map((t) => ({
    offset: t.startOffset,
    end: t.startOffset + t.image.length,
    image: t.image,
    comment:
      t.tokenType.name === 'SL_COMMENT' ? 'line' : t.tokenType.name === 'ML_COMMENT' ? 'block' : undefined,
  }));
}

/** Offsets of the first token of every block item and top-level element. */
function itemStarts(root: AstNode): Set<number> {
  const starts = new Set<number>();
  for (const node of AstUtils.streamAst(root)) {
    if (node.$containerProperty && ITEM_PROPERTIES.has(node.$containerProperty) && node.$cstNode) {
      starts.add(node.$cstNode.offset);
    }
  }
  return starts;
}

/** Pairs the braces and decides which blocks stay on one line. */
function blocksOf(tokens: Token[], text: string): Map<number, Block> {
  const byIndex = new Map<number, Block>();
  const stack: { index: number; nested: boolean; comment: boolean }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.comment) {
      if (stack.length > 0) stack[stack.length - 1]!.comment = true;
      continue;
    }
    if (token.image === '{') {
      if (stack.length > 0) stack[stack.length - 1]!.nested = true;
      stack.push({ index: i, nested: false, comment: false });
    } else if (token.image === '}') {
      const open = stack.pop();
      if (!open) continue;
      const oneLine = !text.slice(tokens[open.index]!.offset, token.end).includes('\n');
      const block: Block = { open: open.index, close: i, inline: oneLine && !open.nested && !open.comment };
      byIndex.set(open.index, block);
      byIndex.set(i, block);
    }
  }
  return byIndex;
}

function newlinesIn(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

const NO_SPACE_BEFORE = new Set([',', ')', ']']);
const NO_SPACE_AFTER = new Set(['(', '[']);

/**
 * Formats a parsed policy file. `parseResult` must be the parse of `text`; `lexer` the language's
 * lexer (the formatter needs the comments, which the AST does not hold).
 */
export function formatPolicyText(
  text: string,
  parseResult: ParseResult,
  lexer: { tokenize(text: string): { tokens: IToken[]; hidden: IToken[] } },
): FormatResult {
  if (parseResult.lexerErrors.length > 0 || parseResult.parserErrors.length > 0) {
    return { ok: false, text, changes: [] };
  }
  const tokens = tokensOf(lexer.tokenize(text));
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (tokens.length === 0) {
    return text === ''
      ? { ok: true, text, changes: [] }
      : { ok: true, text: '', changes: [{ start: 0, end: text.length, text: '' }] };
  }
  const starts = itemStarts(parseResult.value);
  const blocks = blocksOf(tokens, text);

  const changes: Gap[] = [];
  const out: string[] = [];
  const emitGap = (start: number, end: number, gap: string): void => {
    out.push(gap);
    if (text.slice(start, end) !== gap) changes.push({ start, end, text: gap });
  };

  let depth = 0;
  // Index of the `}` of the one-line block the current token is in (-1: none).
  let inlineUntil = -1;
  emitGap(0, tokens[0]!.offset, '');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (i > 0) {
      const previous = tokens[i - 1]!;
      const original = text.slice(previous.end, token.offset);
      const lines = newlinesIn(original);
      const block = blocks.get(i);
      const previousBlock = blocks.get(i - 1);
      const closesExpanded = token.image === '}' && block !== undefined && !block.inline;
      if (closesExpanded) depth = Math.max(0, depth - 1);
      const indent = (extra = ''): string => INDENT.repeat(depth) + extra;
      const breakLine = (blank: boolean, extra = ''): string => (blank ? eol : '') + eol + indent(extra);
      const inline = i <= inlineUntil;
      // A blank line survives, except right after `{` and right before `}`.
      const keepBlank = lines >= 2 && !(previous.image === '{' && !previous.comment) && token.image !== '}';
      let gap: string;
      if (token.comment && lines === 0) {
        // A comment at the end of a line keeps its spaces (aligned comments stay aligned).
        gap = original.length > 0 ? original : ' ';
      } else if (previous.comment === 'line') {
        gap = breakLine(keepBlank);
      } else if (token.comment) {
        gap = breakLine(keepBlank);
      } else if (closesExpanded) {
        gap = breakLine(false);
      } else if (previous.image === '{' && previousBlock && !previousBlock.inline) {
        gap = breakLine(false);
      } else if (starts.has(token.offset) && !inline) {
        gap = breakLine(keepBlank);
      } else if (lines > 0 && !inline) {
        // A line break the author put inside an item (a long condition, a long list).
        gap = breakLine(false, CONTINUATION);
      } else if (token.image === '}' && block?.inline && block.open === i - 1) {
        gap = '';
      } else if (
        NO_SPACE_BEFORE.has(token.image) ||
        NO_SPACE_AFTER.has(previous.image) ||
        token.image === '.' ||
        previous.image === '.'
      ) {
        gap = '';
      } else {
        gap = ' ';
      }
      emitGap(previous.end, token.offset, gap);
    }
    out.push(token.image);
    if (token.image === '{' && !token.comment) {
      const block = blocks.get(i);
      if (block && !block.inline) depth++;
      else if (block) inlineUntil = block.close;
    }
  }
  const last = tokens[tokens.length - 1]!;
  emitGap(last.end, text.length, eol);
  return { ok: true, text: out.join(''), changes };
}

/** Formats a whole file's text with the language's parser (what `switchyard fmt` runs). */
export function formatSource(text: string, services: LangiumCoreServices): FormatResult {
  const parseResult = services.parser.LangiumParser.parse(text);
  return formatPolicyText(text, parseResult, services.parser.Lexer);
}

/** The LSP side of the formatter: the same gaps as text edits. */
export class SwitchyardFormatter implements Formatter {
  constructor(private readonly services: LangiumCoreServices) {}

  get formatOnTypeOptions(): DocumentOnTypeFormattingOptions {
    return { firstTriggerCharacter: '}' };
  }

  formatDocument(document: LangiumDocument, _params: DocumentFormattingParams): TextEdit[] {
    return this.edits(document);
  }

  formatDocumentRange(document: LangiumDocument, params: DocumentRangeFormattingParams): TextEdit[] {
    const { start, end } = params.range;
    return this.edits(document).filter(
      (e) => e.range.end.line >= start.line && e.range.start.line <= end.line,
    );
  }

  /** After `}`: re-indents the line it was typed on. */
  formatDocumentOnType(document: LangiumDocument, params: DocumentOnTypeFormattingParams): TextEdit[] {
    const line = params.position.line;
    return this.edits(document).filter((e) => e.range.end.line === line);
  }

  private edits(document: LangiumDocument): TextEdit[] {
    const text = document.textDocument.getText();
    const result = formatPolicyText(text, document.parseResult, this.services.parser.Lexer);
    return result.changes.map((gap) => ({
      range: {
        start: document.textDocument.positionAt(gap.start),
        end: document.textDocument.positionAt(gap.end),
      },
      newText: gap.text,
    }));
  }
}
