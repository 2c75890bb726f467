/**
 * A provider server for tests: the real Ollama HTTP API (`/api/chat`, `/api/generate`,
 * `/api/tags`, `/api/version`) and the real OpenAI HTTP API (`/v1/chat/completions`,
 * `/v1/models`), streaming and not, answered by a real GGUF model through node-llama-cpp — the
 * same engine the embedded provider uses. Temperature defaults to 0, so answers are deterministic;
 * token counts come from the model's tokenizer.
 *
 * Faults can be injected between tests (per model or API, for the next K requests or until
 * cleared): an error status with the API's error body or any other body, `Retry-After`, a delay,
 * a slow model, truncation, a dropped connection, a context-length error, a server that ignores
 * `stream: true`. Every request is recorded, credentials masked, with whether the client went away.
 *
 * Generation is serialised through one sequence: the model is tiny (~1,500 tokens/s).
 *
 * `canned` (benchmarks only): every chat is answered with one fixed text instead of running the
 * model — the same HTTP APIs, streamed token by token or not, with exact usage (the prompt and the
 * text counted by the model's tokenizer), so a benchmark can measure what sits in front of a
 * provider without the model being the bottleneck (bench/frontdoor.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaEngine, type Generation } from '../../activities/providers/llama-engine.js';
import { ContextLengthError } from '../../activities/providers/errors.js';
import type { Message } from '../../plan/types.js';
import {
  OLLAMA_VERSION,
  defaultMessage,
  isRecord,
  ollamaFinal,
  ollamaModelInfo,
  openAICompletion,
  openStream,
  parseOllama,
  parseOpenAI,
  sendContextError,
  sendError,
  sendJson,
  toMessage,
  type Api,
} from './provider-wire.js';

export { OLLAMA_VERSION, type Api } from './provider-wire.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The test model, kept in the repository with its licence and checksum (test/fixtures/models/). */
export const TEST_MODEL_PATH = path.resolve(PROJECT_ROOT, 'test/fixtures/models/stories260K.gguf');
export const TEST_MODEL = 'stories260K';

export interface FaultSpec {
  /** Only requests for this model; absent = any model. */
  model?: string;
  /** Only this API; absent = both. */
  api?: Api;
  /** How many matching requests it hits; absent = every one until `faults.clear()`. */
  times?: number;
  /** Answer with this status and the API's error body. */
  status?: number;
  /** The error message (a per-status default otherwise). */
  message?: string;
  /** OpenAI `error.code` (e.g. `rate_limit_exceeded`). */
  code?: string;
  /** The `Retry-After` header sent with the error. */
  retryAfter?: string | number;
  /** Wait this long before doing anything else (the client may time out). */
  delayMs?: number;
  /** Stop generating after this many tokens with finish reason `length`. */
  truncateAt?: number;
  /** Destroy the socket: before any byte of the answer, or after the first tokens were streamed. */
  drop?: 'before-response' | 'mid-stream';
  /** Answer with the API's context-length error. */
  contextLength?: boolean;
  /** Answer with no content at all (finish reason `stop`, 0 completion tokens). */
  empty?: boolean;
  /**
   * Ignore `stream: true`, as some OpenAI-compatible servers do: answer one plain JSON completion
   * (`content-type: application/json`; for Ollama, the final object alone).
   */
  ignoreStream?: boolean;
  /**
   * With `status`: send exactly this error body instead of the API's own — an object as JSON, a
   * string as `errorContentType` (a proxy's `{"error":{"message":…}}`, an HTML 503 page …).
   */
  errorBody?: string | Record<string, unknown>;
  /** The content type of a string `errorBody`. @default 'text/plain; charset=utf-8' */
  errorContentType?: string;
  /** Wait this long after each generated token: a slow model (cancellation mid-stream). */
  tokenDelayMs?: number;
}

export class Faults {
  private entries: { spec: FaultSpec; remaining: number }[] = [];

