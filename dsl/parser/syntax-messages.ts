import type { ILexerErrorMessageProvider, IToken, TokenType } from 'chevrotain';
import { type AstNode, LangiumParserErrorMessageProvider } from 'langium';
import { type IssueCode, IssueCodes } from '../validation/issue-codes.js';
import { InvalidTokens, isInvalidTokenName } from './syntax-tokens.js';

/** Words the grammar refuses as names (docs/language.md §2.2). */
export const RESERVED_WORDS = new Set(['and', 'or', 'not', 'in', 'true']);

/** What a terminal is, in the words of docs/language.md (never the terminal's name). */
const TERMINAL_PHRASES: Record<string, string> = {
  DURATION: 'a duration such as 5s',
  TOKENS: 'a token count such as 8k',
  MONEY: 'an amount such as $0.50',
  PERCENT: 'a percentage such as 80%',
  INT: 'a whole number',
  STRING: 'a string in double quotes',
  REGEX: 'a regular expression such as /abc/i',
  ID: 'a name',
  EOF: 'end of file',
};

/** What an alternation of a grammar rule stands for, when listing its first tokens would not help. */
/** The tokens a value may start with: where the parser wants exactly these, it wants a value. */
const VALUE_STARTS = new Set(['STRING', 'MONEY', 'DURATION', 'PERCENT', 'TOKENS', 'INT', 'ID']);

function startsAValue(firsts: TokenType[]): boolean {
  return firsts.some((t) => t.name === 'STRING') && firsts.every((t) => VALUE_STARTS.has(t.name));
}

const RULE_PHRASES: Record<string, string> = {
  Name: 'a name',
  TokenCount: 'a token count such as 8k',
  Value: 'a value (a string such as "chat", a number, a duration, an amount or a name)',
  Condition: 'a condition such as capability == "chat"',
  BinaryCondition: 'a condition such as capability == "chat"',
  ConditionExpr: 'a condition such as capability == "chat"',
  Unary: 'a condition such as capability == "chat"',
  Primary: 'a condition such as capability == "chat"',
  Comparison: 'a condition such as capability == "chat"',
  CompareOp: 'a comparison (==, !=, <, <=, >, >=)',
  Scope: 'team, app, user or policy',
  Window: 'minute, hour, day, week or month',
  PiiKind: 'email, phone, credit-card, iban or ip-address',
  GuardTarget: 'all, external, route NAME or model NAME',
  Given: 'spent BUDGET $X, MODEL fails CODE|timeout or MODEL answers truncated|empty|invalid',
};

/** The items each block accepts, for "unexpected X in policy 'p'" messages. */
const BLOCK_ITEMS: Record<string, string> = {
  Provider: 'kind, endpoints, queue, concurrency, timeout, private, region, api-key, model-file',
  Model: 'provider, name, version, context, capabilities, price',
  Policy: 'version, owner, description, budget, rate-limit, guard, require, route, otherwise, audit',
  Budget: 'limit, tokens, on-exceed',
  RateLimit: 'N requests per WINDOW, N tokens per WINDOW, on-exceed',
  Guard: 'redact, block, max-input, schema',
  Route: 'use, split, fallback, escalate, deadline',
  Audit: 'prompts, retain',
  Test: 'request, given, expect',
  TestRequest: 'request fields such as capability "chat"',
};

const TOP_LEVEL = 'import, provider, model, policy or test';

/** Keeps messages readable when a token is a 200k-character string. */
export function preview(text: string, max = 40): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function ruleOf(ruleName: string): string {
  return ruleName.replace(/\u200B$/, '');
}

function isKeywordType(type: TokenType): boolean {
  return !(type.name in TERMINAL_PHRASES) && !isInvalidTokenName(type.name);
}

function describeExpected(type: TokenType): string {
  return TERMINAL_PHRASES[type.name] ?? `'${type.name}'`;
}

function describeFound(token: IToken): string {
  if (token.tokenType?.name === 'EOF' || token.image === '') return 'end of file';
  return preview(token.image);
}

function orList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Describes a set of possible next tokens: names collapse to "a name". */
function describeAlternatives(types: TokenType[]): string {
  const unique = [...new Map(types.map((t) => [t.name, t])).values()];
  const hasName = unique.some((t) => t.name === 'ID');
  const kept = unique.filter((t) => !(hasName && isKeywordType(t) && /^[a-z][a-z-]*$/.test(t.name)));
  const phrases = kept.map(describeExpected);
  if (phrases.length > 8) return `one of ${phrases.slice(0, 8).join(', ')}, …`;
  return orList(phrases);
}

/**
 * The message of an invalid-literal token ({@link InvalidTokens}): what is wrong and how to write
 * it instead.
 */
