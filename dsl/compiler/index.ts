export { compilePolicy, type CompileOptions } from './compile.js';
export { compileWorkspace, type CompiledWorkspace } from './compile-workspace.js';
export { compileCondition, compileOutputCondition, compileValue } from './conditions.js';
export { type CompileError, CompileFailure } from './errors.js';
export { hashPlan } from './hash.js';
export { dollarsToNanos, normalisedText } from './literals.js';
export { compileTest, compileTests, testRequestId, type CompiledTests } from './tests.js';
export { planSchema, validatePlan, type PlanValidation } from './validate-plan.js';
export { canonicalJson } from '../../plan/canonical.js';