  /** Adds a fault; faults are matched in the order added, one per request. */
  add(spec: FaultSpec): this {
    this.entries.push({ spec, remaining: spec.times ?? Infinity });
    return this;
  }

  clear(): void {
    this.entries = [];
  }

  /** Faults that still have requests to hit. */
  get pending(): FaultSpec[] {
    return this.entries.filter((e) => e.remaining > 0).map((e) => e.spec);
  }

  /** The fault for this request, if any (consumes one of its `times`). */
  take(api: Api, model: string | undefined): FaultSpec | undefined {
    const entry = this.entries.find(
      (e) =>
        e.remaining > 0 &&
        (e.spec.api === undefined || e.spec.api === api) &&
        (e.spec.model === undefined || e.spec.model === model),
    );
    if (!entry) return undefined;
    entry.remaining--;
    return entry.spec;
  }
}

export interface RecordedRequest {
  api: Api | 'unknown';
  method: string;
  path: string;
  /** Lower-case names; credentials replaced by `[redacted]`. */
  headers: Record<string, string>;
  body: unknown;
  model?: string;
  messages?: Message[];
  /** Whether the answer streams (each API's default applied). */
  stream?: boolean;
  /** The fault applied to it, if any. */
  fault?: FaultSpec;
  /** The client closed the connection before the answer was complete (timeout, cancellation). */
  clientGone?: boolean;
  /** Epoch ms when it arrived. */
  at: number;
}

export interface ProviderServerOptions {
  /** @default TEST_MODEL_PATH */
  modelPath?: string;
  /** @default 1024 */
  contextSize?: number;
  /** @default 0 (an ephemeral port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Model names served; absent = any name is served by the one model. */
  models?: string[];
  /** When set, OpenAI requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Temperature when a request sets none. @default 0 */
  defaultTemperature?: number;
  /** Answer every chat with this text, not the model's (see the module's notes). */
  canned?: string;
  /** Keep every request in `requests` (a long benchmark turns it off). @default true */
  recordRequests?: boolean;
}

export interface ProviderServer {
  /** `http://127.0.0.1:<port>`; the OpenAI base URL is `${url}/v1`. */
  url: string;
  port: number;
  faults: Faults;
  requests: RecordedRequest[];
  engine: LlamaEngine;
  /** From now on OpenAI requests must carry this key (`undefined`: no check). */
  setApiKey(key: string | undefined): void;
  /** Clears faults and recorded requests (not the API key). */
  reset(): void;
  close(): Promise<void>;
}

const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
]);

