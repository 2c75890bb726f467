/**
 * `after` guards' `block REGEX ["message"]`: a match in the answer makes it invalid
 * (docs/language.md §4.4: "a match makes the answer invalid"). The regex is compiled exactly as the
 * `before` guards compile theirs (plan/guards.ts `blockRegex`: `g` and `y` dropped).
 */
import { blockRegex } from '../../plan/guards.js';
import type { BlockRule } from '../../plan/types.js';

export interface BlockCheck {
  blocked: boolean;
  /** The first rule that matched. */
  rule?: BlockRule;
  /** The rule's message, else `answer matches /PATTERN/FLAGS`. */
  message?: string;
}

export function checkBlocks(rules: readonly BlockRule[], answer: string): BlockCheck {
  for (const rule of rules) {
    if (blockRegex(rule).test(answer)) {
      return {
        blocked: true,
        rule,
        message: rule.message ?? `answer matches /${rule.pattern}/${rule.flags}`,
      };
    }
  }
  return { blocked: false };
}
