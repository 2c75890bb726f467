import { DefaultTokenBuilder, type Grammar, type TokenBuilderOptions } from 'langium';
import type { TokenType, TokenVocabulary } from 'chevrotain';

/**
 * Tokens that match what a user most likely meant but the language refuses (`8K`, `2backoff`,
 * `1.5s`, `$5x`, an unterminated string, regex or comment). They exist so that
 * - a bad literal is one token with one plain message instead of a cascade of "unexpected
 *   character" errors, and
 * - the lexer stays linear: without them, every character of a 200k-character unterminated regex
 *   or comment would restart a scan to the end of the line or file (quadratic time).
 * The parser never expects them, so each one becomes a syntax error at its own range.
 */
export const InvalidTokens = {
  /** `1.5s`, `0.5k`: tokens, durations and percents are integers. */
  Decimal: 'InvalidDecimal',
  /** `8K`, `2backoff`, `10sec`: a number directly followed by a letter, digit or `_`. */
  Number: 'InvalidNumber',
  /** `$5x`, `$`, `$1.2.3`. */
  Money: 'InvalidMoney',
  /** `"abc` (to the end of the line) or `"a\nb"` (unknown escape). */
  String: 'InvalidString',
  /** `/[a-z/` (to the end of the line). */
  Regex: 'InvalidRegex',
  /** `/* …` never closed (to the end of the file). */
  Comment: 'UnclosedComment',
} as const;

export type InvalidTokenName = (typeof InvalidTokens)[keyof typeof InvalidTokens];

const INVALID_NAMES = new Set<string>(Object.values(InvalidTokens));

export function isInvalidTokenName(name: string): name is InvalidTokenName {
  return INVALID_NAMES.has(name);
}

/** Adds the invalid-literal tokens of {@link InvalidTokens}, each right after the token it shadows. */
export class SwitchyardTokenBuilder extends DefaultTokenBuilder {
  override buildTokens(grammar: Grammar, options?: TokenBuilderOptions): TokenVocabulary {
    const tokens = super.buildTokens(grammar, options) as TokenType[];
    const insertAfter = (name: string, token: TokenType): void => {
      const index = tokens.findIndex((t) => t.name === name);
      tokens.splice(index < 0 ? tokens.length : index + 1, 0, token);
    };
    const insertBefore = (name: string, token: TokenType): void => {
      const index = tokens.findIndex((t) => t.name === name);
      tokens.splice(index < 0 ? tokens.length : index, 0, token);
    };
    // Chevrotain takes the first pattern that matches, in order: a decimal must be caught before
    // INT takes its integer part; the others only match where the valid token did not.
    insertBefore('DURATION', { name: InvalidTokens.Decimal, PATTERN: /[0-9]+\.[0-9]+[A-Za-z0-9_%]*/ });
    insertAfter('INT', { name: InvalidTokens.Number, PATTERN: /[0-9]+[A-Za-z_][A-Za-z0-9_]*/ });
    insertAfter('MONEY', { name: InvalidTokens.Money, PATTERN: /\$[0-9A-Za-z_.]*/ });
    insertAfter('STRING', { name: InvalidTokens.String, PATTERN: /"(?:\\[^\n\r]?|[^"\\\n\r])*"?/ });
    insertAfter('REGEX', { name: InvalidTokens.Regex, PATTERN: /\/(?![*/])[^\n\r]*/ });
    insertAfter('ML_COMMENT', { name: InvalidTokens.Comment, PATTERN: /\/\*[\s\S]*/, LINE_BREAKS: true });
    categoriseKeywordsAsNames(tokens);
    return tokens;
  }
}

/** Keywords that can never be names (docs/language.md §2.2). */
const RESERVED = new Set(['and', 'or', 'not', 'in', 'true']);

/**
 * Keywords are not reserved as names: every word-like keyword is also an `ID` (a Chevrotain token
 * category), so the grammar's `Name` rule is a single `ID` instead of an alternation of a hundred
 * keywords, which Langium's parser would rebuild at every name (it dominated parse time).
 */
function categoriseKeywordsAsNames(tokens: TokenType[]): void {
  const id = tokens.find((t) => t.name === 'ID');
  if (!id) return;
  for (const token of tokens) {
    if (
      typeof token.PATTERN === 'string' &&
      /^[A-Za-z][A-Za-z0-9_-]*$/.test(token.PATTERN) &&
      !RESERVED.has(token.PATTERN)
    ) {
      token.CATEGORIES = [...(token.CATEGORIES ?? []), id];
    }
  }
}
