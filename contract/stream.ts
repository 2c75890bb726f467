/**
 * Streaming: where the text of an attempt goes while the model produces it (docs/language.md §6.4).
 * The same sink serves both execution modes: in `direct` mode the front door hands one to the
 * runner; in `durable` mode the attempt activity opens one through a relay (in-process when the
 * worker shares the front door's process, else across processes to the front door).
 */
import type { StreamTarget } from '../plan/index.js';

/** The text of one attempt, in order. */
export interface DeltaSink {
  /** Text the model produced (never empty). */
  write(text: string): void;
  /** The attempt is over (answered, failed or cancelled): no more writes. Idempotent. */
  end(): void;
}

/**
 * Which caller waits for a streamed request (its id, and the front door's relay URL when it is in
 * another process): the attempt's input carries it, so it is defined with the inputs, in
 * plan/effects.ts.
 */
export type { StreamTarget } from '../plan/index.js';

/** Opens a sink for one attempt of a streamed request; `undefined` when nobody listens. */
export interface DeltaRelay {
  open(target: StreamTarget, attempt: number, model: string): DeltaSink | undefined;
}
