/**
 * The HTTP front door (docs/http.md): OpenAI's chat-completions API on bare `node:http` — measured
 * the fastest here and the simplest for server-sent events (docs/http.md "Limits and hardening").
 *
 * Routes: `POST /v1/chat/completions`, `GET /v1/models`, `GET /healthz` (the process answers),
 * `GET /readyz` (policies loaded, store reachable, Temporal reachable when it is needed), `GET
 * /metrics` (Prometheus, docs/operations.md), and the relay endpoint workers stream durable text to
 * (relay.ts).
 *
 * Hardening: bodies over `maxBodyBytes` get 413 (at once when `Content-Length` says so); headers
 * must arrive within `headersTimeoutMs` and the whole request within `requestTimeoutMs` (a
 * slow-loris client is cut off); errors are OpenAI-shaped, one line, never a stack trace; nothing a
 * caller sent as a key is logged or echoed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { RegisteredPlan } from '../worker/registry.js';
import type { LoadedPlan } from '../activities/plans.js';
import { KeyCache, type KeyVerifier } from './auth.js';
import { handleChat, type DirectRunnerLike } from './chat.js';
import { DurableRunner } from './durable.js';
import { HttpError, tooLarge } from './errors.js';
import { DirectMemory } from './idempotency.js';
import { modelList } from './models.js';
import { FrontDoorRelay, RELAY_PATH } from './relay.js';
import { recordHttp } from '../operations/metrics.js';
import { answerMetrics } from '../operations/server.js';

export interface FrontDoorOptions {
  /** The loaded policies (worker/registry.ts's PlanRegistry). */
  plans: {
    current(policy: string): LoadedPlan | undefined;
    policyNames(): string[];
    plans(): (LoadedPlan & Partial<Pick<RegisteredPlan, 'loadedAt'>>)[];
  };
  /** The store's keys (auth.ts `storeKeys(store)`). */
  keys: KeyVerifier;
  /** Temporal, for durable routes; absent: durable routes answer 503. */
  temporal?: { client: Client; taskQueue: string; eagerStart?: boolean };
  /** The direct runner; absent: direct routes run durable. */
  direct?: DirectRunnerLike;
  /** Largest request body. @default 16 MiB */
  maxBodyBytes?: number;
  /** Time for a request's headers to arrive. @default 10000 */
  headersTimeoutMs?: number;
  /** Time for a whole request (headers and body) to arrive. @default 60000 */
  requestTimeoutMs?: number;
  /** Error lines (never with key material). @default stderr */
  log?: (line: string) => void;
  /** A relay to use (the same-process worker holds it too); made here otherwise. */
  relay?: FrontDoorRelay;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export class FrontDoor {
  readonly server: http.Server;
  readonly relay: FrontDoorRelay;
  private readonly keys: KeyCache;
  private readonly durable: DurableRunner | undefined;
  private readonly directMemory = new DirectMemory();
  private readonly maxBodyBytes: number;
  private readonly log: (line: string) => void;

  constructor(private readonly options: FrontDoorOptions) {
    this.relay = options.relay ?? new FrontDoorRelay();
    this.keys = new KeyCache(options.keys);
    this.durable = options.temporal ? new DurableRunner(options.temporal) : undefined;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.server = http.createServer(
      {
        headersTimeout: options.headersTimeoutMs ?? 10_000,
        requestTimeout: options.requestTimeoutMs ?? 60_000,
        // How often those two are checked (Node's default, 30 s, lets a slow client hold on long).
        connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 10_000),
        keepAliveTimeout: 5_000,
      },
      (req, res) => {
        // The HTTP histogram (docs/operations.md): arrival to the last byte, or to a lost connection.
        const started = performance.now();
        res.once('close', () =>
          recordHttp(pathOf(req.url), res.statusCode, (performance.now() - started) / 1000),
        );
        this.route(req, res).catch((err: unknown) => this.answerError(res, err));
      },
    );
    // A request whose headers or body do not arrive in time (a slow-loris client) or that is not
    // HTTP: answered in OpenAI's shape, then the connection is closed.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const error = timeout
        ? new HttpError(408, 'invalid_request_error', 'request_timeout', 'the request did not arrive in time')
        : new HttpError(400, 'invalid_request_error', 'bad_http', 'the request is not valid HTTP');
      const body = JSON.stringify(error.body());
      socket.end(
        `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nconnection: close\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  /** Listens; resolves with `http://host:port` (also the relay's base URL). */
  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`;
    this.relay.baseUrl ??= url;
    return url;
  }

  /** Stops accepting connections and closes idle ones; requests in flight finish. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front-door');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith(RELAY_PATH)) return this.relay.handle(req, res, url);
    if (path === '/healthz') return this.json(res, 200, { status: 'ok' });
    if (path === '/readyz') return this.ready(res);
    // Prometheus scrapes without a key, as it does /healthz: no label carries a caller's identity.
    if (path === '/metrics' && req.method === 'GET') return answerMetrics(res);
    if (path === '/v1/models' && req.method === 'GET') {
      const caller = await this.keys.authenticate(req.headers);
      return this.json(res, 200, modelList(caller, this.options.plans.plans()));
    }
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST')
        throw new HttpError(405, 'invalid_request_error', 'method_not_allowed', `use POST ${path}`);
      const caller = await this.keys.authenticate(req.headers);
      const body = await this.readBody(req);
      return handleChat(
        {
          plans: this.options.plans,
          durable: this.durable,
          direct: this.options.direct,
          relay: this.relay,
          directMemory: this.directMemory,
        },
        caller,
        req,
        res,
        body,
      );
    }
    throw new HttpError(404, 'invalid_request_error', 'not_found', `no route ${req.method ?? 'GET'} ${path}`);
  }

  /** The body as text, refusing more than the limit (413, in OpenAI's shape). */
  private readBody(req: http.IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      req.resume();
      return Promise.reject(tooLarge(this.maxBodyBytes));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > this.maxBodyBytes) {
          over = true;
          chunks.length = 0;
          reject(tooLarge(this.maxBodyBytes));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
      });
      req.on('error', reject);
    });
  }

  private async ready(res: http.ServerResponse): Promise<void> {
    const checks: Record<string, string> = {};
    const policies = this.options.plans.policyNames();
    checks.policies = policies.length > 0 ? `ok (${policies.join(', ')})` : 'no policy loaded';
    try {
      await withTimeout(this.options.keys.version(), 2_000);
      checks.store = 'ok';
    } catch (err) {
      checks.store = `unreachable: ${oneLine(err)}`;
    }
    // Temporal matters when some route runs durable (or no direct runner is here to run any).
    const durable =
      this.options.direct === undefined ||
      this.options.plans.plans().some(({ plan }) => plan.routes.some((r) => r.execution !== 'direct'));
    if (this.options.temporal && durable) {
      try {
        await withTimeout(this.options.temporal.client.workflowService.getSystemInfo({}), 2_000);
        checks.temporal = 'ok';
      } catch (err) {
        checks.temporal = `unreachable: ${oneLine(err)}`;
      }
    }
    const ok = Object.values(checks).every((v) => v.startsWith('ok'));
    this.json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', checks });
  }

  private json(
    res: http.ServerResponse,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
  ): void {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  }

  private answerError(res: http.ServerResponse, err: unknown): void {
    let error: HttpError;
    if (err instanceof HttpError) error = err;
    else {
      const message = oneLine(err);
      this.log(`switchyard serve: internal error: ${message}`);
      const unreachable = /connect|unavailable|deadline|ECONNREFUSED/i.test(message);
      error = unreachable
        ? new HttpError(
            503,
            'api_error',
            'service_unavailable',
            `a service the front door needs is unreachable: ${message}`,
          )
        : new HttpError(500, 'api_error', 'internal_error', `internal error: ${message}`);
    }
    if (res.headersSent) {
      // A stream already under way ends with an error event (the SDKs raise it).
      if (!res.writableEnded && String(res.getHeader('content-type')).startsWith('text/event-stream')) {
        res.end(`data: ${JSON.stringify(error.body())}\n\n`);
      } else res.end();
      return;
    }
    const headers: Record<string, string> = { ...error.headers };
    if (error.retryAfterS !== undefined) headers['retry-after'] = String(error.retryAfterS);
    if (error.status === 413) headers.connection = 'close';
    this.json(res, error.status, error.body(), headers);
  }
}

/** A request's path without its query and trailing slashes (as `route` reads it). */
function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return (q < 0 ? raw : raw.slice(0, q)).replace(/\/+$/, '') || '/';
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 500);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
