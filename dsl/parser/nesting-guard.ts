import type { IRecognitionException, IToken } from 'chevrotain';
import {
  type AstNode,
  createParser,
  DefaultLexer,
  LangiumParser,
  type LangiumCoreServices,
  type LexerResult,
  type ParseResult,
  type ParserOptions,
  type TokenizeOptions,
} from 'langium';
import { IssueCodes } from '../validation/issue-codes.js';
import { RESERVED_WORDS, type SwitchyardParserErrorMessageProvider } from './syntax-messages.js';

/** Deepest nesting of parentheses and `not` in one condition. */
export const MAX_CONDITION_DEPTH = 64;
/** Most `and`/`or` operators in one condition (each one nests the syntax tree one level deeper). */
export const MAX_CONDITION_OPERATORS = 1000;

/**
 * A lexer that can hand the parser a result it already computed for the same text, so that the
 * nesting guard's look at the tokens does not cost a second lexing pass.
 */
export class SwitchyardLexer extends DefaultLexer {
  private reuse?: { text: string; result: LexerResult };

  /** The next `tokenize(text)` returns `result` (once). */
  reuseOnce(text: string, result: LexerResult): void {
    this.reuse = { text, result };
  }

  override tokenize(text: string, options?: TokenizeOptions): LexerResult {
    const reuse = this.reuse;
    this.reuse = undefined;
    if (reuse && reuse.text === text) return reuse.result;
    return super.tokenize(text, options);
  }
}

interface NestingError {
  token: IToken;
  message: string;
}

interface NestingScan {
  errors: NestingError[];
  /** Token ranges `[start, end)` (offsets) to blank before parsing. */
  blanks: [number, number][];
}

const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

function typeOf(token: IToken): string {
  return token.tokenType.name;
}

function isNameToken(token: IToken): boolean {
  const type = typeOf(token);
  return type === 'ID' || (/^[a-z][a-z-]*$/.test(type) && !RESERVED_WORDS.has(type));
}

/**
 * Walks every condition (the tokens after each `when`) with a small state machine and finds where
 * it nests deeper than {@link MAX_CONDITION_DEPTH} or chains more than
 * {@link MAX_CONDITION_OPERATORS} operators. Chevrotain's recursive descent, and Langium's CST
 * after it, would overflow the stack on such input; the excess is blanked instead (an excess `(`
 * with its `)`, an excess `not`, or everything from an excess operator to the end of its group),
 * which keeps offsets and the rest of the file intact.
 */
export function scanConditionNesting(tokens: IToken[]): NestingScan {
  const scan: NestingScan = { errors: [], blanks: [] };
  for (let i = 0; i < tokens.length; i++) {
    if (typeOf(tokens[i]!) === 'when') i = scanCondition(tokens, i + 1, scan) - 1;
  }
  return scan;
}

type Frame = 'not' | 'paren' | 'blanked-paren';

function scanCondition(tokens: IToken[], start: number, scan: NestingScan): number {
  const frames: Frame[] = [];
  let depth = 0;
  let parens = 0;
  let operators = 0;
  let reported = false;
  /** While set, every token up to the close of this paren level is blanked. */
  let blankUntilParens: number | undefined;
  let expectOperand = true;
  const report = (token: IToken, message: string): void => {
    if (!reported) scan.errors.push({ token, message });
    reported = true;
  };
  const blank = (token: IToken): void => {
    scan.blanks.push([token.startOffset, token.endOffset! + 1]);
  };
  const push = (frame: Frame): void => {
    frames.push(frame);
    if (frame !== 'blanked-paren') depth++;
    if (frame !== 'not') parens++;
  };
  const pop = (): Frame | undefined => {
    const frame = frames.pop();
    if (frame && frame !== 'blanked-paren') depth--;
    if (frame && frame !== 'not') parens--;
    return frame;
  };
  const closeOperand = (): void => {
    while (frames[frames.length - 1] === 'not') pop();
  };

  let i = start;
  const blanking = (): boolean => blankUntilParens !== undefined;
  const consume = (): void => {
    if (blanking()) blank(tokens[i]!);
    i++;
  };
  while (i < tokens.length) {
    const token = tokens[i]!;
    const type = typeOf(token);
    if (expectOperand) {
      if (type === 'not' || type === '(') {
        if (depth >= MAX_CONDITION_DEPTH && !blanking()) {
          report(token, `conditions nest deeper than ${MAX_CONDITION_DEPTH} levels (parentheses and not)`);
          blank(token);
          if (type === '(') push('blanked-paren');
          i++;
        } else {
          push(type === 'not' ? 'not' : 'paren');
          consume();
        }
        continue;
      }
      if (type === 'true') {
        consume();
      } else if (isNameToken(token)) {
        consume();
        i = skipComparison(tokens, i, blanking() ? blank : undefined);
      } else {
        return i;
      }
      closeOperand();
      expectOperand = false;
      continue;
    }
    if (type === ')') {
      closeOperand();
      const frame = frames[frames.length - 1];
      if (frame !== 'paren' && frame !== 'blanked-paren') return i;
      // The `)` that closes the group an excess operator was found in ends the blanking.
      if (blankUntilParens !== undefined && parens <= blankUntilParens) blankUntilParens = undefined;
      pop();
      if (frame === 'blanked-paren' || blanking()) blank(token);
      i++;
      closeOperand();
      continue;
    }
    if (type === 'and' || type === 'or') {
      if (!blanking() && ++operators > MAX_CONDITION_OPERATORS) {
        report(
          token,
          `a condition may join at most ${MAX_CONDITION_OPERATORS} comparisons with and/or: use in [...] for long lists`,
        );
        blankUntilParens = parens;
      }
      consume();
      expectOperand = true;
      continue;
    }
    return i;
  }
  return i;
}

