/**
 * The Ollama and OpenAI providers (Ollama over node:http, OpenAI through its official client)
 * against the test provider server and the real GGUF model: answers, token counts, finish reasons,
 * every fault class, cancellation, endpoint rotation and secrets.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getLlama, LlamaLogLevel, resolveChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp';
import { OllamaProvider } from '../../activities/providers/ollama.js';
import { OpenAIProvider } from '../../activities/providers/openai.js';
import { ProviderError, toApplicationFailure, type ErrorClass } from '../../activities/providers/errors.js';
import type { ChatAnswer, ChatCall, Provider } from '../../activities/providers/types.js';
import type { Message, ProviderPlan } from '../../plan/types.js';
import { TEST_MODEL_PATH, startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { closedPortUrl, modelPlan, providerPlan } from '../support/provider-plans.js';

const HELLO: Message[] = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: 'Tell me about a cat.' },
];

let server: ProviderServer;
/** Loaded independently of the engine, to count tokens the way the model's tokenizer does. */
let model: LlamaModel;

beforeAll(async () => {
  server = await startProviderServer();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: TEST_MODEL_PATH });
});

afterAll(async () => {
  await server?.close();
  await model?.dispose();
});

afterEach(() => server.reset());

type Kind = 'ollama' | 'openai';

function plan(kind: Kind, endpoints?: string[], extra: Partial<ProviderPlan> = {}): ProviderPlan {
  return providerPlan({
    kind,
    endpoints: endpoints ?? [kind === 'openai' ? `${server.url}/v1` : server.url],
    ...extra,
  });
}

function make(kind: Kind, stream: boolean, p = plan(kind)): Provider {
  return kind === 'openai' ? new OpenAIProvider(p, { stream }) : new OllamaProvider(p, { stream });
}

function call(provider: Provider, extra: Partial<ChatCall> = {}): ChatCall {
  return {
    provider: provider.plan,
    model: modelPlan(provider.plan),
    messages: HELLO,
    timeoutMs: 10_000,
    ...extra,
  };
}

/** The prompt as the model's own chat template renders it, in tokens. */
function promptOf(messages: Message[]): Token[] {
  const history = [
    ...messages.map((m) =>
      m.role === 'system'
        ? { type: 'system' as const, text: m.content }
        : { type: 'user' as const, text: m.content },
    ),
    { type: 'model' as const, response: [] },
  ];
  return resolveChatWrapper(model)!
    .generateContextState({ chatHistory: history })
    .contextText.tokenize(model.tokenizer);
}

function promptTokens(messages: Message[]): number {
  return promptOf(messages).length;
}

