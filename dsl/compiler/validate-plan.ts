import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Plan } from '../../plan/types.js';

export interface PlanValidation {
  ok: boolean;
  /** One readable line per problem: `/routes/0/primary: must have required property 'kind'`. */
  errors: string[];
}

let validator: ValidateFunction<Plan> | undefined;

/**
 * The published schema, `plan/plan.schema.json`, read from the package: two directories up from
 * this file when run from source, three when run from `dist/` (the package ships the schema at its
 * root, not inside `dist/`).
 */
export function planSchema(): object {
  for (const relative of ['../../plan/plan.schema.json', '../../../plan/plan.schema.json']) {
    const file = fileURLToPath(new URL(relative, import.meta.url));
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as object;
  }
  throw new Error('plan/plan.schema.json not found beside the switchyard package');
}

function compiled(): ValidateFunction<Plan> {
  validator ??= new Ajv({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    discriminator: true,
  }).compile<Plan>(planSchema());
  return validator;
}

/**
 * Checks a value against the plan's JSON Schema (workers call this on every plan they load).
 * Schema validation lives here, not in plan/: ajv compiles validators with `new Function`, which the
 * workflow sandbox must not run.
 */
export function validatePlan(json: unknown): PlanValidation {
  const validate = compiled();
  if (validate(json)) return { ok: true, errors: [] };
  return { ok: false, errors: (validate.errors ?? []).map(describe) };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(plan)' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let detail = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties')
    detail = `has unknown property '${String(params.additionalProperty)}'`;
  else if (error.keyword === 'enum')
    detail = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  else if (error.keyword === 'const') detail = `must be ${JSON.stringify(params.allowedValue)}`;
  else if (error.keyword === 'discriminator') {
    const tag = String(params.tag);
    detail =
      params.error === 'mapping'
        ? `unknown ${tag} ${JSON.stringify(params.tagValue)}`
        : `'${tag}' must be a string`;
  }
  return `${where}: ${detail}`;
}
