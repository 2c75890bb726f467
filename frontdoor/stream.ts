/**
 * One streamed answer (docs/http.md "Streaming"): OpenAI's `chat.completion.chunk` server-sent
 * events, written straight to the response (no framework in between: the Python SDK sends
 * `Accept: application/json` even when streaming, which SSE plugins refuse).
 *
 * Text reaches the caller as the attempt's sink receives it (docs/language.md §6.4). The
 * response starts (status 200, headers, the role chunk) at the first text, or when the result is
 * known — so a request refused before any text still gets its HTTP error status. Once text of one
 * attempt was sent, other attempts' text is dropped (no fallback is spliced into a started stream),
 * and if that attempt does not end up serving the request, the stream ends with an error event. A
 * buffered attempt (an `after` guard or an `escalate … when output.*`) sends nothing while it runs;
 * its text is released from the result when it passed.
 */
import type { ServerResponse } from 'node:http';
import type { DeltaSink } from '../contract/stream.js';
import type { InferenceResult } from '../plan/index.js';
import { chunk, finishReason, usageOf } from './openai.js';
import type { HttpError } from './errors.js';

export interface StreamOptions {
  id: string;
  created: number;
  includeUsage: boolean;
  /** The Switchyard headers known before the result (request id, route, plan, execution). */
  headers: Record<string, string>;
}

export class AnswerStream {
  private started = false;
  private closed = false;
  /** The attempt whose text the caller has, and that text. */
  private streamedAttempt: number | undefined;
  private streamedText = '';
  private model: string | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: StreamOptions,
  ) {
    res.once('close', () => {
      this.closed = true;
    });
  }

  /** Whether the caller went away. */
  get gone(): boolean {
    return this.closed && !this.res.writableEnded;
  }

  /** Whether the caller already has a 200 and events. */
  get hasStarted(): boolean {
    return this.started;
  }

  /** A sink for one attempt's text (the runner's or the relay's). */
  open(attempt: number, model: string): DeltaSink {
    return {
      write: (text) => {
        if (this.closed || text === '') return;
        if (this.streamedAttempt === undefined) {
          this.streamedAttempt = attempt;
          this.model = model;
        } else if (this.streamedAttempt !== attempt) {
          return;
        }
        this.start();
        this.streamedText += text;
        this.event(chunk(this.options.id, this.options.created, this.model, { content: text }, null));
      },
      end: () => undefined,
    };
  }

  /** Ends the stream with the result (served: what is left of the text, the finish and usage chunks). */
  finish(result: InferenceResult, resultHeaders: Record<string, string>): void {
    if (this.closed) return;
    if (result.status !== 'served') return; // the caller answers with `fail`
    const answered = answeringAttempt(result);
    if (this.streamedAttempt !== undefined && this.streamedAttempt !== answered) {
      this.fail(undefined, {
        message: `the attempt that was streaming (${this.model ?? 'unknown model'}) did not serve the request; request ${result.id} was served by another attempt, which is not spliced into a started stream`,
        type: 'api_error',
        code: 'stream_interrupted',
      });
      return;
    }
    this.model = result.model;
    this.start(resultHeaders);
    const content = result.output?.content ?? '';
    const rest = content.startsWith(this.streamedText) ? content.slice(this.streamedText.length) : '';
    if (rest !== '') {
      this.event(chunk(this.options.id, this.options.created, this.model, { content: rest }, null));
    }
    // OpenAI clients ignore fields they do not know: `x_switchyard` carries what the response
    // headers could not (they were sent before the cost was known).
    this.event(
      chunk(this.options.id, this.options.created, this.model, {}, finishReason(result), {
        x_switchyard: { cost: result.cost, attempts: result.attempts.length, model: result.model },
      }),
    );
    if (this.options.includeUsage) {
      this.event(
        chunk(this.options.id, this.options.created, this.model, null, null, { usage: usageOf(result) }),
      );
    }
    this.res.end('data: [DONE]\n\n');
  }

  /**
   * Ends a started stream with an error event (the SDKs raise it as an API error); before the
   * stream started, returns `false` so the caller answers with the error's status instead.
   */
  fail(error: HttpError | undefined, body?: { message: string; type: string; code: string }): boolean {
    if (!this.started) return false;
    if (!this.closed) {
      const e = error ? error.body().error : { ...body!, param: null };
      this.event({ error: e });
      this.res.end();
    }
    return true;
  }

  private start(extraHeaders: Record<string, string> = {}): void {
    if (this.started) return;
    this.started = true;
    // Set, not only written: the server's error path looks for it (server.ts `answerError`).
    this.res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    this.res.writeHead(200, {
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...this.options.headers,
      ...extraHeaders,
    });
    this.res.socket?.setNoDelay(true);
    this.event(
      chunk(this.options.id, this.options.created, this.model, { role: 'assistant', content: '' }, null),
    );
  }

  private event(value: unknown): void {
    if (this.closed) return;
    this.res.write(`data: ${JSON.stringify(value)}\n\n`);
  }
}

/** The attempt number whose answer is the result's (the last answered attempt of its model). */
export function answeringAttempt(result: InferenceResult): number | undefined {
  for (let i = result.attempts.length - 1; i >= 0; i--) {
    const a = result.attempts[i]!;
    if (a.outcome === 'answered' && a.model === result.model) return a.attempt;
  }
  return undefined;
}
