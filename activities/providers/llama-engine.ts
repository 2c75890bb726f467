/**
 * A GGUF model run in-process with node-llama-cpp: the embedded provider's engine, and the engine
 * behind the test provider server (test/support/provider-server.ts), so both produce the same text.
 *
 * - One `Llama` per process, CPU only, never building from source (TOOLING.md).
 * - Models are loaded once per file path and shared; each engine owns one context whose sequences
 *   (one per permitted concurrent generation) are handed out by a semaphore.
 * - Messages are rendered with the model's own chat template (node-llama-cpp resolves it from the
 *   GGUF; Llama 2's for models without one) and every generation starts from a clean sequence, so a
 *   prompt gives the same tokens whatever ran before: at temperature 0 the output is deterministic.
 * - Token counts are exact: prompt tokens are the rendered prompt's tokens (BOS included), output
 *   tokens are the tokens sampled (an end-of-generation token is not counted).
 */
import path from 'node:path';
import {
  getLlama,
  LlamaLogLevel,
  resolveChatWrapper,
  GeneralChatWrapper,
  SpecialToken,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { Message } from '../../plan/types.js';
import { ContextLengthError } from './errors.js';
import { Semaphore, abortReason } from './semaphore.js';

let llamaPromise: Promise<Llama> | undefined;
const models = new Map<string, Promise<LlamaModel>>();

/** The process's one `Llama` (CPU, prebuilt binary only). */
export function loadLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }).catch((err) => {
    llamaPromise = undefined;
    throw err;
  });
  return llamaPromise;
}

/** Load a GGUF model once per absolute path; later calls share it. */
export function loadModel(modelPath: string): Promise<LlamaModel> {
  const key = path.resolve(modelPath);
  let model = models.get(key);
  if (!model) {
    model = loadLlama().then((llama) => llama.loadModel({ modelPath: key }));
    models.set(key, model);
    model.catch(() => models.delete(key));
  }
  return model;
}

export interface LlamaEngineOptions {
  modelPath: string;
  /**
   * Generations that may run at once (each gets its own sequence).
   * @default 1
   */
  concurrency?: number;
  /**
   * Context window per sequence, in tokens (llama.cpp may round it up).
   * @default the model's training context, at most 4096
   */
  contextSize?: number;
  /**
   * CPU threads for evaluation; one is steadier on small machines (TOOLING.md).
   * @default 1
   */
  threads?: number;
}

export interface GenerateRequest {
  messages: readonly Message[];
  /** Absent: until the context is full. */
  maxTokens?: number;
  /** @default 0 (greedy) */
  temperature?: number;
  /** Only with a temperature above 0. @default 0 */
  seed?: number;
  stop?: readonly string[];
  /**
   * Lowers the odds of tokens the answer already used, so greedy decoding does not loop.
   * @default none (plain greedy or temperature sampling)
   */
  repeatPenalty?: RepeatPenalty;
  /** Wait this long after each token: a slow model, for tests of streaming and cancellation. */
  tokenDelayMs?: number;
  signal?: AbortSignal;
  /** Each piece of text as soon as it is final, with the number of tokens generated so far. */
  onText?: (text: string, tokens: number) => void;
}

/**
 * llama.cpp's repetition penalty over the answer's last `lastTokens` tokens (the prompt is not
 * punished: an answer may reuse the question's words). It only reorders the model's choices, so at
 * temperature 0 the output stays deterministic.
 */
export interface RepeatPenalty {
  /** Divides the score of every recently used token (1 = off). */
  penalty: number;
  /** Subtracted from a token's score once per recent use (0 = off). */
  frequencyPenalty: number;
  /** Subtracted once from the score of every recently used token (0 = off). */
  presencePenalty: number;
  /** How many of the answer's last tokens count as recent. */
  lastTokens: number;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

export interface EngineStats {
  active: number;
  queued: number;
  /** The most generations that ever ran at once. */
  maxActive: number;
  generations: number;
}

export class LlamaEngine {
  private readonly free: LlamaContextSequence[];
  private readonly semaphore: Semaphore;
  private maxActive = 0;
  private generations = 0;

  private constructor(
    readonly modelPath: string,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    concurrency: number,
  ) {
    this.free = Array.from({ length: concurrency }, () => context.getSequence());
    this.semaphore = new Semaphore(concurrency);
  }

  static async open(options: LlamaEngineOptions): Promise<LlamaEngine> {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const model = await loadModel(options.modelPath);
    const context = await model.createContext({
      contextSize: options.contextSize ?? Math.min(model.trainContextSize, 4096),
      sequences: concurrency,
      threads: options.threads ?? 1,
    });
    const chatWrapper = resolveChatWrapper(model) ?? new GeneralChatWrapper();
    return new LlamaEngine(path.resolve(options.modelPath), model, context, chatWrapper, concurrency);
  }

  /** Tokens per sequence. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get stats(): EngineStats {
    return {
      active: this.semaphore.active,
      queued: this.semaphore.queued,
      maxActive: this.maxActive,
      generations: this.generations,
    };
  }

  /** The rendered prompt's tokens, exactly as `generate` evaluates them. */
  promptTokens(messages: readonly Message[]): Token[] {
    return this.render(messages).tokens;
  }

