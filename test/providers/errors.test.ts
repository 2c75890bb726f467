import { describe, expect, it } from 'vitest';
import {
  ProviderError,
  classifyError,
  parseRetryAfter,
  redactSecrets,
  toApplicationFailure,
} from '../../activities/providers/errors.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an HTTP date against the given clock, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:05 GMT', NOW)).toBe(5000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:59:00 GMT', NOW)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('classifyError', () => {
  const http = (status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${status} something`), { status, ...extra });

  it('5xx is retryable, with Retry-After it is retry-after', () => {
    expect(classifyError(http(503), { now: NOW })).toMatchObject({ errorClass: 'retryable', status: 503 });
    expect(classifyError(http(500), { now: NOW }).errorClass).toBe('retryable');
    expect(
      classifyError(http(503, { headers: new Headers({ 'retry-after': '7' }) }), { now: NOW }),
    ).toMatchObject({ errorClass: 'retry-after', retryAfterMs: 7000 });
  });

  it('429 is retry-after, honouring Retry-After (seconds, date, retry-after-ms) when sent', () => {
    const bare = classifyError(http(429), { now: NOW });
    expect(bare.errorClass).toBe('retry-after');
    expect(bare.retryAfterMs).toBeUndefined();
    expect(
      classifyError(http(429, { headers: new Headers({ 'retry-after': '2' }) }), { now: NOW }),
    ).toMatchObject({
      errorClass: 'retry-after',
      retryAfterMs: 2000,
    });
    expect(
      classifyError(http(429, { headers: { 'Retry-After': 'Wed, 01 Jan 2025 12:00:30 GMT' } }), { now: NOW }),
    ).toMatchObject({ errorClass: 'retry-after', retryAfterMs: 30_000 });
    expect(
      classifyError(http(429, { headers: new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }) }), {
        now: NOW,
      }),
    ).toMatchObject({ errorClass: 'retry-after', retryAfterMs: 250 });
  });

  it('400/401/403/404/422 are non-retryable', () => {
    for (const status of [400, 401, 403, 404, 422]) {
      expect(classifyError(http(status)).errorClass, String(status)).toBe('non-retryable');
    }
    expect(classifyError(http(408)).errorClass).toBe('retryable');
    expect(classifyError(http(413)).errorClass).toBe('context-length');
  });

  it('context-length from an OpenAI code, an OpenAI message or an Ollama message', () => {
    expect(classifyError(http(400, { error: { code: 'context_length_exceeded' } }))).toMatchObject({
      errorClass: 'context-length',
      code: 'context_length_exceeded',
    });
    expect(
      classifyError(http(400, { message: "This model's maximum context length is 8192 tokens." })).errorClass,
    ).toBe('context-length');
    const ollama = Object.assign(new Error('the input length exceeds the context length'), {
      status_code: 400,
    });
    expect(classifyError(ollama)).toMatchObject({ errorClass: 'context-length', status: 400 });
    // Inside an Ollama stream an error has no status at all.
    expect(classifyError(new Error('the input length exceeds the context length')).errorClass).toBe(
      'context-length',
    );
  });

  it('connection errors are retryable and name their code', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyError(refused)).toMatchObject({ errorClass: 'retryable', code: 'ECONNREFUSED' });
    expect(classifyError(new Error('socket hang up')).errorClass).toBe('retryable');
    expect(classifyError(new TypeError('terminated')).errorClass).toBe('retryable');
  });

  it('timeouts: our own timer, a timeout-named error, a timeout code', () => {
    expect(classifyError(new Error('aborted'), { timedOut: true }).errorClass).toBe('timeout');
    expect(
      classifyError(Object.assign(new Error('Request timed out.'), { name: 'APIConnectionTimeoutError' }))
        .errorClass,
    ).toBe('timeout');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).errorClass).toBe(
      'timeout',
    );
  });

  it('is idempotent on a ProviderError', () => {
    const first = new ProviderError({
      errorClass: 'retry-after',
      status: 429,
      retryAfterMs: 2000,
      message: 'slow down',
    });
    expect(classifyError(first)).toMatchObject({
      errorClass: 'retry-after',
      status: 429,
      retryAfterMs: 2000,
    });
  });

  it('never lets a secret through', () => {
    const key = 'sk-proj-abcdefghijklmnop1234';
    const err = http(401, {
      message: `401 Incorrect API key provided: ${key}. Authorization: Bearer ${key}`,
    });
    const c = classifyError(err, { secrets: [key] });
    expect(c.message).not.toContain(key);
    expect(c.message).toContain('[redacted]');
    expect(c.errorClass).toBe('non-retryable');
  });
});

describe('redactSecrets', () => {
  it('removes known secrets and credential-shaped text', () => {
    const out = redactSecrets(
      'key=hunter2-very-secret api_key: "abc123" Authorization: Basic dXNlcjpwYXNz token ghp_0123456789abcdefghij and s3cr3t-value',
      ['s3cr3t-value'],
    );
    for (const secret of [
      'hunter2-very-secret',
      'abc123',
      'dXNlcjpwYXNz',
      'ghp_0123456789abcdefghij',
      's3cr3t-value',
    ]) {
      expect(out).not.toContain(secret);
    }
  });
});

describe('toApplicationFailure', () => {
  it('maps each class to type, retryability and delay', () => {
    const retryAfter = toApplicationFailure(
      new ProviderError(
        { errorClass: 'retry-after', status: 429, retryAfterMs: 2000, message: 'HTTP 429: slow' },
        { provider: 'p', endpoint: 'e' },
      ),
    );
    expect(retryAfter.type).toBe('retry-after');
    expect(retryAfter.nonRetryable).toBe(false);
    expect(retryAfter.nextRetryDelay).toBe(2000);
    expect(retryAfter.details?.[0]).toMatchObject({
      errorClass: 'retry-after',
      status: 429,
      provider: 'p',
      endpoint: 'e',
    });

    expect(toApplicationFailure({ errorClass: 'non-retryable', message: 'x' }).nonRetryable).toBe(true);
    expect(toApplicationFailure({ errorClass: 'context-length', message: 'x' }).nonRetryable).toBe(true);
    const timeout = toApplicationFailure({ errorClass: 'timeout', message: 'x' });
    expect(timeout.nonRetryable).toBe(false);
    expect(timeout.nextRetryDelay).toBeUndefined();
    expect(toApplicationFailure({ errorClass: 'retryable', message: 'x' }).type).toBe('retryable');
  });
});
