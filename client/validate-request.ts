import { Ajv, type ErrorObject } from 'ajv';
import schema from '../plan/request.schema.json' with { type: 'json' };
import type { InferenceRequest } from '../plan/types.js';

let validator: ReturnType<Ajv['compile']> | undefined;

/**
 * A request that does not fit plan/request.schema.json; `field` is the JSON path of the first
 * problem.
 */
export class InvalidRequest extends Error {
  readonly code = 'E-REQUEST-INVALID';
  constructor(
    readonly field: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'InvalidRequest';
  }
}

function describe(error: ErrorObject): { field: string; message: string } {
  const field = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : '';
  switch (error.keyword) {
    case 'required':
      return { field: joinField(field, String(error.params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return {
        field: joinField(field, String(error.params.additionalProperty)),
        message: 'is not a request field',
      };
    case 'enum':
      return {
        field,
        message: `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'pattern':
      return {
        field,
        message: field.endsWith('latency')
          ? 'must be a duration such as 2s or 500ms'
          : `has characters outside ${error.params.pattern}`,
      };
    default:
      return { field, message: error.message ?? 'is invalid' };
  }
}

function joinField(parent: string, child: string): string {
  return parent ? `${parent}.${child}` : child;
}

/** Checks a parsed JSON value against the request schema; throws `InvalidRequest` naming the field. */
export function validateRequest(value: unknown): InferenceRequest {
  validator ??= new Ajv({ allErrors: false, strict: true }).compile(schema);
  if (!validator(value)) {
    const { field, message } = describe(validator.errors![0]!);
    const id =
      typeof value === 'object' && value && typeof (value as { id?: unknown }).id === 'string'
        ? (value as { id: string }).id
        : undefined;
    throw new InvalidRequest(
      field || '(request)',
      `${field ? `field '${field}'` : 'the request'} ${message}`,
      id,
    );
  }
  return value as InferenceRequest;
}
