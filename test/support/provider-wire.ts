/**
 * The wire formats of the test provider server: parsing Ollama and OpenAI chat requests, and
 * writing their answers, streams and errors the way the real servers do.
 */
import type http from 'node:http';
import type { Generation, RepeatPenalty } from '../../activities/providers/llama-engine.js';
import type { Message } from '../../plan/types.js';

export type Api = 'openai' | 'ollama';

/** What `/api/version` reports. */
export const OLLAMA_VERSION = '0.12.0';

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'the request is malformed',
  401: 'the API key is missing or wrong',
  403: 'this key may not use this model',
  404: 'no such resource',
  408: 'the request took too long to arrive',
  422: 'the request cannot be processed',
  429: 'too many requests: slow down',
  500: 'the server failed while answering',
  502: 'the upstream server did not answer properly',
  503: 'the server is overloaded: try again later',
  504: 'the upstream server did not answer in time',
};

/** What both chat APIs need once their request is parsed. */
export interface ChatJob {
  api: Api;
  model: string;
  messages: Message[];
  maxTokens?: number;
  temperature: number;
  seed?: number;
  stop: string[];
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: a last chunk with the usage. */
  includeUsage: boolean;
  /**
   * Ollama's `repeat_penalty`, `repeat_last_n`, `frequency_penalty`, `presence_penalty`, when the
   * request sets any of them (the others then take Ollama's defaults: 1.1, 64, 0, 0). A request
   * that sets none gets none — real Ollama would apply 1.1 over 64 tokens, but plain greedy keeps
   * this server's answers those of the bare model.
   */
  repeatPenalty?: RepeatPenalty;
}

// ---------------------------------------------------------------------------------------------
// Request parsing

export function parseOpenAI(body: Record<string, unknown>, defaultTemperature: number): ChatJob | string {
  if (typeof body.model !== 'string' || body.model === '') return "'model' is required";
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "'messages' must be a non-empty array";
  const max = numberOr(body.max_completion_tokens) ?? numberOr(body.max_tokens);
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    return "'max_tokens' must be a positive integer";
  const job: ChatJob = {
    api: 'openai',
    model: body.model,
    messages: body.messages.map(toMessage),
    temperature: numberOr(body.temperature) ?? defaultTemperature,
    stop: stopsOf(body.stop),
    stream: body.stream === true,
    includeUsage: isRecord(body.stream_options) && body.stream_options.include_usage === true,
  };
  if (max !== undefined) job.maxTokens = max;
  const seed = numberOr(body.seed);
  if (seed !== undefined) job.seed = seed;
  return job;
}

export function parseOllama(
  body: Record<string, unknown>,
  route: string,
  defaultTemperature: number,
): ChatJob | string {
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  const options = isRecord(body.options) ? body.options : {};
  let messages: Message[];
  if (route === 'POST /api/generate') {
    if (typeof body.prompt !== 'string') return 'prompt is required';
    messages = [];
    if (typeof body.system === 'string') messages.push({ role: 'system', content: body.system });
    messages.push({ role: 'user', content: body.prompt });
  } else {
    if (!Array.isArray(body.messages)) return 'messages are required';
    messages = body.messages.map(toMessage);
  }
  const job: ChatJob = {
    api: 'ollama',
    model: body.model,
    messages,
    temperature: numberOr(options.temperature) ?? defaultTemperature,
    stop: stopsOf(options.stop),
    // Ollama streams unless told not to.
    stream: body.stream !== false,
    includeUsage: false,
  };
  const predict = numberOr(options.num_predict);
  // -1 = no limit, -2 = fill the context: both are "until the context is full" here.
  if (predict !== undefined && predict > 0) job.maxTokens = predict;
  const seed = numberOr(options.seed);
  if (seed !== undefined) job.seed = seed;
  const penalty = numberOr(options.repeat_penalty);
  const lastN = numberOr(options.repeat_last_n);
  const frequency = numberOr(options.frequency_penalty);
  const presence = numberOr(options.presence_penalty);
  if ([penalty, lastN, frequency, presence].some((v) => v !== undefined)) {
    job.repeatPenalty = {
      penalty: penalty ?? 1.1,
      // Ollama: 0 = off, -1 = the whole context (here: the answer's last 4,096 tokens at most).
      lastTokens: lastN === undefined ? 64 : lastN < 0 ? 4096 : lastN,
      frequencyPenalty: frequency ?? 0,
      presencePenalty: presence ?? 0,
    };
  }
  return job;
}

export function toMessage(m: unknown): Message {
  if (!isRecord(m)) return { role: 'user', content: String(m) };
  const role = m.role === 'system' || m.role === 'assistant' || m.role === 'tool' ? m.role : 'user';
  let content = '';
  if (typeof m.content === 'string') content = m.content;
  else if (Array.isArray(m.content)) {
    // OpenAI content parts: keep the text ones.
    content = m.content
      .map((p: unknown) => (isRecord(p) && typeof p.text === 'string' ? p.text : ''))
      .join('');
  }
  return { role, content };
}

