/**
 * Ollama (`/api/chat`) over bare `node:http` with keep-alive connections — the protocol the official
 * `ollama` client speaks (the same path, headers and JSON body, newline-delimited JSON back), at a
 * quarter of its CPU per call: the client goes through `fetch` and web streams and opens a new
 * client per call (measured on the canned provider test server: 0.70 → 0.18 ms of CPU per call).
 * test/providers/http.test.ts checks that a request this provider sends equals the client's, and
 * the provider test server is checked with the client itself (test/providers/canned.test.ts).
 *
 * Streaming by default: tokens arrive as they are generated, so the activity can heartbeat and
 * pass them on (`onDelta`), and aborting the request really stops the generation on the server
 * (Ollama cancels when the client goes away: the connection is destroyed, never reused).
 */
import http from 'node:http';
import https from 'node:https';
import type { ChatRequest, ChatResponse, Options } from 'ollama';
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
}

/**
 * Connections kept open between calls, for every Ollama provider of this process; one idle for 4 s
 * is closed (before a server's own idle timeout — Node's is 5 s — can close it under a new call).
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, timeout: 4_000 }),
  'https:': new https.Agent({ keepAlive: true, timeout: 4_000 }),
};

/** The `User-Agent` sent (the client's says `ollama-js/VERSION (…)`). */
const USER_AGENT = `switchyard (${process.arch} ${process.platform} Node.js/${process.version})`;

export class OllamaProvider implements Provider {
  readonly pool: EndpointPool;
  private readonly stream: boolean;
  private readonly env: NodeJS.ProcessEnv;

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
    const options: Partial<Options> = {};
    if (call.maxTokens !== undefined) options.num_predict = call.maxTokens;
    if (call.temperature !== undefined) options.temperature = call.temperature;
    if (call.stop && call.stop.length > 0) options.stop = call.stop;
    const request: ChatRequest = {
      model: call.model.id,
      messages: call.messages.map((m) => ({ role: m.role, content: m.content })),
      options,
      stream: this.stream,
    };
    const body = JSON.stringify(request);

    if (!this.stream) {
      let response: (ChatResponse & { error?: unknown }) | undefined;
      await postChat(
        endpoint,
        body,
        apiKey,
        signal,
        (whole) => {
          response = whole as ChatResponse & { error?: unknown };
        },
        false,
      );
      if (response === undefined) throw new Error('the answer was empty');
      if (response.error !== undefined) throw new Error(String(response.error));
      emit(response.message.content);
      return answerFrom(response, response.message.content, 0);
    }
    let content = '';
    let chunks = 0;
    let final: AttemptResult | undefined;
    await postChat(endpoint, body, apiKey, signal, (line) => {
      const part = line as Partial<ChatResponse> & { error?: unknown };
      // As the client: an error in the stream (the model failed mid-answer) ends the call.
      if (part.error !== undefined) throw new Error(String(part.error));
      if (part.message?.content) {
        content += part.message.content;
        chunks++;
        call.onProgress?.(chunks);
        emit(part.message.content);
      }
      if (part.done === true) {
        final = answerFrom(part as ChatResponse, content, chunks);
        return true;
      }
      return undefined;
    });
    if (final === undefined) throw new Error('the stream ended without a final message');
    return final;
  }
}

/** An endpoint as the client reads it (`formatHost`): `http://` and port 11434 when left out. */
function endpointUrl(endpoint: string): URL {
  let host = endpoint;
  let explicit = host.includes('://');
  if (host.startsWith(':')) {
    host = `http://127.0.0.1${host}`;
    explicit = true;
  }
  const url = new URL(explicit ? host : `http://${host}`);
  if (url.port === '' && !explicit) url.port = '11434';
  return url;
}

/**
 * POSTs `body` to the endpoint's `/api/chat` and hands each JSON line of the answer to `onLine`,
 * as it arrives (`lines: false`: the whole answer, as one JSON value); `onLine` returning `true` says the answer is complete (the rest is read and
 * dropped, and the connection goes back to the pool). An error answer (not 2xx) rejects with its
 * status, headers and message (`httpError`); `signal` destroys the connection. Nothing is retried
 * here (a dropped connection is a retryable outcome for the execution machine, as with the client).
 */
function postChat(
  endpoint: string,
  body: string,
  apiKey: string | undefined,
  signal: AbortSignal,
  onLine: (line: unknown) => true | undefined | void,
  lines = true,
): Promise<void> {
  const url = endpointUrl(endpoint);
  const agent = url.protocol === 'https:' ? AGENTS['https:'] : AGENTS['http:'];
  const path = `${url.pathname.replace(/\/+$/, '')}/api/chat`;
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': USER_AGENT,
    'content-length': Buffer.byteLength(body),
  };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  if (url.username !== '') {
    const auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization ??= `Basic ${Buffer.from(auth).toString('base64')}`;
  }
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const req = (url.protocol === 'https:' ? https : http).request(
      {
        agent,
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        method: 'POST',
        path,
        headers,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (status < 200 || status >= 300) {
          let text = '';
          res.on('data', (piece: string) => {
            if (text.length < ERROR_BODY_LIMIT) text += piece;
          });
          res.on('end', () => reject(httpError(status, res.statusMessage ?? '', res.headers, text)));
          res.on('error', () => reject(httpError(status, res.statusMessage ?? '', res.headers, text)));
          return;
        }
        let buffer = '';
        let complete = false;
        const line = (text: string) => {
          if (complete || text.trim() === '') return;
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            return; // as the client: a line that is not JSON is skipped
          }
          if (onLine(value) === true) {
            complete = true;
            resolve();
          }
        };
        res.on('data', (piece: string) => {
          if (complete) return;
          buffer += piece;
          if (!lines) return;
          let newline: number;
          try {
            while (!complete && (newline = buffer.indexOf('\n')) >= 0) {
              const text = buffer.slice(0, newline);
              buffer = buffer.slice(newline + 1);
              line(text);
            }
          } catch (err) {
            complete = true;
            req.destroy();
            reject(err as Error);
          }
        });
        res.on('end', () => {
          if (complete) return;
          try {
            line(buffer);
          } catch (err) {
            reject(err as Error);
            return;
          }
          resolve(); // the caller says what an answer without its final line means
        });
        res.on('error', (err) => reject(err));
        res.on('aborted', () => reject(new Error('the answer broke off')));
      },
    );
    const onAbort = () => req.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal.removeEventListener('abort', onAbort));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(signal.aborted ? signal.reason : err);
    });
    req.end(body);
  });
}

/** The most of an error body kept: enough for any message, little work for a misbehaving proxy. */
const ERROR_BODY_LIMIT = 8 * 1024;

/**
 * An error answer as errors.ts classifies it (status, headers, code), with what the server said as
 * the message: Ollama's `{"error":"…"}`, an OpenAI-shaped `{"error":{"message":…,"code":…}}` from
 * a proxy in front of it, a `message`/`detail` field, or the text itself (an HTML page reduced
 * to its text).
 */
function httpError(
  status: number,
  statusText: string,
  headers: http.IncomingHttpHeaders,
  body: string,
): Error {
  const text = body.slice(0, ERROR_BODY_LIMIT);
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
  if (said === '') said = statusText || 'no error message';
  const err = new Error(said.length > 500 ? `${said.slice(0, 500)}…` : said);
  Object.assign(err, {
    name: 'ResponseError',
    status,
    headers,
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
