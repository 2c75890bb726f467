/**
 * A worker process killed (-9) in the middle of an attempt: `switchyard worker` runs as a child
 * process; while its attempt waits on a slow provider, it is killed; a new worker starts.
 *
 * - Attempts through the provider's queue (`--attempts remote`): Temporal notices the lost attempt
 *   (heartbeat timeout) and runs the same attempt again on the new worker.
 * - Local attempts (`--attempts local`: the worker serves the provider's queue itself): the workflow task
 *   times out, the next worker replays the request and runs the attempt again — through the
 *   provider's queue when it does not serve that queue itself (`NotLocal`).
 *
 * Either way the request completes with one answer, and its history replays.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SwitchyardClient } from '../../client/index.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  eventually,
  fetchHistories,
  replay,
  request,
  spawnCli,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
} from '../support/temporal.js';
import { MAIN_POLICY, catalog } from './fixtures.js';

let server: ProviderServer;
let client: SwitchyardClient;
let dir: string;
const taskQueue = uniqueName('kill');
const providerQueues = uniqueName('kq');
const children: CliProcess[] = [];

function startWorker(...extra: string[]): CliProcess {
  const child = spawnCli([
    'worker',
    '--policies',
    dir,
    '--address',
    temporalAddress(),
    '--task-queue',
    taskQueue,
    '--no-watch',
    ...extra,
  ]);
  children.push(child);
  return child;
}

beforeAll(async () => {
  server = await startProviderServer();
  dir = writePolicies({
    // A call timeout with room for a busy machine: the kill must land before the attempt's own timer
    // ends it (the local case waits for the decision, recorded at the workflow task's 8 s heartbeat).
    'catalog.policy': catalog(server.url, providerQueues).replace(
      'timeout 10s\n  private',
      'timeout 30s\n  private',
    ),
    'main.policy': MAIN_POLICY,
  });
  client = await SwitchyardClient.connect({ address: temporalAddress(), taskQueue });
});

afterAll(async () => {
  for (const child of children) child.child.kill('SIGKILL');
  await client?.close();
  await server?.close();
});

it(
  'completes a request whose worker was killed mid-attempt, with one answer (attempts through the queue)',
  { timeout: 90_000 },
  async () => {
    const first = startWorker('--attempts', 'remote');
    await first.waitFor(/switchyard worker ready/);

    const rid = uniqueName('req-killed');
    const calls = () => server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(rid));
    // The first call hangs (until its worker dies: the server stops waiting when the caller goes).
    server.faults.add({ model: 'small', delayMs: 30_000, times: 1 });
    const handle = await client.start(request(rid, 'main', { tags: { case: 'basic' } }));
    await eventually(() => calls().length === 1, 20_000, 'the first call to reach the provider');
    // The replacement is up before the kill (as a supervisor's standby would be), so the attempt's
    // timeouts measure Temporal noticing the loss, not a worker booting on a busy machine.
    const second = startWorker('--attempts', 'remote');
    await second.waitFor(/switchyard worker ready/);
    first.child.kill('SIGKILL');
    expect(await first.exited).not.toBe(0);

    const result = await handle.result();

    expect(result.status).toBe('served');
    expect(result.model).toBe('small');
    expect(result.output!.content!.length).toBeGreaterThan(0);
    // The machine saw one attempt: Temporal re-ran the lost one, it did not become a retry.
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.outcome).toBe('answered');
    // The lost call and the one that answered.
    expect(calls()).toHaveLength(2);
    expect(calls()[1]!.fault).toBeUndefined();

    const [history] = await fetchHistories([rid]);
    if (process.env.SHOW_TIMES) {
      const t0 =
        Number(history!.history.events![0]!.eventTime!.seconds) * 1000 +
        history!.history.events![0]!.eventTime!.nanos! / 1e6;
      for (const e of history!.history.events!)
        console.log(
          e.eventId?.toString(),
          e.eventType,
          Math.round(Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6 - t0),
        );
    }
    const started = history!.history.events!.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([2]);
    expect(await replay([history!])).toEqual([]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  },
);

it(
  'completes a request whose worker was killed mid local attempt; the next worker sends it through the queue',
  { timeout: 120_000 },
  async () => {
    const first = startWorker('--attempts', 'local');
    await first.waitFor(/switchyard worker ready/);

    const rid = uniqueName('req-killed-local');
    const calls = () => server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(rid));
    // The first call hangs past the workflow task's heartbeat (8 s): by then the decision — which
    // says this worker runs the queue's attempts itself — is recorded.
    server.faults.add({ model: 'small', delayMs: 60_000, times: 1 });
    const handle = await client.start(request(rid, 'main', { tags: { case: 'basic' } }));
    await eventually(() => calls().length === 1, 20_000, 'the first call to reach the provider');
    await eventually(
      async () => {
        const [h] = await fetchHistories([rid]);
        return h!.history.events!.some((e) => e.markerRecordedEventAttributes);
      },
      20_000,
      'the decision to be recorded',
    );
    // The next worker runs requests but not the provider's queue; another one polls that queue.
    // Both are up before the kill (standbys), so the timeouts measure Temporal, not a boot.
    const requests = startWorker('--queues', taskQueue);
    const gpu = startWorker('--queues', `${providerQueues}-local`);
    await requests.waitFor(/switchyard worker ready/);
    await gpu.waitFor(/switchyard worker ready/);
    first.child.kill('SIGKILL');
    expect(await first.exited).not.toBe(0);

    const result = await handle.result();

    expect(result.status, JSON.stringify(result.attempts)).toBe('served');
    expect(result.model).toBe('small');
    expect(result.output!.content!.length).toBeGreaterThan(0);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]!.outcome).toBe('answered');
    expect(calls()).toHaveLength(2);
    expect(calls()[1]!.fault).toBeUndefined();

    const [history] = await fetchHistories([rid]);
    const events = history!.history.events!;
    // The lost local attempt timed the workflow task out; the attempt then ran on the queue.
    expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name)).toEqual([
      `${providerQueues}-local`,
    ]);
    expect(await replay([history!])).toEqual([]);

    for (const child of [requests, gpu]) {
      child.child.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
  },
);
