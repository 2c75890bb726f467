/** Money, durations, token estimates and request fields. */
import { describe, expect, it } from 'vitest';
import { costNanos, formatDollars, parseDollars, readDollars } from '../../plan/money.js';
import { estimateInputTokens, parseDuration, requestField, tryParseDuration } from '../../plan/request.js';
import { request } from './fixtures.js';

describe('money', () => {
  it('costNanos is ceil(tokens × nanos / perTokens), exactly', () => {
    expect(costNanos(1_000, { nanos: 2_500_000, perTokens: 1_000 })).toBe(2_500_000);
    expect(costNanos(31, { nanos: 100_000, perTokens: 1_000 })).toBe(3_100);
    expect(costNanos(1, { nanos: 1, perTokens: 1_000 })).toBe(1);
    expect(costNanos(1_000, { nanos: 1, perTokens: 1_000 })).toBe(1);
    expect(costNanos(1_001, { nanos: 1, perTokens: 1_000 })).toBe(2);
    expect(costNanos(10, { nanos: 1, perTokens: 3 })).toBe(4);
    expect(costNanos(0, { nanos: 5, perTokens: 1 })).toBe(0);
    expect(costNanos(100, null)).toBe(0);
  });

  it('costNanos stays exact beyond the safe-integer product (BigInt path)', () => {
    // 9e15 × 3 overflows 2^53 as a product; the quotient does not.
    expect(costNanos(9_000_000_000_000, { nanos: 3_000, perTokens: 1_000_000 })).toBe(27_000_000_000);
    expect(costNanos(9_000_000_000_001, { nanos: 3_000, perTokens: 1_000_000 })).toBe(27_000_000_001);
    expect(() => costNanos(1.5, { nanos: 1, perTokens: 1 })).toThrow(RangeError);
  });

  it('formatDollars prints exact decimals without trailing zeros', () => {
    expect(formatDollars(13_900)).toBe('0.0000139');
    expect(formatDollars(500_000_000_000)).toBe('500');
    expect(formatDollars(0)).toBe('0');
    expect(formatDollars(2_500_000)).toBe('0.0025');
    expect(formatDollars(1)).toBe('0.000000001');
    expect(formatDollars(1_234_567_890_123)).toBe('1234.567890123');
    expect(formatDollars(-1_500_000_000)).toBe('-1.5');
    expect(formatDollars(10n ** 20n)).toBe('100000000000');
  });

  it('readDollars reads money text exactly, rounding digits past the ninth decimal up', () => {
    expect(readDollars('$0.0025')).toEqual({ nanos: 2_500_000n, exact: true });
    expect(readDollars('0.0000000011')).toEqual({ nanos: 2n, exact: false });
    expect(readDollars('0.0000000010')).toEqual({ nanos: 1n, exact: false });
    expect(readDollars('99999999999')).toEqual({ nanos: 99_999_999_999_000_000_000n, exact: true });
    expect(readDollars('$.5')).toBeUndefined();
    expect(readDollars('1e3')).toBeUndefined();
  });

  it('parseDollars is exact and refuses sub-nano amounts', () => {
    expect(parseDollars('$0.0025')).toBe(2_500_000);
    expect(parseDollars('$500')).toBe(500_000_000_000);
    expect(parseDollars('0.1')).toBe(100_000_000);
    expect(parseDollars('$0.000000001')).toBe(1);
    // 0.1 + 0.2 style float errors cannot happen: 0.3 is 300000000 nanos exactly.
    expect(parseDollars('$0.3')).toBe(parseDollars('$0.1') + parseDollars('$0.2'));
    expect(() => parseDollars('$0.0000000001')).toThrow(/at most 9 decimals/);
    expect(() => parseDollars('$1e3')).toThrow(SyntaxError);
    expect(() => parseDollars('$.5')).toThrow(SyntaxError);
    expect(() => parseDollars('$99999999999')).toThrow(/too large/);
    for (const text of ['0.0000139', '500', '0.0025', '1234.567890123']) {
      expect(formatDollars(parseDollars(text))).toBe(text);
    }
  });
});

describe('requests', () => {
  it('estimates input tokens as ceil(chars / 4) + 4 per message', () => {
    expect(estimateInputTokens([])).toBe(0);
    expect(estimateInputTokens([{ role: 'user', content: '' }])).toBe(4);
    expect(
      estimateInputTokens([
        { role: 'system', content: 'You are a helpful support agent.' }, // 32 chars → 8
        { role: 'user', content: 'Where is my invoice?' }, // 20 chars → 5
      ]),
    ).toBe(8 + 4 + 5 + 4);
    expect(estimateInputTokens([{ role: 'user', content: 'abcde' }])).toBe(2 + 4);
  });

  it('parses durations', () => {
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(tryParseDuration('2 s')).toBeUndefined();
    expect(tryParseDuration('2S')).toBeUndefined();
    expect(() => parseDuration('1.5s')).toThrow(/not a duration/);
  });

  it('requestField gives typed values with the docs/language.md §5.1 defaults; missing fields are undefined', () => {
    const bare = request({ messages: [{ role: 'user', content: 'hello world!' }] });
    expect(requestField(bare, 'capability')).toEqual({ kind: 'string', value: 'chat' });
    expect(requestField(bare, 'mode')).toEqual({ kind: 'name', value: 'interactive' });
    expect(requestField(bare, 'classification')).toEqual({ kind: 'name', value: 'internal' });
    expect(requestField(bare, 'input.tokens')).toEqual({ kind: 'tokens', value: 7 });
    for (const field of ['team', 'app', 'user', 'region', 'tag.ticket', 'max-tokens', 'latency', 'bogus']) {
      expect(requestField(bare, field)).toBeUndefined();
    }
    const full = request({
      team: 'support',
      app: 'helpdesk',
      user: 'u-42',
      region: 'eu',
      tags: { ticket: 'T-1' },
      maxTokens: 256,
      latency: '2s',
      inputTokens: 40_000,
      mode: 'batch',
      classification: 'restricted',
    });
    expect(requestField(full, 'tag.ticket')).toEqual({ kind: 'string', value: 'T-1' });
    expect(requestField(full, 'tag.constructor')).toBeUndefined();
    expect(requestField(full, 'max-tokens')).toEqual({ kind: 'tokens', value: 256 });
    expect(requestField(full, 'latency')).toEqual({ kind: 'duration', ms: 2_000 });
    expect(requestField(full, 'input.tokens')).toEqual({ kind: 'tokens', value: 40_000 });
    expect(requestField(full, 'mode')).toEqual({ kind: 'name', value: 'batch' });
    expect(requestField(full, 'team')).toEqual({ kind: 'string', value: 'support' });
    expect(requestField(full, 'region')).toEqual({ kind: 'string', value: 'eu' });
  });
});
