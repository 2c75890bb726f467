/**
 * OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, Ollama's `/v1` …) through the official
 * `openai` client, with its own retries off: Temporal owns retries (docs/architecture.md,
 * decision 3). Streaming by default, with `stream_options.include_usage` so usage stays exact. A
 * server that ignores `stream: true` and answers one JSON completion is taken at its word: its
 * answer is used as is (one delta) rather than asked for again without streaming, which would
 * generate — and bill — the whole answer a second time.
 */
import OpenAI from 'openai';
import { Stream } from 'openai/streaming';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { EndpointPool, type EndpointPoolOptions } from './endpoints.js';
import { ProviderError } from './errors.js';
import { apiKeyOf, isLoopback, runAttempt, type AttemptResult, type EmitDelta } from './attempt.js';
import type { ProviderPlan } from '../../plan/types.js';
import type { ChatAnswer, ChatCall, FinishReason, Provider } from './types.js';

/** Sent when no key is configured: loopback servers ignore it, and the client insists on one. */
export const LOOPBACK_API_KEY = 'not-needed-for-loopback';

export interface OpenAIProviderOptions {
  /**
   * Stream the answer: progress callbacks, prompt cancellation.
   * @default true
   */
  stream?: boolean;
  /** Endpoint rotation and cool-down. */
  endpoints?: EndpointPoolOptions;
  /**
   * Where the API key variable is looked up.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * The fetch implementation.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

export class OpenAIProvider implements Provider {
  readonly pool: EndpointPool;
  private readonly stream: boolean;
  private readonly env: NodeJS.ProcessEnv;
  private readonly fetchImpl?: typeof fetch;
  private readonly clients = new Map<string, OpenAI>();

  constructor(
    readonly plan: ProviderPlan,
    options: OpenAIProviderOptions = {},
  ) {
    if (plan.endpoints.length === 0) throw new Error(`provider ${plan.name}: no endpoints`);
    this.pool = new EndpointPool(plan.endpoints, options.endpoints);
    this.stream = options.stream ?? true;
    this.env = options.env ?? process.env;
    if (options.fetch) this.fetchImpl = options.fetch;
  }

  chat(call: ChatCall): Promise<ChatAnswer> {
    const apiKey = apiKeyOf(call.provider, this.env);
    return runAttempt({ call, pool: this.pool, secrets: apiKey ? [apiKey] : [] }, (endpoint, signal, emit) =>
      this.attempt(call, endpoint, signal, emit, apiKey),
    );
  }

  private client(endpoint: string, apiKey: string | undefined, provider: ProviderPlan): OpenAI {
    if (apiKey === undefined && provider.apiKeyEnv && !isLoopback(endpoint)) {
      // Without the key the server would answer 401; say what is actually wrong.
      throw new ProviderError(
        { errorClass: 'non-retryable', message: `environment variable ${provider.apiKeyEnv} is not set` },
        { provider: provider.name, endpoint },
      );
    }
    const key = `${endpoint}\u0000${apiKey ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new OpenAI({
        baseURL: endpoint,
        apiKey: apiKey ?? LOOPBACK_API_KEY,
        maxRetries: 0,
        ...(this.fetchImpl ? { fetch: this.fetchImpl } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  private async attempt(
    call: ChatCall,
    endpoint: string,
    signal: AbortSignal,
    emit: EmitDelta,
    apiKey?: string,
  ): Promise<AttemptResult> {
    const client = this.client(endpoint, apiKey, call.provider);
    const body = {
      model: call.model.id,
      messages: call.messages.map(toOpenAIMessage),
      ...(call.maxTokens !== undefined ? maxTokensParam(endpoint, call.maxTokens) : {}),
      ...(call.temperature !== undefined ? { temperature: call.temperature } : {}),
      ...(call.stop && call.stop.length > 0 ? { stop: call.stop } : {}),
    };
    const requestOptions = { signal, timeout: call.timeoutMs, maxRetries: 0 };

    if (!this.stream) {
      const completion = await client.chat.completions.create(
        body satisfies ChatCompletionCreateParamsNonStreaming,
        requestOptions,
      );
      return fromCompletion(completion, call, emit);
    }

    const params: ChatCompletionCreateParamsStreaming = {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    };
    // The raw response first: some compatible servers ignore `stream: true` and answer one plain
    // JSON completion, which the client's SSE parser would read as an empty stream.
    const response = await client.chat.completions.create(params, requestOptions).asResponse();
    if (answersPlainJson(response)) {
      const completion = (await response.json()) as unknown;
      if (!isCompletion(completion)) throw new Error(describeUnexpected(completion));
      return fromCompletion(completion, call, emit);
    }
    const controller = new AbortController();
    signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    const stream = Stream.fromSSEResponse<ChatCompletionChunk>(response, controller, client);
    let content = '';
    let chunks = 0;
    let finish: FinishReason | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      const delta = choice?.delta?.content;
      if (delta) {
        content += delta;
        chunks++;
        call.onProgress?.(chunks);
        emit(delta);
      }
      if (choice?.finish_reason) finish = finishReasonOf(choice.finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    if (finish === undefined) throw new Error('the stream ended without a finish reason');
    return withUsage(content, finish, usage, chunks, call);
  }
}

/** A whole completion: its text is sent as one delta. */
function fromCompletion(completion: ChatCompletion, call: ChatCall, emit: EmitDelta): AttemptResult {
  const choice = completion.choices[0];
  if (!choice) throw new Error('the answer has no choices');
  const content = choice.message.content ?? '';
  emit(content);
  return withUsage(content, finishReasonOf(choice.finish_reason), completion.usage, 0, call);
}

/** A 2xx answer in JSON rather than server-sent events. */
function answersPlainJson(response: Response): boolean {
  const type = (response.headers.get('content-type') ?? '').toLowerCase();
  return !type.includes('text/event-stream') && type.includes('json');
}

function isCompletion(v: unknown): v is ChatCompletion {
  return typeof v === 'object' && v !== null && Array.isArray((v as { choices?: unknown }).choices);
}

/** What a JSON answer that is not a completion said (an `error` object inside a 200, typically). */
function describeUnexpected(v: unknown): string {
  const error = typeof v === 'object' && v !== null ? (v as { error?: unknown }).error : undefined;
  if (typeof error === 'string') return `the server answered an error: ${error}`;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return `the server answered an error: ${(error as { message: string }).message}`;
  }
  return 'the server answered JSON that is not a chat completion';
}

