/**
 * The direct runner (frontdoor/direct.ts) against the request workflow: the same requests, run
 * once through Temporal (real dev server, workers in this process) and once in-process, against
 * the provider test server (a real GGUF model) and one SQLite store, give the same results and
 * the same audit records — the two modes share the driver (plan/driver.ts) and the activities.
 * Then what only the direct mode does: a caller that goes away cancels the provider call and is
 * still charged and audited; a streamed request delivers its text as it comes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerName } from '../../activities/governance.js';
import type { DeltaSink } from '../../contract/index.js';
import { CALLER_GONE, createDirectRunner, type DirectRunner } from '../../frontdoor/direct.js';
import type { InferenceRequest, InferenceResult } from '../../plan/index.js';
import type { AuditRecord } from '../../store/types.js';
import { catalog, freshKey, KEY_ENV } from '../governance/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { eventually, startStack, uniqueName, writePolicies, type Stack } from '../support/temporal.js';

const POLICIES = `
import "catalog.policy"

policy direct {
  budget b per team {
    limit $1 per day
    on-exceed reject
  }
  rate-limit per team {
    1000 requests per minute
    on-exceed reject
  }
  route served when tag.case == "served" { use small max-tokens 8 }
  route fallback when tag.case == "fallback" {
    use small max-tokens 8
    fallback alt max-tokens 8
  }
  route slow when tag.case == "slow" { use small max-tokens 200 }
  route checked when tag.case == "checked" {
    use small max-tokens 8
    escalate alt when output.empty max-tokens 8
  }
  otherwise reject "no route for this case"
}

policy broke {
  budget b per team {
    limit $0.00001 per day
    on-exceed reject
  }
  route r when true { use small max-tokens 4 }
}
`;

let server: ProviderServer;
let stack: Stack;
let direct: DirectRunner;
const team = uniqueName('team');

function req(
  id: string,
  policy: string,
  tag: string,
  extra: Partial<InferenceRequest> = {},
): InferenceRequest {
  return {
    id,
    policy,
    capability: 'chat',
    team,
    inputTokens: 100,
    tags: { case: tag },
    // The same prompt for both modes: the model's answer (temperature 0) is then the same.
    messages: [{ role: 'user', content: `Once upon a time (${tag})` }],
    ...extra,
  };
}

/** What must be equal between the two modes: everything but ids and timings. */
function comparable(result: InferenceResult) {
  return {
    status: result.status,
    policy: result.policy,
    plan: result.plan,
    route: result.route,
    model: result.model,
    provider: result.provider,
    content: result.output?.content ?? null,
    usage: result.usage,
    cost: result.cost,
    costNanos: result.costNanos,
    reason: result.reason,
    attempts: result.attempts.map((a) => ({
      model: a.model,
      provider: a.provider,
      outcome: a.outcome,
      errorClass: a.errorClass ?? null,
      status: a.status ?? null,
    })),
    budgets: result.decision.budgets,
    rateLimits: result.decision.rateLimits,
  };
}

function comparableAudit(record: AuditRecord | null) {
  expect(record).not.toBeNull();
  const { id: _id, time: _time, seq: _seq, prevHash: _prev, hash: _hash, attempts, extra, ...rest } = record!;
  const { elapsedMs: _elapsed, ...otherExtra } = (extra ?? {}) as Record<string, unknown>;
  return {
    ...rest,
    attempts: attempts.map(({ ms: _ms, ...a }) => a),
    extra: otherExtra,
  };
}

/** Runs `make(id)` through the workflow and through the direct runner; returns both results. */
async function both(name: string, make: (id: string) => InferenceRequest, before?: () => void) {
  const wfId = uniqueName(`${name}-wf`);
  const dirId = uniqueName(`${name}-direct`);
  before?.();
  const durable = await stack.client.infer(make(wfId));
  server.faults.clear();
  before?.();
  const inProcess = await direct.run(make(dirId));
  server.faults.clear();
  return {
    durable,
    inProcess,
    audits: [await stack.store.getAudit(wfId), await stack.store.getAudit(dirId)] as const,
  };
}

beforeAll(async () => {
  process.env[KEY_ENV] = freshKey();
  server = await startProviderServer();
  const prefix = uniqueName('direct');
  const dir = writePolicies({ 'catalog.policy': catalog(server.url, prefix), 'direct.policy': POLICIES });
  stack = await startStack({ dir, taskQueue: uniqueName('direct-requests') });
  direct = createDirectRunner({ plans: stack.registry, store: stack.store, sweepEveryMs: 0 });
});

afterAll(async () => {
  direct?.close();
  await stack?.close();
  await server?.close();
});