export function invalidTokenMessage(name: string, image: string): string {
  const shown = preview(image);
  switch (name) {
    case InvalidTokens.Decimal:
      return decimalMessage(image, shown);
    case InvalidTokens.Number:
      return numberMessage(image, shown);
    case InvalidTokens.Money:
      if (image === '$') return '$ must be followed by an amount such as $0.50';
      return `${shown} is not an amount: write dollars and cents like $0.50, followed by a space`;
    case InvalidTokens.String: {
      const escape = /\\([^"\\])/.exec(image);
      const closed = image.length > 1 && image.endsWith('"') && !image.endsWith('\\"');
      if (escape && (closed || escape.index < image.length - 2)) {
        return `unknown escape \\${escape[1]} in string ${shown}: strings know only \\" and \\\\`;
      }
      return `unterminated string ${shown}: a string must end with " on the same line`;
    }
    case InvalidTokens.Regex:
      return `unterminated regular expression ${shown}: a regular expression must end with / on the same line`;
    case InvalidTokens.Comment:
      return 'unterminated comment: /* is never closed with */';
    default:
      return `unexpected ${shown}`;
  }
}

const DURATION_UNITS: Record<string, [number, string][]> = {
  h: [
    [60, 'm'],
    [3600, 's'],
    [3_600_000, 'ms'],
  ],
  m: [
    [60, 's'],
    [60_000, 'ms'],
  ],
  s: [[1000, 'ms']],
};

function decimalMessage(image: string, shown: string): string {
  const match = /^([0-9]+\.[0-9]+)(.*)$/.exec(image);
  const value = Number(match?.[1]);
  const suffix = match?.[2] ?? '';
  const whole = (factor: number): number | undefined => {
    const scaled = Math.round(value * factor * 1e6) / 1e6;
    return Number.isInteger(scaled) ? scaled : undefined;
  };
  if (suffix in DURATION_UNITS) {
    for (const [factor, unit] of DURATION_UNITS[suffix]!) {
      const n = whole(factor);
      if (n !== undefined)
        return `${shown} is not a duration: durations are whole numbers (write ${n}${unit})`;
    }
    return `${shown} is not a duration: durations are whole numbers`;
  }
  if (suffix === 'ms') return `${shown} is not a duration: durations are whole numbers of ms, s, m or h`;
  if (suffix === 'k' || suffix === 'M') {
    const n = whole(suffix === 'k' ? 1000 : 1_000_000);
    const hint = n === undefined ? '' : ` (write ${suffix === 'M' && n % 1000 === 0 ? `${n / 1000}k` : n})`;
    return `${shown} is not a token count: token counts are whole numbers${hint}`;
  }
  if (suffix === '%') return `${shown} is not a percentage: percentages are whole numbers`;
  if (suffix === '') return `${shown} is not a whole number: only amounts such as $0.50 have decimals`;
  return `${shown} is not a number: a number must be followed by a space`;
}

const DURATION_LIKE = new Set([
  'S',
  'MS',
  'Ms',
  'H',
  'sec',
  'secs',
  'second',
  'seconds',
  'min',
  'mins',
  'minute',
  'minutes',
  'hr',
  'hrs',
  'hour',
  'hours',
  'us',
  'ns',
  'd',
  'day',
  'days',
]);

function numberMessage(image: string, shown: string): string {
  const suffix = /^[0-9]+(.*)$/.exec(image)?.[1] ?? '';
  if (
    suffix === 'K' ||
    suffix === 'kb' ||
    suffix === 'KB' ||
    suffix === 'm' ||
    suffix === 'G' ||
    suffix === 'B'
  ) {
    return `${shown} is not a number: token suffixes are k and M (lowercase k)`;
  }
  if (DURATION_LIKE.has(suffix)) return `${shown} is not a duration: duration suffixes are ms, s, m and h`;
  if (/^[0-9_]/.test(suffix)) return `${shown} is not a number: numbers have no digit separators`;
  if (suffix.length <= 2) {
    return `${shown} is not a number: suffixes are k and M for tokens, ms, s, m and h for durations`;
  }
  return `${shown}: a number must be followed by a space`;
}

/** Lexer errors for characters no token starts with. */
export class SwitchyardLexerErrorMessageProvider implements ILexerErrorMessageProvider {
  buildUnexpectedCharactersMessage(fullText: string, startOffset: number, length: number): string {
    const text = fullText.substr(startOffset, Math.min(length, 40));
    const plural = length > 1 ? 'characters' : 'character';
    const hint = [...text].some((c) => c.charCodeAt(0) > 0x7f) ? ': names and keywords are ASCII' : '';
    return `unexpected ${plural} '${preview(text)}'${hint}`;
  }

  buildUnableToPopLexerModeMessage(token: IToken): string {
    return `unexpected ${preview(token.image)}`;
  }
}

/** The parts of the Langium parser the message provider reads: the AST nodes being built. */
export interface ParserStackAccess {
  readonly stack: readonly AstNode[];
}

/**
 * Parser errors in plain language: `expected a duration such as 5s, found 5`, `expected '}' to
 * close policy 'support', found end of file`. Remembers which tokens got a specific code (an
 * invalid literal, a reserved word) for the document validator.
 */
export class SwitchyardParserErrorMessageProvider extends LangiumParserErrorMessageProvider {
  private parser?: ParserStackAccess;
  private readonly codes = new WeakMap<IToken, IssueCode>();

  /** Called by the parser once it exists, so messages can name the enclosing block. */
  attach(parser: ParserStackAccess): void {
    this.parser = parser;
  }

  /** The code of the parser error raised at `token`. */
  codeOf(token: IToken): IssueCode {
    return this.codes.get(token) ?? IssueCodes.SyntaxError;
  }

  /** Records a code for an error the parser itself does not raise (nesting too deep). */
  setCode(token: IToken, code: IssueCode): void {
    this.codes.set(token, code);
  }

  override buildMismatchTokenMessage(options: {
    expected: TokenType;
    actual: IToken;
    previous: IToken;
    ruleName: string;
  }): string {
    const { expected, actual } = options;
    const special = this.special(actual, ruleOf(options.ruleName), expected.name === 'ID');
    if (special) return special;
    const found = describeFound(actual);
    if (expected.name === 'EOF') {
      if (actual.image === '}') return `unexpected '}': no block is open here`;
      return `unexpected ${found}: expected ${TOP_LEVEL}`;
    }
    if (expected.name === '}' || expected.name === '{') {
      const block = this.enclosingBlock();
      if (block) {
        if (expected.name === '{') return `expected '{' to open ${block.label}, found ${found}`;
        const items = BLOCK_ITEMS[block.node.$type];
        if (items && found !== 'end of file') {
          return `unexpected ${found} in ${block.label}: expected ${items}, or '}' to close it`;
        }
        return `expected '}' to close ${block.label}, found ${found}`;
      }
    }
    return `expected ${describeExpected(expected)}, found ${found}`;
  }

  override buildNotAllInputParsedMessage(options: { firstRedundant: IToken; ruleName: string }): string {
    const token = options.firstRedundant;
    const special = this.special(token, 'Document');
    if (special) return special;
    if (token.image === '}') return `unexpected '}': no block is open here`;
    return `unexpected ${describeFound(token)}: expected ${TOP_LEVEL}`;
  }

  override buildNoViableAltMessage(options: {
    expectedPathsPerAlt: TokenType[][][];
    actual: IToken[];
    previous: IToken;
    customUserDescription?: string;
    ruleName: string;
  }): string {
    const actual = options.actual[0]!;
    const rule = ruleOf(options.ruleName);
    const firsts = options.expectedPathsPerAlt.flatMap((alt) =>
      alt.map((path) => path[0]).filter((t) => !!t),
    );
    const special = this.special(actual, rule, firsts.length > 0 && firsts.every((t) => t?.name === 'ID'));
    if (special) return special;
    const expected = startsAValue(firsts as TokenType[])
      ? RULE_PHRASES.Value!
      : (RULE_PHRASES[rule] ?? describeAlternatives(firsts as TokenType[]));
    return `expected ${expected}, found ${describeFound(actual)}`;
  }

  override buildEarlyExitMessage(options: {
    expectedIterationPaths: TokenType[][];
    actual: IToken[];
    previous: IToken;
    customUserDescription?: string;
    ruleName: string;
  }): string {
    const actual = options.actual[0]!;
    const rule = ruleOf(options.ruleName);
    const firsts = options.expectedIterationPaths.map((path) => path[0]).filter((t) => !!t);
    const special = this.special(actual, rule, firsts.length > 0 && firsts.every((t) => t?.name === 'ID'));
    if (special) return special;
    const expected = RULE_PHRASES[rule] ?? describeAlternatives(firsts as TokenType[]);
    return `expected at least one ${expected}, found ${describeFound(actual)}`;
  }

  /** Invalid literals and reserved words get their own message and code, whatever was expected. */
  private special(actual: IToken, rule: string, expectsName = false): string | undefined {
    const type = actual.tokenType?.name ?? '';
    if (isInvalidTokenName(type)) {
      this.codes.set(actual, IssueCodes.InvalidToken);
      return invalidTokenMessage(type, actual.image);
    }
    if ((expectsName || rule === 'Name') && RESERVED_WORDS.has(actual.image)) {
      this.codes.set(actual, IssueCodes.ReservedName);
      return `'${actual.image}' is a reserved word and cannot be a name (and, or, not, in and true are reserved)`;
    }
    return undefined;
  }

  private enclosingBlock(): { node: AstNode; label: string } | undefined {
    const stack = this.parser?.stack ?? [];
    for (let i = stack.length - 1; i >= 0; i--) {
      const node = stack[i]!;
      const label = blockLabel(node);
      if (label) return { node, label };
    }
    return undefined;
  }
}

const BLOCK_WORDS: Record<string, string> = {
  Provider: 'provider',
  Model: 'model',
  Policy: 'policy',
  Budget: 'budget',
  RateLimit: 'rate-limit',
  Guard: 'guard',
  Route: 'route',
  Audit: 'audit',
  Test: 'test',
  TestRequest: 'request',
};

function blockLabel(node: AstNode): string | undefined {
  const word = BLOCK_WORDS[node.$type];
  if (!word) return undefined;
  const name = (node as { name?: unknown }).name;
  if (node.$type === 'Test' && typeof name === 'string') return `test "${preview(name)}"`;
  return typeof name === 'string' && name !== '' ? `${word} '${preview(name)}'` : word;
}
