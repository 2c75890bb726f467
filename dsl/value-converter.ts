import { type CstNode, DefaultValueConverter, type GrammarAST, type ValueType } from 'langium';

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Converts literal text into AST values: durations to milliseconds, `8k`/`20M` to token counts. */
export class SwitchyardValueConverter extends DefaultValueConverter {
  protected override runConverter(rule: GrammarAST.AbstractRule, input: string, cstNode: CstNode): ValueType {
    switch (rule.name) {
      case 'DURATION':
        return parseDurationLiteral(input);
      case 'TOKENS':
        return parseTokensLiteral(input);
      case 'PERCENT':
        return Number(input.slice(0, -1));
      case 'INT':
        return Number(input);
      case 'MONEY':
        return input.slice(1);
      case 'STRING':
        return unescapeString(input);
      default:
        return super.runConverter(rule, input, cstNode);
    }
  }
}

export function parseDurationLiteral(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h)$/.exec(text);
  if (!match) return NaN;
  return Number(match[1]) * DURATION_MS[match[2]!]!;
}

export function parseTokensLiteral(text: string): number {
  const match = /^([0-9]+)([kM]?)$/.exec(text);
  if (!match) return NaN;
  return Number(match[1]) * (match[2] === 'k' ? 1_000 : match[2] === 'M' ? 1_000_000 : 1);
}

/** Strings know only the escapes `\"` and `\\`. */
export function unescapeString(text: string): string {
  return text.slice(1, -1).replace(/\\(["\\])/g, '$1');
}
