/**
 * The test provider server speaks the wire formats, not just enough for our providers: checked
 * with raw HTTP and with the official clients' other calls.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { TEST_MODEL, startProviderServer, type ProviderServer } from '../support/provider-server.js';

let server: ProviderServer;

beforeAll(async () => {
  server = await startProviderServer({ models: [TEST_MODEL, 'other'] });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => server.reset());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

interface Chunk {
  id: string;
  object: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

const user = [{ role: 'user', content: 'Hi' }];

describe('Ollama API', () => {
  it('streams NDJSON by default, ending with the stats', async () => {
    const res = await post('/api/chat', { model: TEST_MODEL, messages: user, options: { num_predict: 6 } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = lines.at(-1)!;
    expect(lines.slice(0, -1).every((l) => l.done === false)).toBe(true);
    expect(last).toMatchObject({ model: TEST_MODEL, done: true, done_reason: 'length', eval_count: 6 });
    for (const key of ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration']) {
      expect(typeof last[key], key).toBe('number');
    }
    expect(typeof last.created_at).toBe('string');
  });

  it('answers /api/generate, /api/tags and /api/version through the official client', async () => {
    const client = new Ollama({ host: server.url });
    const g = await client.generate({ model: TEST_MODEL, prompt: 'Hi', options: { num_predict: 5 } });
    expect(g).toMatchObject({ done: true, done_reason: 'length', eval_count: 5 });
    expect(g.response?.length).toBeGreaterThan(0);
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual([TEST_MODEL, 'other']);
    expect(tags.models[0]!.details.format).toBe('gguf');
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('errors are {"error": "…"} with the status, an unknown model is 404', async () => {
    const res = await post('/api/chat', { model: 'nope', messages: user, stream: false });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.stringContaining('nope') });
    server.faults.add({ status: 503, retryAfter: 4, times: 1 });
    const busy = await post('/api/chat', { model: TEST_MODEL, messages: user, stream: false });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('4');
    expect(Object.keys((await busy.json()) as object)).toEqual(['error']);
  });
});

describe('OpenAI API', () => {
  it('streams SSE chunks, the usage chunk last, then [DONE]', async () => {
    const res = await post('/v1/chat/completions', {
      model: TEST_MODEL,
      messages: user,
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks[0]!.choices[0].delta.role).toBe('assistant');
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ completion_tokens: 5 });
    expect(usage.usage!.total_tokens).toBe(usage.usage!.prompt_tokens + 5);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length');
  });

  it('lists models and honours max_completion_tokens through the official client', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual([TEST_MODEL, 'other']);
    const c = await client.chat.completions.create({
      model: 'other',
      messages: [{ role: 'user', content: 'Hi' }],
      max_completion_tokens: 4,
    });
    expect(c.object).toBe('chat.completion');
    expect(c.choices[0]!.finish_reason).toBe('length');
    expect(c.usage?.completion_tokens).toBe(4);
  });

  it('errors are {"error": {message, type, param, code}}', async () => {
    const res = await post('/v1/chat/completions', { model: TEST_MODEL, messages: [] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });
    server.faults.add({ status: 429, retryAfter: 2, times: 1 });
    const limited = await post('/v1/chat/completions', { model: TEST_MODEL, messages: user });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
  });
});

describe('faults and records', () => {
  it('applies a fault to its model only, for its count', async () => {
    server.faults.add({ model: 'other', status: 500, times: 2 });
    const statuses: number[] = [];
    for (const model of ['other', TEST_MODEL, 'other', 'other']) {
      const res = await post('/v1/chat/completions', { model, messages: user, max_tokens: 1 });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([500, 200, 500, 200]);
    expect(server.faults.pending).toEqual([]);
  });

  it('records what it was sent, with credentials masked', async () => {
    await (
      await post(
        '/api/chat',
        { model: TEST_MODEL, messages: user, stream: false, options: { num_predict: 2 } },
        { authorization: 'Bearer s3cret-value' },
      )
    ).json();
    const [record] = server.requests;
    expect(record).toMatchObject({
      api: 'ollama',
      method: 'POST',
      path: '/api/chat',
      model: TEST_MODEL,
      messages: user,
      stream: false,
    });
    expect(record!.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(server.requests)).not.toContain('s3cret-value');
  });
});

describe('the faults a new user meets, and a slow model', () => {
  it('ignoreStream: a streaming request gets one plain JSON completion', async () => {
    server.faults.add({ ignoreStream: true, times: 1 });
    const res = await post('/v1/chat/completions', {
      model: TEST_MODEL,
      messages: user,
      max_tokens: 3,
      stream: true,
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 3 } });
    expect(server.requests[0]).toMatchObject({ stream: true, fault: { ignoreStream: true } });
  });

  it('errorBody: the error answer is exactly the body given', async () => {
    server.faults.add({ status: 503, errorBody: { error: { message: 'loading' } }, times: 1 });
    server.faults.add({
      status: 502,
      errorBody: '<h1>Bad Gateway</h1>',
      errorContentType: 'text/html',
      times: 1,
    });
    const json = await post('/api/chat', { model: TEST_MODEL, messages: user });
    expect(json.status).toBe(503);
    expect(await json.json()).toEqual({ error: { message: 'loading' } });
    const html = await post('/api/chat', { model: TEST_MODEL, messages: user });
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toBe('text/html');
    expect(await html.text()).toBe('<h1>Bad Gateway</h1>');
  });

  it('tokenDelayMs: the model slows down, and a client that leaves is recorded', async () => {
    server.faults.add({ tokenDelayMs: 30, times: 1 });
    const started = performance.now();
    const res = await post('/api/chat', { model: TEST_MODEL, messages: user, options: { num_predict: 10 } });
    await res.text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(server.requests[0]!.clientGone).toBeUndefined();

    server.faults.add({ tokenDelayMs: 30, times: 1 });
    const controller = new AbortController();
    const slow = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: TEST_MODEL, messages: user }),
      signal: controller.signal,
    });
    const reader = slow.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => server.requests[1]!.clientGone, { timeout: 1000, interval: 10 }).toBe(true);
    await expect.poll(() => server.engine.stats.active, { timeout: 1000, interval: 10 }).toBe(0);
  });

  it("honours Ollama's repeat_penalty options, and applies none unless asked", async () => {
    const ask = async (options: Record<string, number>) => {
      const res = await post('/api/chat', {
        model: TEST_MODEL,
        messages: [{ role: 'user', content: 'Once upon a time there was a dog.' }],
        stream: false,
        options: { num_predict: 200, ...options },
      });
      return ((await res.json()) as { message: { content: string } }).message.content;
    };
    const plain = await ask({});
    expect(plain).toContain('shiny shiny shiny shiny');
    const penalised = await ask({ repeat_penalty: 1.1 });
    expect(penalised).not.toContain('shiny shiny');
    expect(await ask({ repeat_penalty: 1.1, repeat_last_n: 64 })).toBe(penalised);
    expect(await ask({ repeat_penalty: 1, repeat_last_n: 0 })).toBe(plain);
  });
});
