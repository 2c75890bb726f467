/**
 * `onDelta`: every provider kind hands the answer's text to its caller as it arrives — the pieces
 * joined are exactly the answer, stop sequences included — and a cancelled call stops at once,
 * the server seeing the connection close. Against the test provider server and the real GGUF model.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { EmbeddedProvider } from '../../activities/providers/embedded.js';
import { OllamaProvider } from '../../activities/providers/ollama.js';
import { OpenAIProvider } from '../../activities/providers/openai.js';
import type { ChatCall, Provider } from '../../activities/providers/types.js';
import type { Message } from '../../plan/types.js';
import {
  PROJECT_ROOT,
  TEST_MODEL_PATH,
  startProviderServer,
  type ProviderServer,
} from '../support/provider-server.js';
import { modelPlan, providerPlan } from '../support/provider-plans.js';

const MESSAGES: Message[] = [{ role: 'user', content: 'Tom had a red ball.' }];

let server: ProviderServer;
let embedded: EmbeddedProvider;

beforeAll(async () => {
  server = await startProviderServer();
  embedded = new EmbeddedProvider(
    providerPlan({
      kind: 'embedded',
      name: 'on-box',
      modelFile: path.relative(PROJECT_ROOT, TEST_MODEL_PATH),
    }),
    { baseDir: PROJECT_ROOT, contextSize: 1024 },
  );
  await embedded.open();
});

afterAll(async () => {
  await embedded?.close();
  await server?.close();
});

afterEach(() => server.reset());

type Mode = 'ollama' | 'ollama, not streaming' | 'openai' | 'openai, not streaming' | 'embedded';
const MODES: Mode[] = ['ollama', 'ollama, not streaming', 'openai', 'openai, not streaming', 'embedded'];

function make(mode: Mode): Provider {
  if (mode === 'embedded') return embedded;
  const stream = !mode.endsWith('not streaming');
  if (mode.startsWith('openai')) {
    return new OpenAIProvider(providerPlan({ kind: 'openai', endpoints: [`${server.url}/v1`] }), { stream });
  }
  return new OllamaProvider(providerPlan({ kind: 'ollama', endpoints: [server.url] }), { stream });
}

function call(provider: Provider, extra: Partial<ChatCall> = {}): ChatCall {
  return {
    provider: provider.plan,
    model: modelPlan(provider.plan),
    messages: MESSAGES,
    timeoutMs: 10_000,
    ...extra,
  };
}

/** Calls `provider` and collects its deltas. */
async function chatWithDeltas(provider: Provider, extra: Partial<ChatCall> = {}) {
  const deltas: string[] = [];
  const answer = await provider.chat(call(provider, { ...extra, onDelta: (text) => deltas.push(text) }));
  return { answer, deltas };
}

describe.each(MODES)('%s', (mode) => {
  const streams = !mode.endsWith('not streaming');

  it('sends the answer as deltas that join to exactly its content', async () => {
    const provider = make(mode);
    const { answer, deltas } = await chatWithDeltas(provider, { maxTokens: 60 });
    expect(answer.usage.outputTokens).toBe(60);
    expect(deltas.join('')).toBe(answer.content);
    expect(deltas.every((d) => d.length > 0)).toBe(true);
    if (streams) expect(deltas.length).toBeGreaterThan(20);
    else expect(deltas).toEqual([answer.content]);
  });

  it('never sends text that a stop sequence then takes back', async () => {
    const provider = make(mode);
    const full = (await provider.chat(call(provider, { maxTokens: 60 }))).content;
    // A stop sequence met in the answer, and one whose start the answer shows but never completes:
    // text matching that start is held back, then released.
    const at = 30;
    const stop = full.slice(at, at + 5);
    const nearMiss = `${full.slice(at, at + 3)}\u0000`;
    const cutAt = full.indexOf(stop);
    const { answer, deltas } = await chatWithDeltas(provider, { maxTokens: 60, stop: [stop, nearMiss] });
    expect(answer.finishReason).toBe('stop');
    expect(answer.content).toBe(full.slice(0, cutAt));
    expect(deltas.join('')).toBe(answer.content);
    expect(deltas.some((d) => d.includes(stop))).toBe(false);

    const released = await chatWithDeltas(provider, { maxTokens: 60, stop: [nearMiss] });
    expect(released.answer.content).toBe(full);
    expect(released.deltas.join('')).toBe(full);
  });
});

describe.each(['ollama', 'openai'] as const)('%s: cancelled mid-stream', (kind) => {
  it('stops at once, sends nothing more, and the server sees the connection close', async () => {
    // A slow model: 20 ms a token, so the answer would take 20 s without the cancellation.
    server.faults.add({ tokenDelayMs: 20, times: 1 });
    const provider = make(kind);
    const controller = new AbortController();
    const reason = new Error('the caller went away');
    const deltas: string[] = [];
    let afterAbort = 0;
    const started = performance.now();
    let abortedAt = 0;
    const pending = provider.chat(
      call(provider, {
        signal: controller.signal,
        onDelta: (text) => {
          if (controller.signal.aborted) afterAbort++;
          deltas.push(text);
          if (deltas.length === 3) {
            abortedAt = performance.now();
            controller.abort(reason);
          }
        },
      }),
    );
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(performance.now() - started).toBeLessThan(2000);
    const seen = server.requests.find((r) => r.messages);
    await expect.poll(() => seen?.clientGone, { timeout: 1000, interval: 10 }).toBe(true);
    await expect.poll(() => server.engine.stats.active, { timeout: 1000, interval: 10 }).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(deltas).toHaveLength(3);
    expect(afterAbort).toBe(0);
  });
});

describe('embedded: cancelled mid-stream', () => {
  it('stops at the next token and frees the model', async () => {
    const controller = new AbortController();
    const reason = new Error('the caller went away');
    const deltas: string[] = [];
    const pending = embedded.chat(
      call(embedded, {
        signal: controller.signal,
        onDelta: (text) => {
          deltas.push(text);
          if (deltas.length === 3) controller.abort(reason);
        },
      }),
    );
    await expect(pending).rejects.toBe(reason);
    await expect.poll(async () => (await embedded.stats()).active, { timeout: 500, interval: 5 }).toBe(0);
    expect(deltas).toHaveLength(3);
  });
});
