/**
 * Guards that run inside activities: `before` redaction of what is sent to a model, and `after`
 * checks of its answer (schema, block). `decide` (plan/) already applied `before` blocks and
 * `max-input` and worked out which guards cover which models (chain entries' `redact` and
 * `afterGuards`).
 */
import type { GuardPlan } from '../../plan/types.js';
import { checkBlocks } from './block.js';
import { validateAnswer } from './schema.js';

export { PII_KINDS, PII_MARKS, findPii, ibanValid, luhnValid, redactMessages, redactText } from './redact.js';
export type { PiiCounts, PiiMatch } from './redact.js';
export { answerJson, compileSchema, validateAnswer, type SchemaCheck } from './schema.js';
export { checkBlocks, type BlockCheck } from './block.js';

export interface AfterGuardFinding {
  guard: string;
  check: 'schema' | 'block';
  ok: boolean;
  /** Why the answer failed the check. */
  detail?: string;
}

/**
 * Runs the named `after` guards on an answer: `invalid` when any schema fails or any block
 * matches (→ `output.invalid`). `guards`: the plan's guards; `names`: the chain entry's `afterGuards`.
 */
export function checkAfterGuards(
  guards: readonly GuardPlan[],
  names: readonly string[],
  answer: string,
): { invalid: boolean; findings: AfterGuardFinding[] } {
  const findings: AfterGuardFinding[] = [];
  for (const name of names) {
    const guard = guards.find((g) => g.name === name && g.phase === 'after');
    if (guard === undefined) continue;
    if (guard.schema !== null) {
      const check = validateAnswer(guard.schema.schema, answer);
      findings.push(
        check.valid
          ? { guard: name, check: 'schema', ok: true }
          : {
              guard: name,
              check: 'schema',
              ok: false,
              detail: `${guard.schema.path}: ${check.errors.join('; ')}`,
            },
      );
    }
    if (guard.blocks.length > 0) {
      const block = checkBlocks(guard.blocks, answer);
      findings.push(
        block.blocked
          ? { guard: name, check: 'block', ok: false, detail: block.message ?? 'blocked' }
          : { guard: name, check: 'block', ok: true },
      );
    }
  }
  return { invalid: findings.some((f) => !f.ok), findings };
}
