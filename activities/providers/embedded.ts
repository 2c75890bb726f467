/**
 * A GGUF model run inside the worker process (`kind embedded`). The model file is loaded once per
 * path (llama-engine.ts); at most `provider.concurrency` generations run at once, the others wait
 * in turn — the wait counts against the call's timeout.
 */
import path from 'node:path';
import { LlamaEngine, type EngineStats, type RepeatPenalty } from './llama-engine.js';
import { ProviderError } from './errors.js';
import { runAttempt } from './attempt.js';
import type { ProviderPlan } from '../../plan/types.js';
import type { ChatAnswer, ChatCall, Provider } from './types.js';

export interface EmbeddedProviderOptions {
  /** The directory `provider.modelFile` is relative to (the policy file's directory). */
  baseDir: string;
  /**
   * CPU threads per generation.
   * @default 1
   */
  threads?: number;
  /**
   * Context window in tokens.
   * @default the model's training context, at most 4096
   */
  contextSize?: number;
  /**
   * The repetition penalty (llama-engine.ts), a part of it, or `false` for plain greedy decoding.
   * @default DEFAULT_REPEAT_PENALTY
   */
  repeatPenalty?: Partial<RepeatPenalty> | false;
}

/**
 * llama.cpp's and Ollama's usual defaults: a small model decoding greedily (temperature 0, the
 * default here) falls into loops ("la femme, la femme, …"); dividing the scores of the answer's
 * last 64 tokens by 1.1 breaks them and keeps the answer deterministic (docs/language.md §3.1).
 */
export const DEFAULT_REPEAT_PENALTY: Readonly<RepeatPenalty> = {
  penalty: 1.1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  lastTokens: 64,
};

export class EmbeddedProvider implements Provider {
  readonly modelPath: string;
  private engine?: Promise<LlamaEngine>;
  private readonly label: string;
  /** Absent: no penalty. */
  readonly repeatPenalty?: RepeatPenalty;

  constructor(
    readonly plan: ProviderPlan,
    private readonly options: EmbeddedProviderOptions,
  ) {
    if (!plan.modelFile) throw new Error(`provider ${plan.name}: kind embedded needs a model-file`);
    this.modelPath = path.resolve(options.baseDir, plan.modelFile);
    this.label = `embedded:${plan.modelFile}`;
    if (options.repeatPenalty !== false) {
      this.repeatPenalty = { ...DEFAULT_REPEAT_PENALTY, ...options.repeatPenalty };
    }
  }

  /** Loads the model now rather than on the first call (a worker does this at start). */
  open(): Promise<LlamaEngine> {
    this.engine ??= LlamaEngine.open({
      modelPath: this.modelPath,
      concurrency: Math.max(1, this.plan.concurrency || 1),
      threads: this.options.threads ?? 1,
      ...(this.options.contextSize !== undefined ? { contextSize: this.options.contextSize } : {}),
    }).catch((err: unknown) => {
      this.engine = undefined;
      const message = err instanceof Error ? err.message : String(err);
      // A missing or unreadable model file will not fix itself on retry.
      throw new ProviderError(
        { errorClass: 'non-retryable', message: `cannot load ${this.plan.modelFile}: ${message}` },
        { provider: this.plan.name, endpoint: this.label },
      );
    });
    return this.engine;
  }

  async stats(): Promise<EngineStats> {
    return (await this.open()).stats;
  }

  chat(call: ChatCall): Promise<ChatAnswer> {
    return runAttempt({ call, endpoint: this.label, secrets: [] }, async (_endpoint, signal, emit) => {
      const engine = await this.open();
      const generation = await engine.generate({
        messages: call.messages,
        ...(call.maxTokens !== undefined ? { maxTokens: call.maxTokens } : {}),
        temperature: call.temperature ?? 0,
        ...(call.stop ? { stop: call.stop } : {}),
        ...(this.repeatPenalty ? { repeatPenalty: this.repeatPenalty } : {}),
        signal,
        // The engine releases text only once no stop sequence can claim it: these pieces are final.
        onText: (text, tokens) => {
          call.onProgress?.(tokens);
          emit(text);
        },
      });
      return {
        content: generation.text,
        finishReason: generation.finishReason,
        usage: { inputTokens: generation.promptTokens, outputTokens: generation.completionTokens },
      };
    });
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await (await engine.catch(() => undefined))?.close();
  }
}