  async generate(request: GenerateRequest): Promise<Generation> {
    const { signal } = request;
    const { tokens: prompt, stops: templateStops } = this.render(request.messages);
    const room = this.contextSize - prompt.length;
    if (room < 1) throw new ContextLengthError(prompt.length, this.contextSize);
    const maxTokens = request.maxTokens !== undefined && request.maxTokens > 0 ? request.maxTokens : Infinity;
    const limit = Math.min(maxTokens, room);

    const release = await this.semaphore.acquire(signal);
    const sequence = this.free.pop()!;
    this.maxActive = Math.max(this.maxActive, this.semaphore.active);
    this.generations++;
    try {
      if (signal?.aborted) throw abortReason(signal);
      await sequence.clearHistory();
      const stops = [...templateStops, ...(request.stop ?? []).filter((s) => s !== '')];
      const out = new TextAssembler(stops, request.onText);
      const generated: Token[] = [];
      let pending: Token[] = [];
      let finishReason: Generation['finishReason'] = 'stop';
      let stopped = false;
      const temperature = request.temperature ?? 0;
      const penalty = request.repeatPenalty;
      const iterator = sequence.evaluate(prompt, {
        temperature,
        ...(temperature > 0 ? { seed: request.seed ?? 0 } : {}),
        ...(penalty && penalty.lastTokens > 0
          ? {
              repeatPenalty: {
                punishTokens: () => generated.slice(-penalty.lastTokens),
                maxPunishTokens: penalty.lastTokens,
                penalty: penalty.penalty,
                frequencyPenalty: penalty.frequencyPenalty,
                presencePenalty: penalty.presencePenalty,
              },
            }
          : {}),
      });
      for await (const token of iterator) {
        if (request.tokenDelayMs) await delay(request.tokenDelayMs, signal);
        if (signal?.aborted) break;
        generated.push(token);
        pending.push(token);
        // Byte-fallback tokens can end inside a UTF-8 character: wait for the rest (at most 4 bytes).
        const piece = this.model.detokenize(
          pending,
          false,
          generated.slice(-pending.length - 8, -pending.length),
        );
        if (!piece.endsWith('\uFFFD') || pending.length >= 4) {
          pending = [];
          if (out.push(piece, generated.length)) {
            stopped = true;
            break;
          }
        }
        if (generated.length >= limit) {
          finishReason = 'length';
          break;
        }
      }
      if (signal?.aborted) throw abortReason(signal);
      if (
        !stopped &&
        pending.length > 0 &&
        out.push(
          this.model.detokenize(pending, false, generated.slice(-pending.length - 8, -pending.length)),
          generated.length,
        )
      ) {
        finishReason = 'stop';
      }
      out.end(generated.length);
      return {
        text: out.text,
        finishReason,
        promptTokens: prompt.length,
        completionTokens: generated.length,
      };
    } finally {
      this.free.push(sequence);
      release();
    }
  }

  /** Frees the context; the model stays loaded for other engines. */
  async close(): Promise<void> {
    if (!this.context.disposed) await this.context.dispose();
  }

  private render(messages: readonly Message[]): { tokens: Token[]; stops: string[] } {
    const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
      if (m.role === 'system') return { type: 'system', text: m.content };
      if (m.role === 'assistant') return { type: 'model', response: [m.content] };
      return { type: 'user', text: m.content };
    });
    history.push({ type: 'model', response: [] });
    const state = this.chatWrapper.generateContextState({ chatHistory: history });
    const stops: string[] = [];
    for (const trigger of state.stopGenerationTriggers) {
      // Triggers made of special tokens (EOS, EOT) end generation as end-of-generation tokens.
      if (trigger.values.some((v) => v instanceof SpecialToken)) continue;
      const text = trigger.values.map((v) => (typeof v === 'string' ? v : v.value)).join('');
      if (text !== '') stops.push(text);
    }
    return { tokens: state.contextText.tokenize(this.model.tokenizer), stops };
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Collects generated text, cuts it at the first stop sequence and releases text to `onText` only
 * once it can no longer turn out to be the start of a stop sequence.
 */
class TextAssembler {
  text = '';
  private emitted = 0;
  private readonly longestStop: number;

  constructor(
    private readonly stops: readonly string[],
    private readonly onText?: (text: string, tokens: number) => void,
  ) {
    this.longestStop = stops.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** Appends a piece; true when a stop sequence was found (the text is cut before it). */
  push(piece: string, tokens: number): boolean {
    const before = this.text.length;
    this.text += piece;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop, Math.max(0, before - stop.length + 1));
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.text = this.text.slice(0, cut);
      this.end(tokens);
      return true;
    }
    this.flush(this.text.length - this.heldBack(), tokens);
    return false;
  }

  end(tokens: number): void {
    this.flush(this.text.length, tokens);
  }

  private heldBack(): number {
    const max = Math.min(this.longestStop - 1, this.text.length);
    for (let n = max; n > 0; n--) {
      const tail = this.text.slice(-n);
      if (this.stops.some((s) => s.startsWith(tail))) return n;
    }
    return 0;
  }

  private flush(upTo: number, tokens: number): void {
    if (upTo <= this.emitted) return;
    const piece = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    this.onText?.(piece, tokens);
  }
}
