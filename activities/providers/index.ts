/**
 * Providers by kind, built once per provider definition and kept for the process's life: the
 * endpoint pool's health record, the HTTP clients and an embedded model are worth keeping.
 */
import type { ProviderPlan } from '../../plan/types.js';
import { EmbeddedProvider, type EmbeddedProviderOptions } from './embedded.js';
import type { EndpointPoolOptions } from './endpoints.js';
import { OllamaProvider } from './ollama.js';
import { OpenAIProvider } from './openai.js';
import type { Provider } from './types.js';

export type { ChatAnswer, ChatCall, ChatUsage, FinishReason, Provider } from './types.js';
export {
  ContextLengthError,
  ERROR_CLASSES,
  ProviderError,
  classifyError,
  parseRetryAfter,
  redactSecrets,
  toApplicationFailure,
  type ClassifiedError,
  type ClassifyOptions,
  type ErrorClass,
  type ProviderErrorJSON,
} from './errors.js';
export {
  EndpointPool,
  isEndpointFailure,
  type EndpointPoolOptions,
  type EndpointState,
} from './endpoints.js';
export { DEFAULT_REPEAT_PENALTY, EmbeddedProvider, type EmbeddedProviderOptions } from './embedded.js';
export type { RepeatPenalty } from './llama-engine.js';
export { OllamaProvider, type OllamaProviderOptions } from './ollama.js';
export { OpenAIProvider, LOOPBACK_API_KEY, type OpenAIProviderOptions } from './openai.js';

export interface CreateProviderOptions {
  /** The directory an embedded provider's `model-file` is relative to (the policy file's). */
  baseDir: string;
  /**
   * Stream answers from HTTP providers.
   * @default true
   */
  stream?: boolean;
  /** Endpoint rotation and cool-down for HTTP providers. */
  endpoints?: EndpointPoolOptions;
  /**
   * Where API-key variables are looked up.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** CPU threads for embedded models. @default 1 */
  threads?: number;
  /** Context window for embedded models. @default the model's training context, at most 4096 */
  contextSize?: number;
  /** Repetition penalty for embedded models. @default DEFAULT_REPEAT_PENALTY */
  repeatPenalty?: EmbeddedProviderOptions['repeatPenalty'];
}

const cache = new Map<string, Provider>();

/** The provider for a plan's provider definition; the same definition gives the same instance. */
export function createProvider(provider: ProviderPlan, options: CreateProviderOptions): Provider {
  const key = JSON.stringify([
    provider,
    options.baseDir,
    options.stream ?? true,
    options.threads ?? 1,
    options.contextSize ?? null,
    options.repeatPenalty ?? null,
    // A caller passing its own env or pool options gets its own instance.
    options.env ? 'env' : 'process',
    options.endpoints ? 'pool' : 'default',
  ]);
  let instance = cache.get(key);
  if (!instance) {
    instance = build(provider, options);
    cache.set(key, instance);
  }
  return instance;
}

function build(provider: ProviderPlan, options: CreateProviderOptions): Provider {
  const http = {
    ...(options.stream !== undefined ? { stream: options.stream } : {}),
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
  switch (provider.kind) {
    case 'ollama':
      return new OllamaProvider(provider, http);
    case 'openai':
      return new OpenAIProvider(provider, http);
    case 'embedded':
      return new EmbeddedProvider(provider, {
        baseDir: options.baseDir,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.contextSize !== undefined ? { contextSize: options.contextSize } : {}),
        ...(options.repeatPenalty !== undefined ? { repeatPenalty: options.repeatPenalty } : {}),
      });
    default: {
      const kind: never = provider.kind;
      throw new Error(`unknown provider kind: ${String(kind)}`);
    }
  }
}

/** Closes and forgets every provider created here (worker shutdown, tests). */
export async function closeProviders(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map((p) => p.close?.()));
}