function withUsage(
  content: string,
  finishReason: FinishReason,
  usage: OpenAI.CompletionUsage | undefined,
  chunks: number,
  call: ChatCall,
): AttemptResult {
  if (usage) {
    return {
      content,
      finishReason,
      usage: { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens },
    };
  }
  // Some compatible servers send no usage: estimate, and say so.
  const inputChars = call.messages.reduce((n, m) => n + m.content.length, 0);
  return {
    content,
    finishReason,
    usage: { inputTokens: Math.ceil(inputChars / 4), outputTokens: chunks || Math.ceil(content.length / 4) },
    usageEstimated: true,
  };
}

/**
 * OpenAI's own API wants `max_completion_tokens` (its reasoning models reject `max_tokens`); most
 * compatible servers know only `max_tokens`.
 */
function maxTokensParam(
  endpoint: string,
  maxTokens: number,
): { max_tokens: number } | { max_completion_tokens: number } {
  let host = '';
  try {
    host = new URL(endpoint).hostname;
  } catch {
    // fall through: a compatible server
  }
  return host === 'api.openai.com' ? { max_completion_tokens: maxTokens } : { max_tokens: maxTokens };
}

function toOpenAIMessage(m: ChatCall['messages'][number]): ChatCompletionMessageParam {
  // A plan's `tool` message carries no tool-call id, which OpenAI requires: send it as user text.
  if (m.role === 'tool') return { role: 'user', content: m.content };
  return { role: m.role, content: m.content };
}

function finishReasonOf(reason: string | null | undefined): FinishReason {
  if (reason === 'stop') return 'stop';
  if (reason === 'length') return 'length';
  return 'other';
}
