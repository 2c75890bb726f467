import {
  type AstNode,
  type Cancellation,
  isOperationCancelled,
  type ValidationAcceptor,
  type ValidationCheck,
  type ValidationChecks,
} from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import { budgetChecks } from './budgets.js';
import { conditionChecks } from './conditions.js';
import { guardChecks } from './guards.js';
import { importChecks } from './imports.js';
import { CHECK_FAILED } from './issue-codes.js';
import { literalChecks } from './literals.js';
import { nameChecks } from './names.js';
import { providerChecks } from './providers.js';
import { routeChecks } from './routes.js';
import { structureChecks } from './structure.js';
import { testChecks } from './tests.js';

type Checks = ValidationChecks<SwitchyardAstType>;

/** Blocks whose name the parser could not read: their messages would say `'undefined'`. */
const NAMED = new Set(['Provider', 'Model', 'Policy', 'Budget', 'Guard', 'Route', 'Test']);

function named(check: ValidationCheck): ValidationCheck {
  return (node, accept, cancelToken) => {
    if (typeof (node as { name?: unknown }).name !== 'string') return;
    return check(node, accept, cancelToken);
  };
}

/**
 * Reports a check that threw (or whose promise rejected) as one `E-CHECK-FAILED` error at the node:
 * the message, never a stack trace. Cancellation is not a failure: it goes on up.
 */
export function reportCheckFailure(error: unknown, node: AstNode, accept: ValidationAcceptor): void {
  if (isOperationCancelled(error)) throw error;
  const message = error instanceof Error ? error.message : String(error);
  accept('error', `internal error in a check of this ${node.$type} (a bug in Switchyard): ${message}`, {
    node,
    code: CHECK_FAILED,
    data: { code: CHECK_FAILED },
  });
}

/** Runs one check on its own: a failure becomes a diagnostic instead of ending the node's checks. */
function isolated(
  check: ValidationCheck,
  node: AstNode,
  accept: ValidationAcceptor,
  cancelToken: Cancellation.CancellationToken,
): Promise<void> | undefined {
  try {
    const result = check(node, accept, cancelToken) as unknown;
    if (result instanceof Promise) {
      return result.then(
        () => undefined,
        (error: unknown) => reportCheckFailure(error, node, accept),
      );
    }
  } catch (error) {
    reportCheckFailure(error, node, accept);
  }
  return undefined;
}

/**
 * Joins the checks of every concern into one check per node type: Langium awaits each registered
 * check of each node, and on a 50k-line workspace those awaits alone cost more than the checks.
 * Each check still runs on its own: one that throws becomes one diagnostic and the others run;
 * the joined check returns a promise only when some check is asynchronous, and awaits them all.
 */
export function combineChecks(...all: Checks[]): Checks {
  const byType: Record<string, ValidationCheck[]> = {};
  for (const checks of all) {
    for (const [type, check] of Object.entries(checks) as [string, ValidationCheck | ValidationCheck[]][]) {
      (byType[type] ??= []).push(...(Array.isArray(check) ? check : [check]));
    }
  }
  const merged: Record<string, ValidationCheck> = {};
  for (const [type, checks] of Object.entries(byType)) {
    const one: ValidationCheck = (node, accept, cancelToken) => {
      let pending: Promise<void>[] | undefined;
      for (const check of checks) {
        const result = isolated(check, node, accept, cancelToken);
        if (result) (pending ??= []).push(result);
      }
      return pending && Promise.all(pending).then(() => undefined);
    };
    merged[type] = NAMED.has(type) ? named(one) : one;
  }
  return merged as Checks;
}

/** Registers every check of the language (one file per concern under dsl/validation/). */
export function registerValidationChecks(services: SwitchyardServices): void {
  const registry = services.validation.ValidationRegistry;
  const validator = services.validation.SwitchyardValidator;
  registry.register(validator.checks(), validator);
}

/**
 * The language's checks. Syntax errors and unknown names are reported by the document validator
 * (document-validator.ts), which replaces Langium's messages with plain ones.
 */
export class SwitchyardValidator {
  constructor(private readonly services: SwitchyardServices) {}

  checks(): Checks {
    return combineChecks(...this.concerns());
  }

  /** The checks of each concern, in the order they run on a node. */
  protected concerns(): Checks[] {
    return [
      nameChecks(this.services),
      importChecks(this.services),
      structureChecks(),
      literalChecks(),
      conditionChecks(),
      routeChecks(),
      providerChecks(this.services),
      budgetChecks(),
      guardChecks(this.services),
      testChecks(),
    ];
  }
}