describe('the direct runner and the request workflow', () => {
  it('serve a request alike, with equal audit records', async () => {
    const { durable, inProcess, audits } = await both('served', (id) => req(id, 'direct', 'served'));
    expect(durable.status).toBe('served');
    expect(durable.output?.content).toBeTruthy();
    expect(durable.costNanos).toBeGreaterThan(0);
    expect(comparable(inProcess)).toEqual(comparable(durable));
    expect(comparableAudit(audits[1])).toEqual(comparableAudit(audits[0]));
  });

  it('fall back alike after a provider fault', async () => {
    const { durable, inProcess, audits } = await both(
      'fallback',
      (id) => req(id, 'direct', 'fallback'),
      () => server.faults.add({ model: 'small', status: 503, times: 1 }),
    );
    expect(durable.status).toBe('served');
    expect(durable.model).toBe('alt');
    expect(durable.attempts.map((a) => [a.model, a.outcome, a.status])).toEqual([
      ['small', 'error', 503],
      ['alt', 'answered', undefined],
    ]);
    expect(comparable(inProcess)).toEqual(comparable(durable));
    expect(comparableAudit(audits[1])).toEqual(comparableAudit(audits[0]));
  });

  it('reject alike by a rule of the policy', async () => {
    const { durable, inProcess, audits } = await both('rule', (id) => req(id, 'direct', 'nothing'));
    expect(durable.status).toBe('rejected');
    expect(durable.reason).toBe('no route for this case');
    expect(comparable(inProcess)).toEqual(comparable(durable));
    expect(comparableAudit(audits[1])).toEqual(comparableAudit(audits[0]));
  });

  it('refuse alike when the budget cannot hold the attempt', async () => {
    const before = server.requests.length;
    const { durable, inProcess, audits } = await both('broke', (id) => req(id, 'broke', 'any'));
    expect(durable.status).toBe('rejected');
    expect(durable.reason).toMatch(/budget b exceeded/);
    expect(durable.attempts).toEqual([]);
    expect(server.requests.length).toBe(before);
    expect(comparable(inProcess)).toEqual(comparable(durable));
    expect(comparableAudit(audits[1])).toEqual(comparableAudit(audits[0]));
  });

  it('answer an unknown policy alike', async () => {
    const { durable, inProcess, audits } = await both('unknown', (id) => req(id, 'nosuch', 'any'));
    expect(durable.status).toBe('rejected');
    expect(comparable(inProcess)).toEqual(comparable(durable));
    expect(comparableAudit(audits[1])).toEqual(comparableAudit(audits[0]));
  });
});

describe('the direct runner alone', () => {
  it('cancels the provider call of a caller that went away, and charges and audits what was produced', async () => {
    const id = uniqueName('gone');
    const ledger = ledgerName('direct', 'b');
    const spentBefore = (await stack.store.usage(ledger, team, 'day')).spentNanos;
    server.faults.add({ model: 'small', tokenDelayMs: 100, times: 1 });
    const abort = new AbortController();
    const pieces: string[] = [];
    const result = await direct.run(req(id, 'direct', 'slow', { maxTokens: 200 }), {
      signal: abort.signal,
      sink: () => ({
        write: (text) => {
          pieces.push(text);
          // The caller leaves once a few pieces arrived.
          if (pieces.length === 3) abort.abort();
        },
        end: () => undefined,
      }),
    });
    server.faults.clear();

    expect(result.status).toBe('failed');
    expect(result.reason).toBe(CALLER_GONE);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]).toMatchObject({ model: 'small', outcome: 'error' });
    expect(result.usage.outputTokens).toBeGreaterThanOrEqual(3);
    expect(result.usage.outputTokens).toBeLessThan(200);
    expect(result.costNanos).toBeGreaterThan(0);

    // The provider saw the caller's connection close before its answer was complete.
    const call = server.requests.find((r) => JSON.stringify(r.messages ?? []).includes('(slow)'));
    expect(call).toBeDefined();
    await eventually(() => call!.clientGone === true, 5_000, 'the provider server to see the call closed');

    // Charged, nothing left reserved; one audit record.
    const usage = await stack.store.usage(ledger, team, 'day');
    expect(usage.spentNanos - spentBefore).toBe(result.costNanos);
    expect(usage.reservedNanos).toBe(0);
    const record = await stack.store.getAudit(id);
    expect(record).toMatchObject({ status: 'failed', reason: CALLER_GONE, costNanos: result.costNanos });
  });

  it('streams a request: the pieces joined are the answer', async () => {
    const pieces: string[] = [];
    const opened: [number, string][] = [];
    let ended = 0;
    const result = await direct.run(req(uniqueName('stream'), 'direct', 'served'), {
      sink: (attempt, model): DeltaSink => {
        opened.push([attempt, model]);
        return { write: (text) => pieces.push(text), end: () => void ended++ };
      },
    });
    expect(result.status).toBe('served');
    expect(opened).toEqual([[1, 'small']]);
    expect(ended).toBe(1);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(result.output?.content);
  });

  it('does not stream an answer that must be checked first (escalate … when output.*)', async () => {
    const opened: number[] = [];
    const result = await direct.run(req(uniqueName('checked'), 'direct', 'checked'), {
      sink: (attempt) => {
        opened.push(attempt);
        return { write: () => undefined, end: () => undefined };
      },
    });
    expect(result.status).toBe('served');
    expect(result.model).toBe('small');
    expect(result.output?.content).toBeTruthy();
    // The caller gets the answer once it passed (the front door sends it whole), never piecemeal.
    expect(opened).toEqual([]);
  });

  it('does not fall back into a started stream: a streamed attempt that fails ends the request', async () => {
    server.faults.add({ model: 'small', drop: 'mid-stream', times: 1 });
    const pieces: string[] = [];
    const result = await direct.run(req(uniqueName('drop'), 'direct', 'fallback'), {
      sink: () => ({ write: (text) => pieces.push(text), end: () => undefined }),
    });
    server.faults.clear();
    expect(pieces.length).toBeGreaterThan(0);
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/small failed after its answer began to stream/);
    expect(result.attempts.map((a) => a.model)).toEqual(['small']);
    // Not streamed, the same fault is followed by the fallback.
    server.faults.add({ model: 'small', drop: 'mid-stream', times: 1 });
    const plain = await direct.run(req(uniqueName('drop-plain'), 'direct', 'fallback'));
    server.faults.clear();
    expect(plain.status).toBe('served');
    expect(plain.model).toBe('alt');
  });
});
