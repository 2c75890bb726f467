/**
 * Servers as a new user meets them: an OpenAI-compatible server that ignores `stream: true` and
 * answers one JSON completion, and an Ollama host (or the proxy in front of it) whose error bodies
 * are not Ollama's. Checked first with the official clients alone — so the test shows what they
 * do with such answers — then through our providers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { OllamaProvider } from '../../activities/providers/ollama.js';
import { OpenAIProvider } from '../../activities/providers/openai.js';
import { ProviderError } from '../../activities/providers/errors.js';
import type { ChatCall, Provider } from '../../activities/providers/types.js';
import type { Message } from '../../plan/types.js';
import { TEST_MODEL, startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { modelPlan, providerPlan } from '../support/provider-plans.js';

const MESSAGES: Message[] = [{ role: 'user', content: 'Once upon a time there was a dog.' }];

let server: ProviderServer;

beforeAll(async () => {
  server = await startProviderServer();
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => server.reset());

function call(provider: Provider, extra: Partial<ChatCall> = {}): ChatCall {
  return {
    provider: provider.plan,
    model: modelPlan(provider.plan),
    messages: MESSAGES,
    timeoutMs: 10_000,
    ...extra,
  };
}

const openai = (stream = true) =>
  new OpenAIProvider(providerPlan({ kind: 'openai', endpoints: [`${server.url}/v1`] }), { stream });
const ollama = (stream = true) =>
  new OllamaProvider(providerPlan({ kind: 'ollama', endpoints: [server.url] }), { stream });

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('a server that ignores stream: true', () => {
  it('answers one JSON completion, which the official openai client reads as an empty stream', async () => {
    server.faults.add({ ignoreStream: true, times: 2 });
    const raw = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: TEST_MODEL, messages: MESSAGES, max_tokens: 8, stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await raw.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ finish_reason: 'length' }],
    });

    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: TEST_MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 8,
      stream: true,
    });
    const chunks: unknown[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toEqual([]);
  });

  it('is answered all the same: the JSON completion is the answer, sent as one delta', async () => {
    const expected = await openai(false).chat(call(openai(false), { maxTokens: 30 }));
    server.reset();
    server.faults.add({ ignoreStream: true });
    const provider = openai(true);
    const deltas: string[] = [];
    const answer = await provider.chat(call(provider, { maxTokens: 30, onDelta: (d) => deltas.push(d) }));
    expect(answer).toMatchObject({
      content: expected.content,
      finishReason: 'length',
      usage: expected.usage,
    });
    expect(answer.usageEstimated).toBeUndefined();
    expect(deltas).toEqual([expected.content]);
    // One request, streamed as asked: the answer was not asked for twice.
    const seen = server.requests.filter((r) => r.messages);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.stream).toBe(true);
    expect(seen[0]!.fault?.ignoreStream).toBe(true);
  });

  it('an error object inside a 200 JSON answer is reported as what it says', async () => {
    server.faults.add({ status: 200, errorBody: { error: { message: 'the model is still loading' } } });
    const err = await failure(openai(true).chat(call(openai(true))));
    expect(err.errorClass).toBe('retryable');
    expect(err.message).toBe('the server answered an error: the model is still loading');
  });

  it('Ollama: the one final object is read as a stream of one line', async () => {
    const expected = await ollama(false).chat(call(ollama(false), { maxTokens: 30 }));
    server.reset();
    server.faults.add({ ignoreStream: true });
    const deltas: string[] = [];
    const answer = await ollama(true).chat(
      call(ollama(true), { maxTokens: 30, onDelta: (d) => deltas.push(d) }),
    );
    expect(answer.content).toBe(expected.content);
    expect(answer.usage).toEqual(expected.usage);
    expect(deltas).toEqual([expected.content]);
  });
});

describe('Ollama error bodies', () => {
  const proxy503 = {
    error: {
      message: 'upstream model is loading, retry shortly',
      type: 'unavailable',
      code: 'model_loading',
    },
  };

  it('the official ollama client turns a non-string error into [object Object]', async () => {
    server.faults.add({ status: 503, errorBody: proxy503, times: 1 });
    const client = new Ollama({ host: server.url });
    const err = await client
      .chat({ model: TEST_MODEL, messages: MESSAGES, stream: false })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('[object Object]');
  });

  const cases: {
    name: string;
    fault: Parameters<ProviderServer['faults']['add']>[0];
    message: string;
    errorClass?: string;
    code?: string;
  }[] = [
    {
      name: "Ollama's own body",
      fault: { status: 503, message: 'server busy, please try again.  maximum pending requests exceeded' },
      message: 'HTTP 503: server busy, please try again.  maximum pending requests exceeded',
    },
    {
      name: "a proxy's OpenAI-shaped body",
      fault: { status: 503, errorBody: proxy503 },
      message: 'HTTP 503: upstream model is loading, retry shortly',
      code: 'model_loading',
    },
    {
      name: 'a {"message": …} body',
      fault: { status: 503, errorBody: { message: 'no healthy upstream' } },
      message: 'HTTP 503: no healthy upstream',
    },
    {
      name: 'an HTML page',
      fault: {
        status: 503,
        errorContentType: 'text/html',
        errorBody:
          '<html><head><title>503</title><style>h1{color:red}</style></head>' +
          '<body><h1>503 Service Temporarily Unavailable</h1><hr><center>nginx</center></body></html>',
      },
      // The title's "503" goes: errors.ts keeps one status, its own.
      message: 'HTTP 503: 503 Service Temporarily Unavailable nginx',
    },
    {
      name: 'plain text',
      fault: { status: 503, errorBody: 'upstream connect error or disconnect/reset before headers' },
      message: 'HTTP 503: upstream connect error or disconnect/reset before headers',
    },
    {
      name: 'an empty body',
      fault: { status: 503, errorBody: '' },
      message: 'HTTP 503: Service Unavailable',
    },
    {
      name: 'a proxy body with Retry-After',
      fault: { status: 503, errorBody: proxy503, retryAfter: 4 },
      message: 'HTTP 503: upstream model is loading, retry shortly',
      errorClass: 'retry-after',
    },
    {
      name: "a proxy's context-length error",
      fault: {
        status: 400,
        errorBody: { error: { message: 'too long for this model', code: 'context_length_exceeded' } },
      },
      message: 'HTTP 400: too long for this model',
      errorClass: 'context-length',
      code: 'context_length_exceeded',
    },
  ];

  describe.each([true, false])('stream %s', (stream) => {
    it.each(cases)('$name → what the server said', async ({ fault, message, errorClass, code }) => {
      server.faults.add({ ...fault, times: 1 });
      const provider = ollama(stream);
      const err = await failure(provider.chat(call(provider, { maxTokens: 5 })));
      expect(err.message).toBe(message);
      expect(err.errorClass).toBe(errorClass ?? 'retryable');
      expect(err.status).toBe(fault.status);
      if (code) expect(err.code).toBe(code);
      if (errorClass === 'retry-after') expect(err.retryAfterMs).toBe(4000);
    });
  });
});
