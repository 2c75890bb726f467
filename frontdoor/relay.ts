/**
 * The delta relay of durable streaming (docs/http.md "Streaming"): how the text of an attempt,
 * produced by an attempt activity on some worker, reaches the front door whose caller waits for it.
 *
 * - In-process: a worker sharing the front door's process gets this relay; `open` finds the
 *   waiting caller by request id in a map. No copy, no network.
 * - Across processes: the front door puts its relay URL in the request (`request.stream.relay`,
 *   `http://HOST:PORT/internal/relay/<request id>?token=…`); the attempt activity POSTs the text to
 *   it as it is produced, one chunked request per attempt (relay-client.ts). The token is an HMAC of
 *   the request id under a secret made at the front door's start: it lets the holder stream text to
 *   that one request of that one process, nothing else, and it is worthless after a restart.
 *
 * Text that arrives for a request nobody waits for (the caller left, the front door restarted) is
 * read and dropped; the attempt goes on and is charged as usual.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeltaRelay, DeltaSink, StreamTarget } from '../contract/stream.js';
import { httpRelaySink } from './relay-client.js';

export const RELAY_PATH = '/internal/relay/';

type Opener = (attempt: number, model: string) => DeltaSink;

export class FrontDoorRelay implements DeltaRelay {
  private readonly waiting = new Map<string, Opener>();
  private readonly secret = randomBytes(32);
  /** `http://host:port` this front door is reached at by workers (set when it listens). */
  baseUrl: string | undefined;

  /** A caller waits for the text of request `requestId`; returns the function that stops waiting. */
  register(requestId: string, opener: Opener): () => void {
    this.waiting.set(requestId, opener);
    return () => {
      if (this.waiting.get(requestId) === opener) this.waiting.delete(requestId);
    };
  }

  /** Callers waiting now (for tests and /readyz). */
  get size(): number {
    return this.waiting.size;
  }

  /** Where a worker in another process sends this request's text; `undefined` before listening. */
  urlFor(requestId: string): string | undefined {
    if (this.baseUrl === undefined) return undefined;
    return `${this.baseUrl}${RELAY_PATH}${encodeURIComponent(requestId)}?token=${this.token(requestId)}`;
  }

  /** DeltaRelay: the waiting caller in this process, else the front door named by `target.relay`. */
  open(target: StreamTarget, attempt: number, model: string): DeltaSink | undefined {
    const local = this.waiting.get(target.requestId);
    if (local !== undefined) return local(attempt, model);
    if (target.relay !== undefined) return httpRelaySink(target.relay, attempt, model);
    return undefined;
  }

  /** The relay endpoint: `POST /internal/relay/<id>?token=…` with the attempt's text as its body. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const requestId = decodeURIComponent(url.pathname.slice(RELAY_PATH.length));
    const token = url.searchParams.get('token') ?? '';
    if (req.method !== 'POST' || !this.valid(requestId, token)) {
      res.writeHead(req.method !== 'POST' ? 405 : 403, { 'content-type': 'application/json' });
      res.end(
        '{"error":{"message":"not a valid relay request","type":"permission_error","code":null,"param":null}}',
      );
      req.resume();
      return;
    }
    const attempt = Number(req.headers['x-switchyard-attempt'] ?? '0');
    const model = String(req.headers['x-switchyard-model'] ?? '');
    const opener = this.waiting.get(requestId);
    const sink = opener?.(attempt, model);
    req.setEncoding('utf8');
    req.on('data', (text: string) => sink?.write(text));
    req.on('end', () => {
      sink?.end();
      res.writeHead(204);
      res.end();
    });
    req.on('error', () => sink?.end());
  }

  private token(requestId: string): string {
    return createHmac('sha256', this.secret).update(requestId).digest('base64url');
  }

  private valid(requestId: string, token: string): boolean {
    const expected = Buffer.from(this.token(requestId));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
