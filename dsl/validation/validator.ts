import type { ValidationCheck, ValidationChecks } from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import { budgetChecks } from './budgets.js';
import { conditionChecks } from './conditions.js';
import { guardChecks } from './guards.js';
import { importChecks } from './imports.js';
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
 * Joins the checks of every concern into one check per node type: Langium awaits each registered
 * check of each node, and on a 50k-line workspace those awaits alone cost more than the checks.
 */
function merge(...all: Checks[]): Checks {
  const byType: Record<string, ValidationCheck[]> = {};
  for (const checks of all) {
    for (const [type, check] of Object.entries(checks) as [string, ValidationCheck | ValidationCheck[]][]) {
      (byType[type] ??= []).push(...(Array.isArray(check) ? check : [check]));
    }
  }
  const merged: Record<string, ValidationCheck> = {};
  for (const [type, checks] of Object.entries(byType)) {
    const one: ValidationCheck = (node, accept, cancelToken) => {
      for (const check of checks) void check(node, accept, cancelToken);
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
    return merge(
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
    );
  }
}
