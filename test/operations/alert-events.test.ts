/**
 * Which budget facts are alerts (operations/alerts.ts): thresholds per limit and window, `on-exceed
 * alert` reaching the limit instead of its 100%+ thresholds, money written as dollars, ids that
 * name the fact (the same fact, the same id); and what a webhook receives.
 */
import { describe, expect, it } from 'vitest';
import { alertRequest, budgetAlerts, sign } from '../../operations/alerts.js';
import type { BudgetStatus } from '../../store/budget-status.js';

const DAY = Date.UTC(2026, 11, 5);

function row(
  onExceed: string,
  spentNanos: number,
  spentTokens: number,
  scopeValue: string | null = 'support',
): BudgetStatus {
  const usage = (window: 'day' | 'month') => ({
    window,
    windowStart: window === 'day' ? DAY : Date.UTC(2026, 11, 1),
    windowEnd: window === 'day' ? DAY + 86_400_000 : Date.UTC(2027, 0, 1),
    spentNanos,
    reservedNanos: 0,
    spentTokens,
    reservedTokens: 0,
  });
  return {
    budget: 'support/monthly',
    policy: 'support',
    name: 'monthly',
    scope: 'team',
    scopeValue,
    onExceed,
    known: true,
    limits: [
      { limit: { kind: 'money', amount: 500_000_000_000, window: 'month' }, usage: usage('month') },
      { limit: { kind: 'tokens', amount: 1000, window: 'day' }, usage: usage('day') },
    ],
  };
}

describe('budget alerts', () => {
  it('a threshold per limit reached; none below', () => {
    const events = budgetAlerts([row('reject', 400_000_000_000, 100)], [80, 100], DAY + 5);
    expect(events.map((e) => [e.kind, e.window, e.percent])).toEqual([['budget_threshold', 'month', 80]]);
    expect(events[0]).toMatchObject({
      id: 'budget-threshold/support/monthly/support/month/2026-12-01T00:00:00.000Z/80',
      summary: 'Budget support/monthly (team support) crossed 80%: $400 of $500 per month spent',
      unit: 'nanodollars',
      spent: 400_000_000_000,
      limit: 500_000_000_000,
      at: new Date(DAY + 5).toISOString(),
    });
    expect(budgetAlerts([row('reject', 1, 10)], [80, 100], DAY)).toEqual([]);
  });

  it('every threshold crossed, each its own id; the same fact later has the same id', () => {
    const first = budgetAlerts([row('wait', 0, 1200)], [50, 80, 100, 150], DAY);
    expect(first.map((e) => e.id)).toEqual([
      'budget-threshold/support/monthly/support/day/2026-12-05T00:00:00.000Z/50',
      'budget-threshold/support/monthly/support/day/2026-12-05T00:00:00.000Z/80',
      'budget-threshold/support/monthly/support/day/2026-12-05T00:00:00.000Z/100',
    ]);
    const later = budgetAlerts([row('wait', 0, 1600)], [50, 80, 100, 150], DAY + 60_000);
    expect(later.map((e) => e.id)).toEqual([...first.map((e) => e.id), first[0]!.id.replace(/50$/, '150')]);
  });

  it('on-exceed alert: reaching the limit is budget_exceeded, in place of its 100%+ thresholds', () => {
    const events = budgetAlerts([row('alert', 0, 1000, null)], [80, 100], DAY);
    expect(events.map((e) => [e.kind, e.percent, e.id])).toEqual([
      ['budget_threshold', 80, 'budget-threshold/support/monthly/-/day/2026-12-05T00:00:00.000Z/80'],
      ['budget_exceeded', 100, 'budget-exceeded/support/monthly/-/day/2026-12-05T00:00:00.000Z'],
    ]);
    expect(events[1]!.summary).toBe(
      'Budget support/monthly exceeded (on-exceed alert): 1000 tokens of 1000 tokens per day spent',
    );
  });

  it('a budget whose limits are unknown makes no alert', () => {
    expect(budgetAlerts([{ ...row('reject', 0, 5000), known: false }], [80], DAY)).toEqual([]);
  });

  it('webhook bodies: Slack text, or the event signed with HMAC-SHA256', () => {
    const [event] = budgetAlerts([row('reject', 400_000_000_000, 0)], [80], DAY);
    const slack = alertRequest(event!, { name: 'chat', url: 'http://x', format: 'slack' }, 'ignored');
    expect(JSON.parse(slack.body)).toEqual({ text: event!.summary });
    expect(slack.headers['x-switchyard-signature']).toBeUndefined();
    expect(slack.headers['x-switchyard-alert-id']).toBe(event!.id);
    const json = alertRequest(event!, { name: 'pager', url: 'http://x', format: 'json' }, 'k3y');
    expect(JSON.parse(json.body)).toEqual(event);
    expect(json.headers['x-switchyard-signature']).toBe(`sha256=${sign(json.body, 'k3y')}`);
    // The HMAC is the standard one (RFC 4231 test case 2).
    expect(sign('what do ya want for nothing?', 'Jefe')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(
      alertRequest(event!, { name: 'pager', url: 'http://x', format: 'json' }, undefined).headers,
    ).not.toHaveProperty('x-switchyard-signature');
  });
});