function stopsOf(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string' && s !== '');
  return [];
}

// ---------------------------------------------------------------------------------------------
// Answers

export interface OpenStream {
  text(piece: string): void;
  end(generation: Generation, nanos: number): void;
  fail(message: string): void;
}

/** Starts a streamed answer; `id` names an OpenAI completion. */
export function openStream(
  id: string,
  api: Api,
  route: string,
  job: ChatJob,
  res: http.ServerResponse,
): OpenStream {
  if (api === 'openai') {
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = job.includeUsage;
    const chunk = (choices: unknown[], usage?: unknown) => {
      const data: Record<string, unknown> = {
        id,
        object: 'chat.completion.chunk',
        created,
        model: job.model,
        system_fingerprint: 'fp_switchyard_test',
        choices,
      };
      if (includeUsage) data.usage = usage ?? null;
      res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    return {
      text: (piece) => chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]),
      end: (g) => {
        chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: g.finishReason }]);
        if (includeUsage) chunk([], openAIUsage(g));
        res.end('data: [DONE]\n\n');
      },
      fail: (message) => {
        res.end(
          `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })}\n\n`,
        );
      },
    };
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const field = route === 'POST /api/generate' ? 'response' : 'message';
  const line = (o: unknown) => res.write(`${JSON.stringify(o)}\n`);
  return {
    text: (piece) =>
      line({
        model: job.model,
        created_at: new Date().toISOString(),
        ...(field === 'response' ? { response: piece } : { message: { role: 'assistant', content: piece } }),
        done: false,
      }),
    end: (g, nanos) => {
      line(ollamaFinal(job, route, g, '', nanos));
      res.end();
    },
    // Once streaming, Ollama reports errors as a line of the stream.
    fail: (message) => {
      line({ error: message });
      res.end();
    },
  };
}

function openAIUsage(g: Generation) {
  return {
    prompt_tokens: g.promptTokens,
    completion_tokens: g.completionTokens,
    total_tokens: g.promptTokens + g.completionTokens,
  };
}

export function openAICompletion(id: string, job: ChatJob, g: Generation) {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: job.model,
    system_fingerprint: 'fp_switchyard_test',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: g.text, refusal: null },
        logprobs: null,
        finish_reason: g.finishReason,
      },
    ],
    usage: openAIUsage(g),
  };
}

export function ollamaFinal(job: ChatJob, route: string, g: Generation, text: string, nanos: number) {
  const promptShare =
    g.promptTokens + g.completionTokens > 0 ? g.promptTokens / (g.promptTokens + g.completionTokens) : 0;
  return {
    model: job.model,
    created_at: new Date().toISOString(),
    ...(route === 'POST /api/generate'
      ? { response: text, context: [] as number[] }
      : { message: { role: 'assistant', content: text } }),
    done: true,
    done_reason: g.finishReason,
    total_duration: nanos,
    load_duration: 0,
    prompt_eval_count: g.promptTokens,
    prompt_eval_duration: Math.round(nanos * promptShare),
    eval_count: g.completionTokens,
    eval_duration: Math.round(nanos * (1 - promptShare)),
  };
}

export function ollamaModelInfo(name: string) {
  return {
    name,
    model: name,
    modified_at: new Date(0).toISOString(),
    size: 1_185_376,
    digest: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
    details: {
      parent_model: '',
      format: 'gguf',
      family: 'llama',
      families: ['llama'],
      parameter_size: '260K',
      quantization_level: 'F32',
    },
  };
}

export function sendContextError(
  res: http.ServerResponse,
  api: Api,
  promptTokens: number,
  contextSize: number,
  maxTokens: number | undefined,
): void {
  if (api === 'ollama') return sendError(res, api, 400, 'the input length exceeds the context length');
  const asked = promptTokens + (maxTokens ?? 0);
  const message =
    `This model's maximum context length is ${contextSize} tokens. However, you requested ${asked} tokens ` +
    `(${promptTokens} in the messages, ${maxTokens ?? 0} in the completion). ` +
    'Please reduce the length of the messages or completion.';
  sendJson(res, 400, {
    error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
  });
}

export function sendError(
  res: http.ServerResponse,
  api: Api,
  status: number,
  message: string,
  code?: string,
  headers: Record<string, string> = {},
): void {
  if (api === 'ollama') return sendJson(res, status, { error: message }, headers);
  const type =
    status === 429
      ? 'requests'
      : status >= 500
        ? 'server_error'
        : status === 401
          ? 'invalid_request_error'
          : status === 403
            ? 'permission_error'
            : 'invalid_request_error';
  sendJson(
    res,
    status,
    { error: { message, type, param: null, code: code ?? (status === 429 ? 'rate_limit_exceeded' : null) } },
    headers,
  );
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function defaultMessage(status: number): string {
  return DEFAULT_MESSAGES[status] ?? `the server answered ${status}`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