/** Greedy generation straight through node-llama-cpp, apart from the engine under test. */
async function independentGeneration(messages: Message[], tokens: number): Promise<string> {
  const context = await model.createContext({ contextSize: 1024, threads: 1 });
  try {
    const sequence = context.getSequence();
    const out: Token[] = [];
    for await (const token of sequence.evaluate(promptOf(messages), { temperature: 0 })) {
      out.push(token);
      if (out.length === tokens) break;
    }
    return model.detokenize(out);
  } finally {
    await context.dispose();
  }
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

const kinds: Kind[] = ['ollama', 'openai'];

describe.each(kinds)('%s provider', (kind) => {
  it("answers the same at temperature 0, streaming or not, with the tokenizer's counts", async () => {
    const streaming = make(kind, true);
    const plain = make(kind, false);
    const progress: number[] = [];
    const a = await streaming.chat(
      call(streaming, { maxTokens: 20, temperature: 0, onProgress: (n) => progress.push(n) }),
    );
    const b = await plain.chat(call(plain, { maxTokens: 20, temperature: 0 }));

    expect(a.content.length).toBeGreaterThan(10);
    expect(b.content).toBe(a.content);
    expect(b.usage).toEqual(a.usage);
    expect(a.usage.inputTokens).toBe(promptTokens(HELLO));
    expect(a.usage.outputTokens).toBe(20);
    // An independent greedy run of the model gives the same 20 tokens.
    expect(a.content).toBe(await independentGeneration(HELLO, 20));
    expect(a.finishReason).toBe('length');
    expect(a.usageEstimated).toBeUndefined();
    expect(progress.length).toBeGreaterThan(5);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(a.endpoint).toBe(streaming.plan.endpoints[0]);
    expect(a.ms).toBeGreaterThanOrEqual(0);

    // What the server saw.
    const seen = server.requests.filter((r) => r.messages);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.messages).toEqual(HELLO);
    expect(seen.map((r) => r.stream)).toEqual([true, false]);
    expect(seen[0]!.path).toBe(kind === 'openai' ? '/v1/chat/completions' : '/api/chat');
  });

  it('stops at a stop sequence with finish reason stop', async () => {
    const provider = make(kind, true);
    const full = await provider.chat(call(provider, { maxTokens: 30 }));
    const word = full.content.split(' ')[3]!;
    const cut = await provider.chat(call(provider, { maxTokens: 30, stop: [` ${word}`] }));
    expect(cut.finishReason).toBe('stop');
    expect(full.content.startsWith(cut.content)).toBe(true);
    expect(cut.content).not.toContain(` ${word}`);
    expect(cut.usage.outputTokens).toBeLessThan(30);
  });

  it('reports finish reason length when the server truncates', async () => {
    server.faults.add({ truncateAt: 5, times: 1 });
    const provider = make(kind, false);
    const answer = await provider.chat(call(provider, { maxTokens: 50 }));
    expect(answer.finishReason).toBe('length');
    expect(answer.usage.outputTokens).toBe(5);
  });

  describe.each([true, false])('stream %s: faults', (stream) => {
    const cases: {
      name: string;
      fault: Parameters<ProviderServer['faults']['add']>[0];
      errorClass: ErrorClass;
      status?: number;
    }[] = [
      { name: '503', fault: { status: 503 }, errorClass: 'retryable', status: 503 },
      {
        name: '500 with Retry-After',
        fault: { status: 500, retryAfter: 3 },
        errorClass: 'retry-after',
        status: 500,
      },
      { name: '400', fault: { status: 400 }, errorClass: 'non-retryable', status: 400 },
      { name: '401', fault: { status: 401 }, errorClass: 'non-retryable', status: 401 },
      { name: '422', fault: { status: 422 }, errorClass: 'non-retryable', status: 422 },
      { name: 'context length', fault: { contextLength: true }, errorClass: 'context-length', status: 400 },
      { name: 'dropped connection', fault: { drop: 'before-response' }, errorClass: 'retryable' },
      { name: 'connection dropped mid-answer', fault: { drop: 'mid-stream' }, errorClass: 'retryable' },
    ];
    it.each(cases)('$name → $errorClass', async ({ fault, errorClass, status }) => {
      server.faults.add({ ...fault, times: 1 });
      const provider = make(kind, stream);
      const err = await failure(provider.chat(call(provider, { maxTokens: 20 })));
      expect(err.errorClass).toBe(errorClass);
      expect(err.status).toBe(status);
      expect(err.provider).toBe(provider.plan.name);
      expect(err.endpoint).toBe(provider.plan.endpoints[0]);
      // The fault was used up: the next call is answered.
      await expect(provider.chat(call(provider, { maxTokens: 3 }))).resolves.toMatchObject({
        finishReason: 'length',
      });
    });
  });

  it('429 with Retry-After: 2 → retry-after 2000 ms, and a Temporal failure that waits that long', async () => {
    server.faults.add({ status: 429, retryAfter: 2, times: 1 });
    const provider = make(kind, true);
    const err = await failure(provider.chat(call(provider)));
    expect(err).toMatchObject({ errorClass: 'retry-after', status: 429, retryAfterMs: 2000 });
    const af = toApplicationFailure(err);
    expect(af).toMatchObject({ type: 'retry-after', nonRetryable: false, nextRetryDelay: 2000 });
  });

  it('a prompt longer than the context → context-length', async () => {
    const provider = make(kind, true);
    const long: Message[] = [{ role: 'user', content: 'the cat sat on the mat. '.repeat(200) }];
    const err = await failure(provider.chat(call(provider, { messages: long, maxTokens: 10 })));
    expect(err.errorClass).toBe('context-length');
    expect(toApplicationFailure(err).nonRetryable).toBe(true);
  });

  it('a delay past the timeout → timeout, on time', async () => {
    server.faults.add({ delayMs: 3000, times: 1 });
    const provider = make(kind, true);
    const started = performance.now();
    const err = await failure(provider.chat(call(provider, { timeoutMs: 300 })));
    expect(err.errorClass).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('a faulted model does not affect another model', async () => {
    server.faults.add({ model: 'broken', status: 503 });
    const provider = make(kind, false);
    const ok = await provider.chat(call(provider, { maxTokens: 3 }));
    expect(ok.usage.outputTokens).toBe(3);
    const err = await failure(
      provider.chat(call(provider, { model: modelPlan(provider.plan, { id: 'broken' }) })),
    );
    expect(err.status).toBe(503);
  });

  it('cancellation stops a long generation at once', async () => {
    const provider = make(kind, true);
    const controller = new AbortController();
    const reason = new Error('cancelled by the workflow');
    let tokens = 0;
    const started = performance.now();
    const pending = provider.chat(
      call(provider, {
        signal: controller.signal,
        // No max tokens: the model would write until its 1,024-token context is full.
        onProgress: (n) => {
          tokens = n;
          if (n === 10) controller.abort(reason);
        },
      }),
    );
    await expect(pending).rejects.toBe(reason);
    expect(tokens).toBeLessThan(100);
    expect(performance.now() - started).toBeLessThan(1000);
    // The server noticed and stopped generating.
    await expect.poll(() => server.engine.stats.active, { timeout: 1000, interval: 10 }).toBe(0);
  });

  it('never puts the API key in an error message', async () => {
    const variable = `SWITCHYARD_TEST_KEY_${kind.toUpperCase()}`;
    const secret = `sk-test-${kind}-0123456789abcdefSECRET`;
    process.env[variable] = secret;
    try {
      const provider = make(kind, true, plan(kind, undefined, { apiKeyEnv: variable }));
      // The server echoes the key it got in its error, as some real servers do.
      server.setApiKey('another-key');
      server.faults.add({
        status: 403,
        message: `key ${secret} may not do this; Authorization: Bearer ${secret}`,
        times: 1,
      });
      const errors: ProviderError[] = [await failure(provider.chat(call(provider)))];
      if (kind === 'openai') errors.push(await failure(provider.chat(call(provider))));
      for (const err of errors) {
        expect(err.errorClass).toBe('non-retryable');
        for (const text of [
          err.message,
          JSON.stringify(err),
          JSON.stringify(toApplicationFailure(err).details),
        ]) {
          expect(text).not.toContain(secret);
        }
      }
      // The key was sent (and is masked in the record).
      const sent = server.requests.find((r) => r.messages);
      expect(sent?.headers.authorization).toBe('[redacted]');
      expect(JSON.stringify(server.requests.map((r) => [r.headers, r.body]))).not.toContain(secret);
    } finally {
      server.setApiKey(undefined);
      delete process.env[variable];
    }
  });

  it('rotates endpoints and cools down one that refuses connections', async () => {
    const dead = await closedPortUrl();
    const live = kind === 'openai' ? `${server.url}/v1` : server.url;
    let now = 1_000_000;
    const p = plan(kind, [kind === 'openai' ? `${dead}/v1` : dead, live]);
    const provider =
      kind === 'openai'
        ? new OpenAIProvider(p, { endpoints: { now: () => now, cooldownMs: 30_000 } })
        : new OllamaProvider(p, { endpoints: { now: () => now, cooldownMs: 30_000 } });
    const outcomes: string[] = [];
    const attempt = async () => {
      try {
        const answer: ChatAnswer = await provider.chat(call(provider, { maxTokens: 2 }));
        outcomes.push(answer.endpoint === live ? 'live' : '??');
      } catch (e) {
        const err = e as ProviderError;
        expect(err.errorClass).toBe('retryable');
        expect(err.code).toBe('ECONNREFUSED');
        outcomes.push('dead');
      }
    };
    for (let i = 0; i < 8; i++) await attempt();
    // dead, live, dead, live, dead (third failure: cool-down), then live only.
    expect(outcomes).toEqual(['dead', 'live', 'dead', 'live', 'dead', 'live', 'live', 'live']);
    now += 30_000;
    outcomes.length = 0;
    for (let i = 0; i < 4; i++) await attempt();
    // Back on probation: tried once, fails, cools down again.
    expect(outcomes[0]).toBe('dead');
    expect(outcomes.slice(1)).toEqual(['live', 'live', 'live']);
  });
});

describe('OpenAI and Ollama agree', () => {
  it('give the same text and counts for the same request', async () => {
    const o = make('ollama', true);
    const a = make('openai', true);
    const messages: Message[] = [{ role: 'user', content: 'Once upon a time there was a dog.' }];
    const x = await o.chat(call(o, { messages, maxTokens: 25 }));
    const y = await a.chat(call(a, { messages, maxTokens: 25 }));
    expect(y.content).toBe(x.content);
    expect(y.usage).toEqual(x.usage);
    expect(x.usage.inputTokens).toBe(promptTokens(messages));
  });
});
