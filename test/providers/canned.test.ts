/**
 * The provider test server's canned-answer mode (bench/frontdoor.ts measures the front door's
 * throughput with it): the same APIs, through the official clients, answering the fixed text with
 * exact usage — the prompt as the model's tokenizer counts it, the answer cut at the token limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { TEST_MODEL, startProviderServer, type ProviderServer } from '../support/provider-server.js';

const CANNED = 'Once upon a time there was a little dog.';
let server: ProviderServer;

beforeAll(async () => {
  server = await startProviderServer({ canned: CANNED, recordRequests: false });
});

afterAll(async () => {
  await server?.close();
});

const messages = [{ role: 'user' as const, content: 'Tell me a story' }];
const answerTokens = () => server.engine.model.tokenize(CANNED).length;

describe('canned-answer mode', () => {
  it('answers the whole text with exact usage (Ollama, not streamed)', async () => {
    const ollama = new Ollama({ host: server.url });
    const answer = await ollama.chat({ model: TEST_MODEL, messages, stream: false });
    expect(answer.message.content).toBe(CANNED);
    expect(answer.done_reason).toBe('stop');
    expect(answer.prompt_eval_count).toBe(server.engine.promptTokens(messages).length);
    expect(answer.eval_count).toBe(answerTokens());
    // Nothing is kept when recording is off.
    expect(server.requests).toHaveLength(0);
  });

  it('cuts the text at max_tokens and streams it token by token (OpenAI)', async () => {
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages,
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces.join('')).toBe('Once upon a time');
    expect(pieces).toHaveLength(4);
    expect(finish).toBe('length');
    expect(usage).toMatchObject({
      prompt_tokens: server.engine.promptTokens(messages).length,
      completion_tokens: 4,
    });
  });
});
