import type { ValidationChecks } from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';

export function registerValidationChecks(services: SwitchyardServices): void {
  const registry = services.validation.ValidationRegistry;
  const validator = services.validation.SwitchyardValidator;
  const checks: ValidationChecks<SwitchyardAstType> = {};
  void validator;
  registry.register(checks, validator);
}

export class SwitchyardValidator {
  constructor(_services: SwitchyardServices) {}
}
