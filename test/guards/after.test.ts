/** `after` guards: schema validation of answers (ajv) and block regexes. */
import { describe, expect, it } from 'vitest';
import { checkAfterGuards } from '../../activities/guards/index.js';
import { checkBlocks } from '../../activities/guards/block.js';
import { answerJson, compileSchema, validateAnswer } from '../../activities/guards/schema.js';
import type { GuardPlan } from '../../plan/types.js';

const ticket = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://example.com/ticket.json',
  type: 'object',
  required: ['category', 'priority'],
  additionalProperties: false,
  properties: {
    category: { enum: ['billing', 'bug', 'other'] },
    priority: { type: 'integer', minimum: 1, maximum: 5 },
    due: { type: 'string', format: 'date' },
  },
};

describe('schema', () => {
  it('accepts a valid answer, also inside a code fence', () => {
    expect(validateAnswer(ticket, '{"category":"bug","priority":2}')).toEqual({ valid: true, errors: [] });
    expect(
      validateAnswer(ticket, '```json\n{"category":"bug","priority":2,"due":"2026-12-01"}\n```').valid,
    ).toBe(true);
  });

  it('names every problem', () => {
    const check = validateAnswer(ticket, '{"category":"spam","priority":9,"extra":1}');
    expect(check.valid).toBe(false);
    expect(check.errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/category: must be equal to one of the allowed values'),
        expect.stringContaining('/priority: must be <= 5'),
        expect.stringContaining('must NOT have additional properties (extra)'),
      ]),
    );
  });

  it('checks formats', () => {
    expect(validateAnswer(ticket, '{"category":"bug","priority":1,"due":"tomorrow"}').errors).toEqual([
      '/due: must match format "date"',
    ]);
  });

  it('an answer that is not JSON is invalid', () => {
    expect(validateAnswer(ticket, 'Sure! The category is bug.')).toEqual({
      valid: false,
      errors: [expect.stringContaining('the answer is not JSON')],
    });
    expect(validateAnswer(ticket, '  ').errors).toEqual(['the answer is empty, not JSON']);
    expect(answerJson('```\n[1,2]\n```')).toEqual({ ok: true, value: [1, 2] });
  });

  it('follows $schema: 2020-12 keywords work', () => {
    const tuple = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      prefixItems: [{ type: 'string' }, { type: 'number' }],
      items: false,
    };
    expect(validateAnswer(tuple, '["a", 1]').valid).toBe(true);
    expect(validateAnswer(tuple, '["a", 1, 2]').valid).toBe(false);
  });

  it('caches per schema object, and the same $id in two schemas is fine', () => {
    expect(compileSchema(ticket)).toBe(compileSchema(ticket));
    const copy = structuredClone(ticket);
    expect(validateAnswer(copy, '{"category":"other","priority":3}').valid).toBe(true);
  });

  it('an invalid schema throws (the compiler refuses those before any plan exists)', () => {
    expect(() => compileSchema({ type: 'no-such-type' })).toThrow();
  });
});

describe('block', () => {
  it('a match blocks, with the rule message or the pattern', () => {
    const rules = [
      { pattern: 'BEGIN [A-Z ]*PRIVATE KEY', flags: 'i', message: 'no keys' },
      { pattern: '\\bpassword\\b', flags: 'g', message: null },
    ];
    expect(checkBlocks(rules, 'hello')).toEqual({ blocked: false });
    expect(checkBlocks(rules, '-----begin rsa private key-----').message).toBe('no keys');
    // `g` is dropped: repeated checks do not alternate.
    expect(checkBlocks(rules, 'the password is').message).toBe('answer matches /\\bpassword\\b/g');
    expect(checkBlocks(rules, 'the password is').blocked).toBe(true);
  });
});

describe('checkAfterGuards', () => {
  const guards: GuardPlan[] = [
    {
      name: 'json-only',
      phase: 'after',
      target: { kind: 'all' },
      redact: [],
      blocks: [{ pattern: 'lorem', flags: '', message: 'placeholder text' }],
      maxInput: null,
      schema: { path: 'ticket.schema.json', schema: ticket },
    },
    {
      name: 'pii',
      phase: 'before',
      target: { kind: 'all' },
      redact: ['email'],
      blocks: [],
      maxInput: null,
      schema: null,
    },
  ];

  it('valid answers pass every check', () => {
    expect(checkAfterGuards(guards, ['json-only'], '{"category":"bug","priority":1}')).toEqual({
      invalid: false,
      findings: [
        { guard: 'json-only', check: 'schema', ok: true },
        { guard: 'json-only', check: 'block', ok: true },
      ],
    });
  });

  it('a schema failure or a block match makes the answer invalid', () => {
    const result = checkAfterGuards(guards, ['json-only', 'pii'], 'lorem ipsum');
    expect(result.invalid).toBe(true);
    expect(result.findings.map((f) => [f.check, f.ok])).toEqual([
      ['schema', false],
      ['block', false],
    ]);
    expect(result.findings[0]!.detail).toMatch(/^ticket\.schema\.json: the answer is not JSON/);
  });
});
