/** Conditions (docs/language.md §5) and split picks (§6 step 3, §6.3). */
import { describe, expect, it } from 'vitest';
import { conditionText, evalCondition, evalOutputCondition } from '../../plan/conditions.js';
import { decide } from '../../plan/evaluator.js';
import { hashId, pickWeighted } from '../../plan/split.js';
import type { CompareOp, Condition, OutputCondition, Value } from '../../plan/types.js';
import { capability, eq, name, plan, request, route, str, supportPlan } from './fixtures.js';

const cmp = (field: string, op: CompareOp, value: Value): Condition => ({
  op: 'compare',
  field,
  cmp: op,
  value,
});
const tokens = (value: number): Value => ({ kind: 'tokens', value });
const ms = (value: number): Value => ({ kind: 'duration', ms: value });

describe('request conditions', () => {
  it('a comparison on a missing field is false, != included, and not() of it is true', () => {
    const r = request();
    expect(evalCondition(eq('team', str('support')), r)).toBe(false);
    expect(evalCondition(cmp('team', '!=', str('support')), r)).toBe(false);
    expect(evalCondition(cmp('max-tokens', '<', tokens(10)), r)).toBe(false);
    expect(evalCondition(cmp('latency', '>=', ms(0)), r)).toBe(false);
    expect(evalCondition({ op: 'in', field: 'tag.ticket', values: [str('T-1')] }, r)).toBe(false);
    expect(evalCondition({ op: 'not', arg: eq('team', str('support')) }, r)).toBe(true);
    expect(evalCondition(cmp('team', '!=', str('support')), request({ team: 'sales' }))).toBe(true);
  });

  it('orders tokens, durations and classifications', () => {
    const r = request({ inputTokens: 8_000, maxTokens: 512, latency: '2s', classification: 'confidential' });
    expect(evalCondition(cmp('input.tokens', '>=', tokens(8_000)), r)).toBe(true);
    expect(evalCondition(cmp('input.tokens', '>', tokens(8_000)), r)).toBe(false);
    expect(evalCondition(cmp('max-tokens', '<=', tokens(512)), r)).toBe(true);
    expect(evalCondition(cmp('latency', '<', ms(2_001)), r)).toBe(true);
    expect(evalCondition(cmp('latency', '<', ms(2_000)), r)).toBe(false);
    expect(evalCondition(cmp('classification', '>=', name('confidential')), r)).toBe(true);
    expect(evalCondition(cmp('classification', '>', name('confidential')), r)).toBe(false);
    expect(evalCondition(cmp('classification', '<', name('restricted')), r)).toBe(true);
    // Defaults: classification internal, so >= confidential is false and > public true.
    expect(evalCondition(cmp('classification', '>=', name('confidential')), request())).toBe(false);
    expect(evalCondition(cmp('classification', '>', name('public')), request())).toBe(true);
    // Ordering a string field is never true (the validator refuses it).
    expect(evalCondition(cmp('team', '<', str('z')), request({ team: 'a' }))).toBe(false);
  });

  it('in, and, or, not', () => {
    const r = request({ capability: 'summarize', tags: { tier: 'gold' }, mode: 'batch' });
    expect(evalCondition({ op: 'in', field: 'capability', values: [str('chat'), str('summarize')] }, r)).toBe(
      true,
    );
    expect(evalCondition({ op: 'in', field: 'classification', values: [name('internal')] }, r)).toBe(true);
    expect(
      evalCondition({ op: 'and', args: [capability('summarize'), eq('tag.tier', str('gold'))] }, r),
    ).toBe(true);
    expect(
      evalCondition({ op: 'and', args: [capability('summarize'), eq('tag.tier', str('silver'))] }, r),
    ).toBe(false);
    expect(evalCondition({ op: 'or', args: [capability('chat'), eq('mode', name('batch'))] }, r)).toBe(true);
    expect(evalCondition({ op: 'not', arg: eq('mode', name('batch')) }, r)).toBe(false);
    expect(evalCondition({ op: 'true' }, r)).toBe(true);
  });

  it('prints back in source syntax with the precedence of docs/language.md §5.3', () => {
    const c: Condition = {
      op: 'or',
      args: [
        { op: 'and', args: [capability('chat'), eq('mode', name('interactive'))] },
        {
          op: 'not',
          arg: { op: 'or', args: [cmp('input.tokens', '>', tokens(8_000)), cmp('latency', '<', ms(1_500))] },
        },
      ],
    };
    expect(conditionText(c)).toBe(
      'capability == "chat" and mode == interactive or not (input.tokens > 8k or latency < 1500ms)',
    );
    const nested: Condition = {
      op: 'and',
      args: [{ op: 'or', args: [capability('a'), capability('b')] }, eq('team', str('say "hi" \\ o/'))],
    };
    expect(conditionText(nested)).toBe(
      '(capability == "a" or capability == "b") and team == "say \\"hi\\" \\\\ o/"',
    );
    expect(conditionText({ op: 'in', field: 'team', values: [str('a'), str('b')] })).toBe(
      'team in ["a", "b"]',
    );
    expect(conditionText(cmp('input.tokens', '>=', tokens(20_000_000)))).toBe('input.tokens >= 20M');
    expect(conditionText(cmp('latency', '<=', ms(120_000)))).toBe('latency <= 2m');
    expect(
      conditionText({ op: 'compare', field: 'x', cmp: '>', value: { kind: 'money', nanos: 2_500_000 } }),
    ).toBe('x > $0.0025');
    const out: OutputCondition = {
      op: 'or',
      args: [
        { op: 'output', field: 'truncated' },
        { op: 'output-tokens', cmp: '>', value: 1_000 },
      ],
    };
    expect(conditionText(out)).toBe('output.truncated or output.tokens > 1k');
  });

  it('a route without whenText reports its printed condition as matched', () => {
    const p = plan({
      routes: [
        route('r', { op: 'and', args: [capability('chat'), eq('team', str('x'))] }, { model: 'llama-8b' }),
      ],
    });
    expect(decide(p, request({ team: 'x' })).matched).toBe('capability == "chat" and team == "x"');
  });
});

