/**
 * The embedded provider: the real GGUF model in process, concurrency enforced, cancellation,
 * context length, a repetition penalty that ends greedy loops — and the same answers as the same
 * model served over HTTP with the same sampling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { Ollama } from 'ollama';
import { DEFAULT_REPEAT_PENALTY, EmbeddedProvider } from '../../activities/providers/embedded.js';
import { OpenAIProvider } from '../../activities/providers/openai.js';
import { ProviderError } from '../../activities/providers/errors.js';
import { closeProviders, createProvider } from '../../activities/providers/index.js';
import type { ChatCall } from '../../activities/providers/types.js';
import type { Message, ProviderPlan } from '../../plan/types.js';
import {
  PROJECT_ROOT,
  TEST_MODEL,
  TEST_MODEL_PATH,
  startProviderServer,
  type ProviderServer,
} from '../support/provider-server.js';
import { modelPlan, providerPlan } from '../support/provider-plans.js';

const MESSAGES: Message[] = [{ role: 'user', content: 'Tom had a red ball.' }];
/** As a policy in the project root would write it. */
const MODEL_FILE = path.relative(PROJECT_ROOT, TEST_MODEL_PATH);

function embeddedPlan(extra: Partial<ProviderPlan> = {}): ProviderPlan {
  return providerPlan({ kind: 'embedded', name: 'on-box', modelFile: MODEL_FILE, concurrency: 1, ...extra });
}

function call(provider: { plan: ProviderPlan }, extra: Partial<ChatCall> = {}): ChatCall {
  return {
    provider: provider.plan,
    model: modelPlan(provider.plan),
    messages: MESSAGES,
    timeoutMs: 10_000,
    ...extra,
  };
}

/** The word trigram seen most often in `text`, and how often. */
function mostRepeated(text: string): { trigram: string; count: number } {
  const words = text.split(/\s+/).filter(Boolean);
  const counts = new Map<string, number>();
  for (let i = 0; i + 3 <= words.length; i++) {
    const trigram = words.slice(i, i + 3).join(' ');
    counts.set(trigram, (counts.get(trigram) ?? 0) + 1);
  }
  let best = { trigram: '', count: 0 };
  for (const [trigram, count] of counts) if (count > best.count) best = { trigram, count };
  return best;
}

let server: ProviderServer;
let provider: EmbeddedProvider;

beforeAll(async () => {
  server = await startProviderServer();
  provider = new EmbeddedProvider(embeddedPlan(), { baseDir: PROJECT_ROOT, contextSize: 1024 });
  await provider.open();
});

afterAll(async () => {
  await provider?.close();
  await server?.close();
  await closeProviders();
});