export async function startProviderServer(options: ProviderServerOptions = {}): Promise<ProviderServer> {
  const engine = await LlamaEngine.open({
    modelPath: options.modelPath ?? TEST_MODEL_PATH,
    contextSize: options.contextSize ?? 1024,
    concurrency: 1,
    threads: 1,
  });
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  const ctx: HandlerContext = { engine, faults, requests, options, apiKey: options.apiKey, ids: 0 };
  if (options.canned !== undefined) {
    // Tokenised once: each request then only counts its prompt.
    // Each piece is what its token adds to the text (a lone token may lose its leading space).
    const tokens = engine.model.tokenize(options.canned);
    const prefix = (n: number) => engine.model.detokenize(tokens.slice(0, n));
    ctx.canned = tokens.map((_, i) => prefix(i + 1).slice(prefix(i).length));
  }

  const server = http.createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    faults,
    requests,
    engine,
    setApiKey(key) {
      ctx.apiKey = key;
    },
    reset() {
      faults.clear();
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

interface HandlerContext {
  engine: LlamaEngine;
  faults: Faults;
  requests: RecordedRequest[];
  options: ProviderServerOptions;
  apiKey: string | undefined;
  ids: number;
  /** The canned answer's tokens, as text pieces. */
  canned?: string[];
}

async function handle(
  ctx: HandlerContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  const api: Api | 'unknown' = url.pathname.startsWith('/v1/')
    ? 'openai'
    : url.pathname.startsWith('/api/')
      ? 'ollama'
      : 'unknown';
  const raw = req.method === 'POST' ? await readBody(req) : '';
  let body: unknown = undefined;
  let badJson = false;
  if (raw !== '') {
    try {
      body = JSON.parse(raw);
    } catch {
      badJson = true;
      body = raw;
    }
  }
  const record: RecordedRequest = {
    api,
    method: req.method ?? 'GET',
    path: url.pathname,
    headers: maskHeaders(req.headers),
    body,
    at: Date.now(),
  };
  if (isRecord(body)) {
    if (typeof body.model === 'string') record.model = body.model;
    if (Array.isArray(body.messages)) record.messages = body.messages.map(toMessage);
  }
  if (ctx.options.recordRequests !== false) ctx.requests.push(record);

  if (badJson) return sendError(res, api === 'unknown' ? 'ollama' : api, 400, 'the body is not valid JSON');

  switch (route) {
    case 'GET /api/version':
      return sendJson(res, 200, { version: OLLAMA_VERSION });
    case 'GET /api/tags':
      return sendJson(res, 200, { models: modelNames(ctx).map((name) => ollamaModelInfo(name)) });
    case 'GET /v1/models':
      return sendJson(res, 200, {
        object: 'list',
        data: modelNames(ctx).map((id) => ({
          id,
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'switchyard-test',
        })),
      });
    case 'POST /api/chat':
    case 'POST /api/generate':
    case 'POST /v1/chat/completions':
      return chat(ctx, route, record, req, res);
    default:
      return sendError(res, api === 'unknown' ? 'ollama' : api, 404, `no route ${route}`);
  }
}

async function chat(
  ctx: HandlerContext,
  route: string,
  record: RecordedRequest,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const api: Api = route.startsWith('POST /v1/') ? 'openai' : 'ollama';
  const body = isRecord(record.body) ? record.body : {};

  if (api === 'openai' && ctx.apiKey !== undefined) {
    const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    // Echoes the key it was given, as some real servers do: providers must scrub their errors.
    if (given !== ctx.apiKey) {
      return sendError(res, api, 401, `Incorrect API key provided: ${given}`, 'invalid_api_key');
    }
  }

  const temperature = ctx.options.defaultTemperature ?? 0;
  const parsed = api === 'openai' ? parseOpenAI(body, temperature) : parseOllama(body, route, temperature);
  if (typeof parsed === 'string') return sendError(res, api, 400, parsed);
  const job = parsed;
  record.stream = job.stream;
  if (ctx.options.models && !ctx.options.models.includes(job.model)) {
    return api === 'openai'
      ? sendError(res, api, 404, `The model '${job.model}' does not exist`, 'model_not_found')
      : sendError(res, api, 404, `model '${job.model}' not found`);
  }

  // The client going away (timeout, cancellation) stops whatever we are doing for it.
  const gone = new AbortController();
  let dropped = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    if (!dropped) record.clientGone = true;
    gone.abort(new Error('client went away'));
  });

  const fault = ctx.faults.take(api, job.model);
  if (fault) record.fault = fault;
  if (fault?.delayMs) {
    const waited = await sleep(fault.delayMs, gone.signal);
    if (!waited) return;
  }
  if (fault?.drop === 'before-response') {
    dropped = true;
    req.socket.destroy();
    return;
  }
  const promptTokens = ctx.engine.promptTokens(job.messages).length;
  if (fault?.contextLength)
    return sendContextError(res, api, promptTokens, ctx.engine.contextSize, job.maxTokens);
  if (fault?.status !== undefined) {
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
    if (fault.errorBody !== undefined) {
      return sendRaw(res, fault.status, fault.errorBody, fault.errorContentType, headers);
    }
    return sendError(
      res,
      api,
      fault.status,
      fault.message ?? defaultMessage(fault.status),
      fault.code,
      headers,
    );
  }
  // OpenAI refuses a request whose prompt plus completion cannot fit; Ollama only the prompt.
  const needed = promptTokens + (api === 'openai' ? (job.maxTokens ?? 0) : 1);
  if (needed > ctx.engine.contextSize) {
    return sendContextError(res, api, promptTokens, ctx.engine.contextSize, job.maxTokens);
  }

  const maxTokens =
    fault?.truncateAt !== undefined ? Math.min(job.maxTokens ?? Infinity, fault.truncateAt) : job.maxTokens;
  const started = process.hrtime.bigint();
  const streams = job.stream && !fault?.ignoreStream;
  const stream = streams ? openStream(`chatcmpl-${++ctx.ids}`, api, route, job, res) : undefined;
  let streamed = 0;
  let generation: Generation;
  try {
    generation = fault?.empty
      ? { text: '', finishReason: 'stop', promptTokens, completionTokens: 0 }
      : ctx.canned !== undefined
        ? cannedAnswer(ctx.canned, promptTokens, maxTokens, (piece) => stream?.text(piece))
        : await ctx.engine.generate({
            messages: job.messages,
            ...(maxTokens !== undefined && Number.isFinite(maxTokens) ? { maxTokens } : {}),
            temperature: job.temperature,
            ...(job.seed !== undefined ? { seed: job.seed } : {}),
            ...(job.repeatPenalty ? { repeatPenalty: job.repeatPenalty } : {}),
            ...(fault?.tokenDelayMs ? { tokenDelayMs: fault.tokenDelayMs } : {}),
            stop: job.stop,
            signal: gone.signal,
            onText: (text) => {
              stream?.text(text);
              streamed++;
              if (fault?.drop === 'mid-stream' && streamed === 3) {
                dropped = true;
                req.socket.destroy();
                gone.abort(new Error('connection dropped by fault'));
              }
            },
          });
  } catch (err) {
    if (gone.signal.aborted) return;
    if (err instanceof ContextLengthError) {
      if (stream) return stream.fail(err.message);
      return sendContextError(res, api, err.promptTokens, err.contextSize, job.maxTokens);
    }
    throw err;
  }
  const nanos = Number(process.hrtime.bigint() - started);
  if (fault?.drop === 'mid-stream' && !stream) {
    // Not streaming: send the headers and half the body, then hang up.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
    res.write('{"partial":');
    dropped = true;
    setImmediate(() => req.socket.destroy());
    return;
  }
  if (stream) return stream.end(generation, nanos);
  return api === 'openai'
    ? sendJson(res, 200, openAICompletion(`chatcmpl-${++ctx.ids}`, job, generation))
    : sendJson(res, 200, ollamaFinal(job, route, generation, generation.text, nanos));
}

// ---------------------------------------------------------------------------------------------

/** The canned answer, cut at `maxTokens` (finish reason `length`) as the model would be. */
function cannedAnswer(
  pieces: string[],
  promptTokens: number,
  maxTokens: number | undefined,
  onText: (piece: string) => void,
): Generation {
  const n = maxTokens !== undefined && maxTokens < pieces.length ? maxTokens : pieces.length;
  for (let i = 0; i < n; i++) onText(pieces[i]!);
  return {
    text: pieces.slice(0, n).join(''),
    finishReason: n < pieces.length ? 'length' : 'stop',
    promptTokens,
    completionTokens: n,
  };
}

/** An error answer with exactly this body (FaultSpec.errorBody). */
function sendRaw(
  res: http.ServerResponse,
  status: number,
  body: string | Record<string, unknown>,
  contentType: string | undefined,
  headers: Record<string, string>,
): void {
  if (typeof body !== 'string') return sendJson(res, status, body, headers);
  res.writeHead(status, {
    'content-type': contentType ?? 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

function modelNames(ctx: HandlerContext): string[] {
  return ctx.options.models ?? [TEST_MODEL];
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves true after `ms`, false if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function maskHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = CREDENTIAL_HEADERS.has(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
