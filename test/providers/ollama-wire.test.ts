/**
 * The Ollama provider speaks to the server over bare node:http (activities/providers/ollama.ts), not
 * through the official `ollama` client: here, a request it sends is the client's request — the
 * same method, path, content headers and JSON body, streamed or not, with an API key too — and the
 * answer it reads from the provider test server is the one the client reads (the test server is
 * itself checked with the client: test/providers/canned.test.ts, test/providers/http.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import { OllamaProvider } from '../../activities/providers/ollama.js';
import type { Message } from '../../plan/types.js';
import {
  startProviderServer,
  type ProviderServer,
  type RecordedRequest,
} from '../support/provider-server.js';
import { modelPlan, providerPlan } from '../support/provider-plans.js';

const CANNED = 'Once upon a time there was a little dog.';
const messages: Message[] = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: 'Tell me about a dog.' },
];
let server: ProviderServer;

beforeAll(async () => {
  server = await startProviderServer({ canned: CANNED });
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => server.reset());

/** What a server sees of a request, without what differs by design (the user agent, the body's length). */
function wire(r: RecordedRequest) {
  const { 'user-agent': _agent, 'content-length': _length, host: _host, ...headers } = r.headers;
  return {
    method: r.method,
    path: r.path,
    headers: {
      'content-type': headers['content-type'],
      accept: headers.accept,
      authorization: headers.authorization,
    },
    body: r.body,
  };
}

describe.each([true, false])('stream %s', (stream) => {
  it("sends the ollama client's request and reads the same answer", async () => {
    const env = { OLLAMA_TEST_KEY: 'sk-wire-test-key' };
    const plan = providerPlan({ kind: 'ollama', endpoints: [server.url], apiKeyEnv: 'OLLAMA_TEST_KEY' });
    const provider = new OllamaProvider(plan, { stream, env });
    const ours = await provider.chat({
      provider: plan,
      model: modelPlan(plan),
      messages,
      maxTokens: 5,
      temperature: 0,
      stop: ['\n\n'],
      timeoutMs: 10_000,
    });

    const client = new Ollama({
      host: server.url,
      headers: { Authorization: `Bearer ${env.OLLAMA_TEST_KEY}` },
    });
    const request = {
      model: modelPlan(plan).id,
      messages,
      options: { num_predict: 5, temperature: 0, stop: ['\n\n'] },
    };
    let text = '';
    let final: { prompt_eval_count: number; eval_count: number; done_reason: string } | undefined;
    if (stream) {
      for await (const part of await client.chat({ ...request, stream: true })) {
        text += part.message.content;
        if (part.done) final = part;
      }
    } else {
      final = await client.chat({ ...request, stream: false });
      text = (final as unknown as { message: { content: string } }).message.content;
    }

    expect(server.requests).toHaveLength(2);
    const [sent, theirs] = server.requests.map(wire);
    expect(sent).toEqual(theirs);
    expect(sent!.headers.authorization).toBe('[redacted]'); // the key was sent (the server masks it)
    expect(ours.content).toBe(text);
    expect(ours.content).not.toBe('');
    expect(ours.usage).toEqual({ inputTokens: final!.prompt_eval_count, outputTokens: final!.eval_count });
    expect(ours.finishReason).toBe(final!.done_reason === 'length' ? 'length' : 'stop');
  });
});

it('keeps its connection open from one call to the next', async () => {
  let connections = 0;
  const final = { model: 'm', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' };
  const tiny = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(
        `${JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'Hi' }, done: false })}\n`,
      );
      res.end(`${JSON.stringify({ ...final, prompt_eval_count: 3, eval_count: 1 })}\n`);
    });
  });
  tiny.on('connection', () => connections++);
  await new Promise<void>((resolve) => tiny.listen(0, '127.0.0.1', resolve));
  try {
    const plan = providerPlan({
      kind: 'ollama',
      endpoints: [`http://127.0.0.1:${(tiny.address() as AddressInfo).port}`],
    });
    const provider = new OllamaProvider(plan);
    const call = { provider: plan, model: modelPlan(plan), messages, timeoutMs: 10_000 };
    for (let i = 0; i < 3; i++) {
      const answer = await provider.chat(call);
      expect(answer.content).toBe('Hi');
      expect(answer.usage).toEqual({ inputTokens: 3, outputTokens: 1 });
    }
    expect(connections).toBe(1);
  } finally {
    tiny.closeAllConnections();
    await new Promise((resolve) => tiny.close(resolve));
  }
});