describe('embedded provider', () => {
  it('answers deterministically, with exact counts, like the same model over HTTP', async () => {
    const a = await provider.chat(call(provider, { maxTokens: 24 }));
    const b = await provider.chat(call(provider, { maxTokens: 24 }));
    expect(a.content.length).toBeGreaterThan(10);
    expect(b.content).toBe(a.content);
    expect(a.finishReason).toBe('length');
    expect(a.usage).toEqual({ inputTokens: server.engine.promptTokens(MESSAGES).length, outputTokens: 24 });
    expect(a.endpoint).toBe(`embedded:${MODEL_FILE}`);

    // With its default repetition penalty, it answers as Ollama does when asked for the same one…
    const ollama = new Ollama({ host: server.url });
    const o = await ollama.chat({
      model: TEST_MODEL,
      messages: MESSAGES,
      stream: false,
      options: { num_predict: 24, temperature: 0, repeat_penalty: 1.1, repeat_last_n: 64 },
    });
    expect(o.message.content).toBe(a.content);
    expect(o.eval_count).toBe(24);

    // … and without it, as the bare model does over the OpenAI API (which sends no penalty).
    const bare = new EmbeddedProvider(embeddedPlan({ name: 'bare' }), {
      baseDir: PROJECT_ROOT,
      contextSize: 1024,
      repeatPenalty: false,
    });
    try {
      const greedy = await bare.chat(call(bare, { maxTokens: 24 }));
      const http = new OpenAIProvider(providerPlan({ kind: 'openai', endpoints: [`${server.url}/v1`] }), {
        stream: false,
      });
      const c = await http.chat(call(http, { maxTokens: 24 }));
      expect(c.content).toBe(greedy.content);
      expect(c.usage).toEqual(greedy.usage);
      // The penalty changed the answer: it did reach the generation.
      expect(greedy.content).not.toBe(a.content);
    } finally {
      await bare.close();
    }
  });

  it('does not loop at temperature 0, and stays deterministic', async () => {
    // Greedy decoding of this prompt falls into "shiny shiny shiny …" within 200 tokens.
    const LOOPS: Message[] = [{ role: 'user', content: 'Once upon a time there was a dog.' }];
    const bare = new EmbeddedProvider(embeddedPlan({ name: 'bare' }), {
      baseDir: PROJECT_ROOT,
      contextSize: 1024,
      repeatPenalty: false,
    });
    try {
      const greedy = await bare.chat(call(bare, { messages: LOOPS, maxTokens: 200, temperature: 0 }));
      expect(mostRepeated(greedy.content).count).toBeGreaterThanOrEqual(10);
    } finally {
      await bare.close();
    }
    const a = await provider.chat(call(provider, { messages: LOOPS, maxTokens: 200, temperature: 0 }));
    const b = await provider.chat(call(provider, { messages: LOOPS, maxTokens: 200, temperature: 0 }));
    expect(a.usage.outputTokens).toBe(200);
    expect(mostRepeated(a.content).count).toBeLessThanOrEqual(3);
    expect(b.content).toBe(a.content);
  });

  it('takes a penalty of its own, and none at all', async () => {
    expect(provider.repeatPenalty).toEqual(DEFAULT_REPEAT_PENALTY);
    const strong = new EmbeddedProvider(embeddedPlan({ name: 'strong' }), {
      baseDir: PROJECT_ROOT,
      repeatPenalty: { penalty: 1.5 },
    });
    expect(strong.repeatPenalty).toEqual({ ...DEFAULT_REPEAT_PENALTY, penalty: 1.5 });
    const off = new EmbeddedProvider(embeddedPlan({ name: 'off' }), {
      baseDir: PROJECT_ROOT,
      repeatPenalty: false,
    });
    expect(off.repeatPenalty).toBeUndefined();
  });

  it('stops at a stop sequence', async () => {
    const full = await provider.chat(call(provider, { maxTokens: 30 }));
    const stop = full.content.slice(10, 14);
    const cut = await provider.chat(call(provider, { maxTokens: 30, stop: [stop] }));
    expect(cut.finishReason).toBe('stop');
    expect(cut.content).toBe(full.content.slice(0, full.content.indexOf(stop)));
  });

  it('runs one generation at a time with concurrency 1', async () => {
    const events: { call: string; tokens: number; at: number }[] = [];
    const track = (name: string) => (tokens: number) =>
      events.push({ call: name, tokens, at: performance.now() });
    const before = (await provider.stats()).generations;
    const [x, y] = await Promise.all([
      provider.chat(call(provider, { maxTokens: 60, onProgress: track('x') })),
      provider.chat(call(provider, { maxTokens: 60, onProgress: track('y') })),
    ]);
    expect(x.usage.outputTokens).toBe(60);
    expect(y.usage.outputTokens).toBe(60);
    // Every progress event of one call comes before every event of the other: no overlap.
    const order = events.map((e) => e.call).join('');
    expect(order).toMatch(/^(x+y+|y+x+)$/);
    const stats = await provider.stats();
    expect(stats.maxActive).toBe(1);
    expect(stats.generations - before).toBe(2);
  });

  it('runs two at once with concurrency 2', async () => {
    const two = new EmbeddedProvider(embeddedPlan({ name: 'on-box-2', concurrency: 2 }), {
      baseDir: PROJECT_ROOT,
      contextSize: 512,
    });
    try {
      const events: string[] = [];
      const [x, y] = await Promise.all([
        two.chat(call(two, { maxTokens: 60, onProgress: () => events.push('x') })),
        two.chat(call(two, { maxTokens: 60, onProgress: () => events.push('y') })),
      ]);
      expect((await two.stats()).maxActive).toBe(2);
      expect(events.join('')).not.toMatch(/^(x+y+|y+x+)$/);
      // Batched together, still the same greedy answer.
      expect(y.content).toBe(x.content);
    } finally {
      await two.close();
    }
  });

  it('stops a long generation when cancelled, and frees the model', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const pending = provider.chat(
      call(provider, {
        signal: controller.signal,
        onProgress: (n) => {
          if (n === 10) controller.abort(reason);
        },
      }),
    );
    await expect(pending).rejects.toBe(reason);
    // The generation loop notices the abort at its next token.
    await expect.poll(async () => (await provider.stats()).active, { timeout: 500, interval: 5 }).toBe(0);
    await expect(provider.chat(call(provider, { maxTokens: 3 }))).resolves.toMatchObject({
      finishReason: 'length',
    });
  });

  it('times out while waiting for its turn', async () => {
    const long = provider.chat(call(provider, { maxTokens: 200 }));
    const waiting = provider.chat(call(provider, { maxTokens: 5, timeoutMs: 20 }));
    const err = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).errorClass).toBe('timeout');
    await long;
    expect((await provider.stats()).queued).toBe(0);
  });

  it('a prompt longer than the context → context-length', async () => {
    const long: Message[] = [{ role: 'user', content: 'the cat sat on the mat. '.repeat(200) }];
    const err = await provider.chat(call(provider, { messages: long })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).errorClass).toBe('context-length');
  });

  it('a missing model file → non-retryable', async () => {
    const missing = new EmbeddedProvider(embeddedPlan({ name: 'missing', modelFile: 'models/nope.gguf' }), {
      baseDir: PROJECT_ROOT,
    });
    const err = await missing.chat(call(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).errorClass).toBe('non-retryable');
    expect((err as ProviderError).message).toContain('nope.gguf');
  });

  it('createProvider builds each kind once per definition', async () => {
    const plan = embeddedPlan({ name: 'factory' });
    const a = createProvider(plan, { baseDir: PROJECT_ROOT, contextSize: 512 });
    expect(a).toBeInstanceOf(EmbeddedProvider);
    expect(createProvider({ ...plan }, { baseDir: PROJECT_ROOT, contextSize: 512 })).toBe(a);
    expect(createProvider(plan, { baseDir: path.join(PROJECT_ROOT, 'x'), contextSize: 512 })).not.toBe(a);
    const answer = await a.chat(call(a, { maxTokens: 4 }));
    expect(answer.usage.outputTokens).toBe(4);
    expect(
      createProvider(providerPlan({ kind: 'openai', endpoints: ['http://127.0.0.1:1/v1'] }), {
        baseDir: '.',
      }),
    ).toBeInstanceOf(OpenAIProvider);
  });
});
