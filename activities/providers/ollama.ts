/**
 * Ollama (`/api/chat`) through the official `ollama` client. Streaming by default: tokens arrive as
 * they are generated, so the activity can heartbeat and pass them on (`onDelta`), and aborting the
 * request really stops the generation on the server (Ollama cancels when the client goes away).
 */
import { Ollama, type ChatRequest, type ChatResponse, type Options } from 'ollama';
import { EndpointPool, type EndpointPoolOptions } from './endpoints.js';
import { apiKeyOf, runAttempt, type AttemptResult, type EmitDelta } from './attempt.js';
import type { ProviderPlan } from '../../plan/types.js';
import type { ChatAnswer, ChatCall, FinishReason, Provider } from './types.js';

export interface OllamaProviderOptions {
  /**
   * Stream the answer (`stream: true`): progress callbacks, prompt cancellation.
   * @default true
   */
  stream?: boolean;
  /** Endpoint rotation and cool-down. */
  endpoints?: EndpointPoolOptions;
  /**
   * Where the API key variable is looked up (an Ollama behind an authenticating proxy).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * The fetch implementation.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

export class OllamaProvider implements Provider {
  readonly pool: EndpointPool;
  private readonly stream: boolean;
  private readonly env: NodeJS.ProcessEnv;
  private readonly baseFetch: typeof fetch;

  constructor(
    readonly plan: ProviderPlan,
    options: OllamaProviderOptions = {},
  ) {
    this.pool = new EndpointPool(
      plan.endpoints.length > 0 ? plan.endpoints : ['http://127.0.0.1:11434'],
      options.endpoints,
    );
    this.stream = options.stream ?? true;
    this.env = options.env ?? process.env;
    this.baseFetch = options.fetch ?? globalThis.fetch;
  }

  chat(call: ChatCall): Promise<ChatAnswer> {
    const apiKey = apiKeyOf(call.provider, this.env);
    return runAttempt({ call, pool: this.pool, secrets: apiKey ? [apiKey] : [] }, (endpoint, signal, emit) =>
      this.attempt(call, endpoint, signal, emit, apiKey),
    );
  }

  private async attempt(
    call: ChatCall,
    endpoint: string,
    signal: AbortSignal,
    emit: EmitDelta,
    apiKey?: string,
  ): Promise<AttemptResult> {
    // The client passes no signal on non-streaming requests and its own on streaming ones: a
    // fetch wrapper adds ours to both. It also reads error answers itself: the client drops their
    // headers (`Retry-After` lives there) and turns a non-string `error` (a proxy's
    // `{"error":{"message":…}}`) into "[object Object]".
    const baseFetch = this.baseFetch;
    const boundFetch: typeof fetch = async (input, init) => {
      const signals = init?.signal ? [init.signal, signal] : [signal];
      const response = await baseFetch(input, { ...init, signal: AbortSignal.any(signals) });
      if (!response.ok) throw await httpError(response);
      return response;
    };
    const client = new Ollama({
      host: endpoint,
      fetch: boundFetch,
      ...(apiKey ? { headers: { Authorization: `Bearer ${apiKey}` } } : {}),
    });

    const options: Partial<Options> = {};
    if (call.maxTokens !== undefined) options.num_predict = call.maxTokens;
    if (call.temperature !== undefined) options.temperature = call.temperature;
    if (call.stop && call.stop.length > 0) options.stop = call.stop;
    const request: ChatRequest = {
      model: call.model.id,
      messages: call.messages.map((m) => ({ role: m.role, content: m.content })),
      options,
    };

    if (!this.stream) {
      const response = await client.chat({ ...request, stream: false });
      emit(response.message.content);
      return answerFrom(response, response.message.content, 0);
    }
    const parts = await client.chat({ ...request, stream: true });
    let content = '';
    let chunks = 0;
    for await (const part of parts) {
      if (part.message?.content) {
        content += part.message.content;
        chunks++;
        call.onProgress?.(chunks);
        emit(part.message.content);
      }
      if (part.done) return answerFrom(part, content, chunks);
    }
    throw new Error('the stream ended without a final message');
  }
}

/** The most of an error body kept: enough for any message, little work for a misbehaving proxy. */
const ERROR_BODY_LIMIT = 8 * 1024;

/**
 * An error answer as errors.ts classifies it (status, headers, code), with what the server said as
 * the message: Ollama's `{"error":"…"}`, an OpenAI-shaped `{"error":{"message":…,"code":…}}` from
 * a proxy in front of it, a `message`/`detail` field, or the text itself (an HTML page reduced
 * to its text).
 */
async function httpError(response: Response): Promise<Error> {
  let text = '';
  try {
    text = (await response.text()).slice(0, ERROR_BODY_LIMIT);
  } catch {
    // The body broke off: the status still says enough.
  }
  let said: string | undefined;
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (isRecord(body)) {
      const error = body.error;
      if (typeof error === 'string') said = error;
      else if (isRecord(error)) {
        if (typeof error.message === 'string') said = error.message;
        if (typeof error.code === 'string') code = error.code;
      }
      said ??= typeof body.message === 'string' ? body.message : undefined;
      said ??= typeof body.detail === 'string' ? body.detail : undefined;
      said ??= JSON.stringify(body);
    }
  } catch {
    // Not JSON: the text is the message.
  }
  said ??= text
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (said === '') said = response.statusText || 'no error message';
  const err = new Error(said.length > 500 ? `${said.slice(0, 500)}…` : said);
  Object.assign(err, {
    name: 'ResponseError',
    status: response.status,
    headers: response.headers,
    ...(code !== undefined ? { code } : {}),
  });
  return err;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function answerFrom(final: ChatResponse, content: string, chunks: number): AttemptResult {
  const hasUsage = typeof final.prompt_eval_count === 'number' && typeof final.eval_count === 'number';
  const answer: AttemptResult = {
    content,
    finishReason: finishReasonOf(final.done_reason),
    usage: hasUsage
      ? { inputTokens: final.prompt_eval_count, outputTokens: final.eval_count }
      : { inputTokens: 0, outputTokens: chunks || Math.ceil(content.length / 4) },
  };
  if (!hasUsage) answer.usageEstimated = true;
  return answer;
}

function finishReasonOf(reason: string | undefined): FinishReason {
  if (reason === 'stop') return 'stop';
  if (reason === 'length') return 'length';
  return 'other';
}
