/**
 * The one interface every provider kind (ollama, openai, embedded) implements: one chat attempt in,
 * one answer out, or one classified `ProviderError` thrown (errors.ts). Retries are not done here:
 * each attempt is one Temporal activity execution (docs/architecture.md, decision 3).
 */
import type { Message, ModelPlan, ProviderPlan } from '../../plan/types.js';

export type FinishReason = 'stop' | 'length' | 'other';

export interface ChatCall {
  model: ModelPlan;
  provider: ProviderPlan;
  /**
   * The endpoint to call. When absent, the provider picks one of `provider.endpoints` in turn,
   * skipping endpoints that are cooling down (endpoints.ts).
   */
  endpoint?: string;
  messages: Message[];
  /** The most tokens to generate; absent = the provider's default (usually until the context fills). */
  maxTokens?: number;
  /** Absent = the server's default; the embedded provider defaults to 0 (greedy, deterministic). */
  temperature?: number;
  /** Stop sequences: generation ends (finish reason `stop`) before the first one produced. */
  stop?: string[];
  /** Bounds the whole attempt, connecting and streaming included; past it the error class is `timeout`. */
  timeoutMs: number;
  /**
   * Cancels the attempt (e.g. the activity's cancellation signal). A cancelled call rejects with
   * `signal.reason` as is, not with a `ProviderError`: cancellation is not a provider failure.
   */
  signal?: AbortSignal;
  /** Called as tokens arrive (streaming only) with the count so far; use it to heartbeat. */
  onProgress?: (tokens: number) => void;
  /**
   * Called with each piece of the answer's text as it arrives, in order, never with an empty
   * string; a non-streamed answer comes as one piece. The pieces joined are exactly
   * `ChatAnswer.content`: text that might still turn out to be the start of a stop sequence is held
   * back, never sent and taken back. Nothing is sent once the call has failed or been cancelled —
   * but a call that fails after some pieces were sent does not take them back either.
   */
  onDelta?: (text: string) => void;
}

export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatAnswer {
  content: string;
  finishReason: FinishReason;
  usage: ChatUsage;
  /** True when the server reported no usage and the counts are estimates (chars / 4, chunks). */
  usageEstimated?: boolean;
  /** The endpoint that answered (for embedded: `embedded:<model-file>`). */
  endpoint: string;
  /** Wall-clock milliseconds of the attempt. */
  ms: number;
}

export interface Provider {
  readonly plan: ProviderPlan;
  chat(call: ChatCall): Promise<ChatAnswer>;
  close?(): Promise<void>;
}
