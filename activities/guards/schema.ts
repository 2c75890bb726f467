/**
 * `after` guards' `schema`: the answer must be JSON that satisfies the JSON Schema the plan embeds
 * (`GuardPlan.schema.schema`; the compiler resolved the file and refused a missing or invalid one).
 * A failure makes the answer invalid (`output.invalid`), which `escalate … when output.invalid` uses.
 *
 * The answer may be wrapped in a Markdown code fence (```json … ```): models often do that. The
 * dialect follows the schema's `$schema` (2020-12, 2019-09, else draft-07 — ajv's default). The
 * formats `date-time`, `date`, `time`, `email`, `uri`, `uuid`, `ipv4`, `ipv6` are checked; other
 * formats are accepted as any string. Compiled validators are cached per schema object.
 */
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { isIPv4, isIPv6 } from 'node:net';

export interface SchemaCheck {
  valid: boolean;
  /** `/path: message` for each problem (at most 10); empty when valid. */
  errors: string[];
}

const FORMATS: Record<string, (value: string) => boolean> = {
  'date-time': (v) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/.test(v) &&
    !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)),
  time: (v) => /^\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?$/.test(v),
  email: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v),
  uri: (v) => {
    try {
      return /^[a-z][a-z0-9+.-]*:/i.test(v) && new URL(v).protocol !== '';
    } catch {
      return false;
    }
  },
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  ipv4: (v) => isIPv4(v),
  ipv6: (v) => isIPv6(v),
};

type Dialect = 'draft-07' | '2019-09' | '2020-12';
const engines = new Map<Dialect, Ajv>();
const compiled = new WeakMap<object, ValidateFunction>();

function engine(dialect: Dialect): Ajv {
  let ajv = engines.get(dialect);
  if (ajv === undefined) {
    const options = { allErrors: true, strict: false, logger: false as const };
    ajv =
      dialect === '2020-12'
        ? new Ajv2020(options)
        : dialect === '2019-09'
          ? new Ajv2019(options)
          : new Ajv(options);
    for (const [name, check] of Object.entries(FORMATS))
      ajv.addFormat(name, { type: 'string', validate: check });
    engines.set(dialect, ajv);
  }
  return ajv;
}

function dialectOf(schema: unknown): Dialect {
  const declared =
    typeof schema === 'object' && schema !== null ? (schema as { $schema?: unknown }).$schema : undefined;
  if (typeof declared === 'string' && declared.includes('2020-12')) return '2020-12';
  if (typeof declared === 'string' && declared.includes('2019-09')) return '2019-09';
  return 'draft-07';
}

/** The compiled validator of a schema (cached); throws when the schema itself is invalid. */
export function compileSchema(schema: unknown): ValidateFunction {
  if (typeof schema === 'boolean') return engine('draft-07').compile(schema);
  if (typeof schema !== 'object' || schema === null)
    throw new TypeError('a JSON Schema must be an object or a boolean');
  let validate = compiled.get(schema);
  if (validate === undefined) {
    const ajv = engine(dialectOf(schema));
    // A schema's own `$id` may only be registered once per engine, and `$schema` already chose the
    // engine (ajv would refuse draft-04/06 meta-schema URIs it does not hold): compile a copy without them.
    const { $id: _id, $schema: _meta, ...rest } = schema as Record<string, unknown>;
    validate = ajv.compile(rest as AnySchema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** The answer's JSON: the whole text, or the content of a single Markdown code fence around it. */
export function answerJson(answer: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const trimmed = answer.trim();
  const fenced = /^```[A-Za-z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/.exec(trimmed);
  const text = fenced?.[1] ?? trimmed;
  if (text === '') return { ok: false, error: 'the answer is empty, not JSON' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: `the answer is not JSON: ${(error as Error).message}` };
  }
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === '' ? '/' : error.instancePath;
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${String((error.params as { additionalProperty?: unknown }).additionalProperty)})`
      : error.keyword === 'enum'
        ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
        : '';
  return `${at}: ${error.message ?? error.keyword}${extra}`;
}

/** Validates an answer against a guard's schema. */
export function validateAnswer(schema: unknown, answer: string): SchemaCheck {
  const json = answerJson(answer);
  if (!json.ok) return { valid: false, errors: [json.error] };
  const validate = compileSchema(schema);
  if (validate(json.value)) return { valid: true, errors: [] };
  return { valid: false, errors: (validate.errors ?? []).slice(0, 10).map(describe) };
}
