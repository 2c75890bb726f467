import { describe, expect, it } from 'vitest';
import { EndpointPool } from '../../activities/providers/endpoints.js';
import type { ClassifiedError } from '../../activities/providers/errors.js';
import { Semaphore } from '../../activities/providers/semaphore.js';

const refused: ClassifiedError = { errorClass: 'retryable', code: 'ECONNREFUSED', message: 'refused' };
const unavailable: ClassifiedError = { errorClass: 'retryable', status: 503, message: '503' };
const badRequest: ClassifiedError = { errorClass: 'non-retryable', status: 400, message: '400' };

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('EndpointPool', () => {
  it('goes round-robin', () => {
    const pool = new EndpointPool(['a', 'b', 'c']);
    expect([pool.next(), pool.next(), pool.next(), pool.next()]).toEqual(['a', 'b', 'c', 'a']);
  });

  it('skips an endpoint after 3 consecutive failures for the cool-down, then puts it on probation', () => {
    const c = clock();
    const pool = new EndpointPool(['a', 'b'], { now: c.now, cooldownMs: 30_000 });
    pool.failure('a', refused);
    pool.failure('a', unavailable);
    expect(pool.next()).toBe('a'); // two failures: still used
    pool.failure('a', refused);
    expect([pool.next(), pool.next(), pool.next()]).toEqual(['b', 'b', 'b']);
    c.advance(29_999);
    expect(pool.next()).toBe('b');
    c.advance(1);
    expect([pool.next(), pool.next()]).toEqual(['a', 'b']);
    // On probation: one more failure and it cools down again.
    pool.failure('a', refused);
    expect([pool.next(), pool.next()]).toEqual(['b', 'b']);
  });

  it('a success or a non-health error clears the record', () => {
    const pool = new EndpointPool(['a', 'b']);
    pool.failure('a', refused);
    pool.failure('a', refused);
    pool.success('a');
    pool.failure('a', refused);
    pool.failure('a', refused);
    pool.failure('a', badRequest); // the endpoint answered: it is alive
    pool.failure('a', refused);
    expect(pool.snapshot()[0]).toMatchObject({ endpoint: 'a', consecutiveFailures: 1, coolingUntil: 0 });
  });

  it('uses the endpoint that recovers first when every one is cooling down', () => {
    const c = clock();
    const pool = new EndpointPool(['a', 'b'], { now: c.now, failureThreshold: 1, cooldownMs: 10_000 });
    pool.failure('b', refused);
    c.advance(1000);
    pool.failure('a', refused);
    expect([pool.next(), pool.next()]).toEqual(['b', 'b']);
  });
});

describe('Semaphore', () => {
  it('grants in order and lets a waiter give up', async () => {
    const s = new Semaphore(1);
    const first = await s.acquire();
    const order: string[] = [];
    const controller = new AbortController();
    const second = s.acquire().then((release) => {
      order.push('second');
      release();
    });
    const abandoned = s.acquire(controller.signal);
    const third = s.acquire().then((release) => {
      order.push('third');
      release();
    });
    controller.abort(new Error('gave up'));
    await expect(abandoned).rejects.toThrow('gave up');
    expect(s.queued).toBe(2);
    first();
    await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    expect(s.active).toBe(0);
  });
});