/** Skips `.NAME`, then `OP VALUE` or `in [ … ]`, after a field's first name; returns the next index. */
function skipComparison(tokens: IToken[], i: number, blank?: (token: IToken) => void): number {
  const take = (): void => {
    if (blank) blank(tokens[i]!);
    i++;
  };
  if (i < tokens.length && typeOf(tokens[i]!) === '.') {
    take();
    if (i < tokens.length && isNameToken(tokens[i]!)) take();
  }
  if (i >= tokens.length) return i;
  const type = typeOf(tokens[i]!);
  if (COMPARE_OPS.has(type)) {
    take();
    if (i < tokens.length) take();
  } else if (type === 'in') {
    take();
    if (i < tokens.length && typeOf(tokens[i]!) === '[') {
      while (i < tokens.length) {
        const inner = typeOf(tokens[i]!);
        if (inner === '{' || inner === '}') break;
        take();
        if (inner === ']') break;
      }
    }
  }
  return i;
}

function blankText(text: string, blanks: [number, number][]): string {
  const chars = text.split('');
  for (const [start, end] of blanks) {
    for (let i = start; i < end; i++) if (chars[i] !== '\n' && chars[i] !== '\r') chars[i] = ' ';
  }
  return chars.join('');
}

function recognitionError(token: IToken, message: string): IRecognitionException {
  return {
    name: 'NestingTooDeep',
    message,
    token,
    resyncedTokens: [],
    context: { ruleStack: [], ruleOccurrenceStack: [] },
  } as IRecognitionException;
}

/**
 * The Langium parser behind a guard: conditions that nest too deeply are cut (with an error at the
 * place) before Chevrotain sees them, and a stack overflow that still happens becomes a
 * diagnostic instead of an exception.
 */
export class SwitchyardParser extends LangiumParser {
  private readonly messages: SwitchyardParserErrorMessageProvider;
  private readonly switchyardLexer: SwitchyardLexer;

  constructor(services: LangiumCoreServices) {
    super(services);
    this.messages = services.parser.ParserErrorMessageProvider as SwitchyardParserErrorMessageProvider;
    this.switchyardLexer = services.parser.Lexer as SwitchyardLexer;
    const internals = this as unknown as { stack: AstNode[] };
    this.messages.attach?.({
      get stack() {
        return internals.stack;
      },
    });
  }

  override parse<T extends AstNode = AstNode>(input: string, options?: ParserOptions): ParseResult<T> {
    const lexed = this.switchyardLexer.tokenize(input);
    const scan = scanConditionNesting(lexed.tokens);
    const text = scan.blanks.length > 0 ? blankText(input, scan.blanks) : input;
    if (scan.blanks.length === 0) this.switchyardLexer.reuseOnce(input, lexed);
    let result: ParseResult<T>;
    try {
      result = super.parse<T>(text, options);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      result = this.parseNothing<T>(lexed.tokens[0], options);
    }
    for (const { token, message } of scan.errors) {
      this.messages.setCode?.(token, IssueCodes.NestingTooDeep);
      result.parserErrors.push(recognitionError(token, message));
    }
    return result;
  }

  /** After a stack overflow: an empty document and one error, at the first token. */
  private parseNothing<T extends AstNode>(
    first: IToken | undefined,
    options?: ParserOptions,
  ): ParseResult<T> {
    (this as unknown as { stack: AstNode[] }).stack = [];
    const result = super.parse<T>('', options);
    const token =
      first ??
      ({
        image: '',
        startOffset: 0,
        endOffset: 0,
        startLine: 1,
        endLine: 1,
        startColumn: 1,
        endColumn: 1,
      } as IToken);
    this.messages.setCode?.(token, IssueCodes.NestingTooDeep);
    result.parserErrors.push(
      recognitionError(token, 'this file nests too deeply to be read: simplify its conditions'),
    );
    return result;
  }
}

/** Builds and finalizes the guarded parser (what Langium's `createLangiumParser` does for its own). */
export function createSwitchyardParser(services: LangiumCoreServices): SwitchyardParser {
  const parser = new SwitchyardParser(services);
  createParser(services.Grammar, parser, services.parser.Lexer.definition);
  parser.finalize();
  return parser;
}
