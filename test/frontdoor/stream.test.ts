/**
 * Direct execution and streaming, in both modes, through the official `openai` npm client: the
 * streamed text is the answer, `include_usage` gives the exact usage, a failure after text reached
 * the caller ends the stream with an error, and a direct request's Idempotency-Key is honoured by
 * the front door that ran it.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/temporal.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { apiError, callsWith, startRig, type Rig } from './fixtures.js';

let server: ProviderServer;
const rigs: Partial<Record<'direct' | 'durable', Rig>> = {};

beforeAll(async () => {
  server = await startProviderServer();
  rigs.direct = await startRig('direct', { server });
  rigs.durable = await startRig('durable', { server });
});

afterAll(async () => {
  await rigs.direct?.close();
  await rigs.durable?.close();
  await server?.close();
});

const ask = (marker: string, model = 'chat') => ({
  model,
  messages: [{ role: 'user' as const, content: `Once upon a time [${marker}]` }],
});

async function collect(rig: Rig, marker: string, model = 'long') {
  const { data: stream, response } = await rig
    .openai()
    .chat.completions.create({ ...ask(marker, model), stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let text = '';
  let finish: string | null = null;
  let usage: unknown;
  let chunks = 0;
  let textChunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      text += choice.delta.content;
      textChunks++;
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  return { text, finish, usage, chunks, textChunks, headers: response.headers };
}

describe.each(['direct', 'durable'] as const)('%s', (mode) => {
  it('answers JSON with the mode in x-switchyard-execution', async () => {
    const rig = rigs[mode]!;
    const { data, response } = await rig
      .openai()
      .chat.completions.create(ask(`${mode}-json`))
      .withResponse();
    expect(data.model).toBe('small');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-execution')).toBe(mode);
    expect(response.headers.get('x-switchyard-route')).toBe('chat');
    expect(Number(response.headers.get('x-switchyard-attempts'))).toBe(1);
  });

  it('streams the same answer as JSON, with exact usage and [DONE]', async () => {
    const rig = rigs[mode]!;
    const marker = `${mode}-stream`;
    const json = await rig.openai().chat.completions.create(ask(marker, 'long'));
    const streamed = await collect(rig, marker);
    expect(streamed.text).toBe(json.choices[0]!.message.content);
    expect(streamed.finish).toBe(json.choices[0]!.finish_reason);
    expect(streamed.usage).toEqual(json.usage);
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(streamed.headers.get('x-switchyard-execution')).toBe(mode);
    // The text came as the model produced it (many pieces), not as one piece at the end.
    expect(streamed.textChunks).toBeGreaterThan(3);
  });

  it('releases a buffered attempt (an after guard checks it) when it passed, whole', async () => {
    const rig = rigs[mode]!;
    const marker = `${mode}-checked`;
    const json = await rig.openai().chat.completions.create(ask(marker, 'checked'));
    const streamed = await collect(rig, marker, 'checked');
    expect(streamed.text).toBe(json.choices[0]!.message.content);
    expect(streamed.textChunks).toBe(1);
    expect(streamed.usage).toEqual(json.usage);
  });

  it('a refused streamed request gets its HTTP status, not a stream', async () => {
    const rig = rigs[mode]!;
    const e = await apiError(
      rig.openai().chat.completions.create({
        model: 'chat',
        stream: true,
        messages: [{ role: 'user', content: 'FORBIDDEN' }],
      }),
    );
    expect(e).toMatchObject({ status: 422, code: 'request_refused' });
  });

  it('a failure after text reached the caller ends the stream with an error', async () => {
    const rig = rigs[mode]!;
    server.faults.add({ model: 'small', drop: 'mid-stream', times: 1 });
    try {
      const outcome = await collect(rig, `${mode}-drop`).then(
        () => 'completed',
        (err: unknown) => err,
      );
      expect(outcome).toBeInstanceOf(Error);
    } finally {
      server.faults.clear();
    }
  });
});

describe('direct: idempotency in the front door that ran it', () => {
  it('a retry with the same key gets the same answer, one provider call; another body is a 409', async () => {
    const rig = rigs.direct!;
    const key = `direct-${Date.now()}`;
    const first = await rig
      .openai()
      .chat.completions.create(ask('d-idem'), { headers: { 'idempotency-key': key } });
    const { data, response } = await rig
      .openai()
      .chat.completions.create(ask('d-idem'), { headers: { 'idempotency-key': key } })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(response.headers.get('x-switchyard-idempotent-replay')).toBe('true');
    expect(callsWith(server, 'd-idem')).toBe(1);
    const e = await apiError(
      rig.openai().chat.completions.create(ask('d-other'), { headers: { 'idempotency-key': key } }),
    );
    expect(e).toMatchObject({ status: 409, code: 'idempotency_key_conflict' });
  });
});

/** Starts a streamed request and hangs up after its first text event; resolves with the request id. */
function hangUpAfterFirstText(rig: Rig, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${rig.url}/v1/chat/completions`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${rig.key}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      const id = res.headers['x-switchyard-request-id'] as string;
      res.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('"content":"') && !d.includes('"content":""')) {
          req.destroy();
          resolve(id);
        }
      });
    });
    req.on('error', () => undefined);
    req.on('close', () => reject(new Error('closed before any text')));
    req.end(JSON.stringify({ ...ask(marker, 'long'), stream: true }));
  });
}

describe('a caller that hangs up mid-stream', () => {
  it('durable: the request runs on, is served and charged', async () => {
    const rig = rigs.durable!;
    const id = await hangUpAfterFirstText(rig, 'hangup-durable');
    const result = await rig.stack.client.handle(id).result();
    expect(result.status).toBe('served');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.costNanos).toBeGreaterThan(0);
  });

  it('direct: the provider call is cancelled, and what was produced is charged and audited', async () => {
    const rig = rigs.direct!;
    const id = await hangUpAfterFirstText(rig, 'hangup-direct');
    let record: Awaited<ReturnType<typeof rig.stack.store.getAudit>> = null;
    await eventually(
      async () => (record = await rig.stack.store.getAudit(id)) !== null,
      20_000,
      'the audit record',
    );
    expect(record!.status).toBe('failed');
    expect(record!.reason).toMatch(/caller went away/);
  });
});