describe('output conditions', () => {
  const answer = { truncated: true, empty: false, invalid: false, tokens: 256 };
  it('reads the answer', () => {
    expect(evalOutputCondition({ op: 'output', field: 'truncated' }, answer)).toBe(true);
    expect(evalOutputCondition({ op: 'output', field: 'empty' }, answer)).toBe(false);
    expect(evalOutputCondition({ op: 'output-tokens', cmp: '>', value: 255 }, answer)).toBe(true);
    expect(evalOutputCondition({ op: 'output-tokens', cmp: '>', value: 256 }, answer)).toBe(false);
    expect(
      evalOutputCondition(
        {
          op: 'and',
          args: [
            { op: 'output', field: 'truncated' },
            { op: 'not', arg: { op: 'output', field: 'invalid' } },
          ],
        },
        answer,
      ),
    ).toBe(true);
  });
});

describe('split', () => {
  it('hashes deterministically (FNV-1a over UTF-8, murmur3 finaliser)', () => {
    // Pinned values: a change here would move every split request in production.
    expect([hashId('req-1'), hashId('req-2'), hashId('é😀'), hashId('')]).toEqual([
      1216658960, 4249376621, 166440505, 2872998923,
    ]);
    expect([hashId('req-1'), hashId('req-2'), hashId('é😀')]).toEqual([
      hashIdPinned('req-1'),
      hashIdPinned('req-2'),
      hashIdPinned('é😀'),
    ]);
    expect(hashId('req-1')).not.toBe(hashId('req-2'));
  });

  it('the same id always picks the same target', () => {
    const p = supportPlan();
    for (let i = 0; i < 50; i++) {
      const id = `req-${i}`;
      const picks = new Set(
        [0, 1, 2].map(() => decide(p, request({ id, capability: 'x', mode: 'batch' })).chain[0]!.model),
      );
      expect(picks.size).toBe(1);
    }
  });

  it('over 10k ids the picks follow the weights (80/20)', () => {
    const p = supportPlan();
    let llama = 0;
    for (let i = 0; i < 10_000; i++) {
      const d = decide(p, request({ id: `req-2026-11-27-${i}`, capability: 'x', mode: 'batch' }));
      if (d.chain[0]!.model === 'llama-8b') llama += 1;
    }
    expect(llama).toBeGreaterThan(7_800);
    expect(llama).toBeLessThan(8_200);
  });

  it('pickWeighted spreads three targets by their weights', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[pickWeighted([50, 30, 20], `id-${i}`)]! += 1;
    expect(counts[0]).toBeGreaterThan(4_800);
    expect(counts[0]).toBeLessThan(5_200);
    expect(counts[1]).toBeGreaterThan(2_800);
    expect(counts[1]).toBeLessThan(3_200);
    expect(pickWeighted([], 'x')).toBe(-1);
    expect(pickWeighted([0, 5], 'x')).toBe(1);
  });

  it('a target removed by require drops out of the pick; the others keep their relative weights', () => {
    const p = supportPlan();
    for (let i = 0; i < 200; i++) {
      const d = decide(
        p,
        request({ id: `r-${i}`, capability: 'x', mode: 'batch', classification: 'confidential' }),
      );
      expect(d.chain.map((c) => c.model)).toEqual(['llama-8b']);
      expect(d.split).toEqual({
        targets: [
          { model: 'llama-8b', weight: 80 },
          { model: 'gpt-4o', weight: 20 },
        ],
        remaining: [{ model: 'llama-8b', weight: 80 }],
        picked: 'llama-8b',
      });
    }
    // Three targets, the middle one removed: the other two share 50:20.
    const three = plan({
      models: { ...p.models, 'llama-b': { ...p.models['llama-8b']!, name: 'llama-b' } },
      requires: [{ text: 'require private', when: null, kind: 'private' }],
      routes: [
        route(
          's',
          { op: 'true' },
          {
            split: [
              { model: 'llama-8b', weight: 50 },
              { model: 'gpt-4o', weight: 30 },
              { model: 'llama-b', weight: 20 },
            ],
          },
        ),
      ],
    });
    let first = 0;
    for (let i = 0; i < 7_000; i++)
      if (decide(three, request({ id: `q-${i}` })).chain[0]!.model === 'llama-8b') first += 1;
    expect(first / 7_000).toBeGreaterThan(0.69);
    expect(first / 7_000).toBeLessThan(0.74);
  });

  it('when no split target remains, the first remaining fallback is the primary', () => {
    const p = supportPlan();
    p.routes = [
      route(
        'b',
        { op: 'true' },
        { split: [{ model: 'gpt-4o', weight: 100 }] },
        { fallbacks: [{ model: 'llama-8b' }] },
      ),
    ];
    p.requires = [{ text: 'require private', when: null, kind: 'private' }];
    const d = decide(p, request());
    expect(d.chain.map((c) => [c.model, c.role])).toEqual([['llama-8b', 'primary']]);
    expect(d.split?.picked).toBeNull();
  });
});

/** An independent reference implementation of the pinned hash, written the long way. */
function hashIdPinned(text: string): number {
  const bytes = new TextEncoder().encode(text);
  let h = 0x811c9dc5n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x01000193n) & 0xffffffffn;
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & 0xffffffffn;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & 0xffffffffn;
  h ^= h >> 16n;
  return Number(h);
}
