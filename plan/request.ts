/**
 * Requests as the evaluator sees them: defaults (docs/language.md §5.1), the input-token estimate
 * and the typed value of every condition field.
 */
import { CLASSIFICATIONS } from './types.js';
import type { Classification, InferenceRequest, Message, Mode, Value } from './types.js';

export const DEFAULT_MODE: Mode = 'interactive';
export const DEFAULT_CLASSIFICATION: Classification = 'internal';

/** Characters per token of the estimate. */
export const CHARS_PER_TOKEN = 4;
/** Tokens added per message for its role and the chat template's separators. */
export const TOKENS_PER_MESSAGE = 4;

/**
 * Estimates the input tokens of `messages` without a tokenizer: for each message,
 * `ceil(content length / 4) + 4` (length in UTF-16 code units, 4 tokens for the role and template).
 * Deliberately a little pessimistic for English; only used for routing and worst-case reservations,
 * never for billing (the provider's reported usage is billed).
 */
export function estimateInputTokens(messages: readonly Message[]): number {
  let tokens = 0;
  for (const message of messages) {
    tokens += Math.ceil(message.content.length / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE;
  }
  return tokens;
}

/** `request.inputTokens` when given, else the estimate from the messages. */
export function inputTokensOf(request: Pick<InferenceRequest, 'inputTokens' | 'messages'>): number {
  return request.inputTokens ?? estimateInputTokens(request.messages ?? []);
}

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a duration literal (`200ms`, `2s`, `5m`, `1h`) into milliseconds; throws otherwise. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new SyntaxError(`not a duration: "${text}" (expected e.g. 200ms, 2s, 5m, 1h)`);
  return ms;
}

/** Like {@link parseDuration}, but `undefined` for text that is not a duration. */
export function tryParseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * A request with its defaults applied and its derived fields computed once, so that evaluating
 * many conditions costs no more than property reads.
 */
export interface RequestView {
  capability: string | undefined;
  mode: Mode;
  classification: Classification;
  /** Index in {@link CLASSIFICATIONS}: public 0 … restricted 3. */
  classificationRank: number;
  team: string | undefined;
  app: string | undefined;
  user: string | undefined;
  region: string | undefined;
  tags: Record<string, string> | undefined;
  inputTokens: number;
  maxTokens: number | undefined;
  /** `undefined` when absent or not a duration. */
  latencyMs: number | undefined;
}

export function viewRequest(request: InferenceRequest): RequestView {
  const classification = request.classification ?? DEFAULT_CLASSIFICATION;
  return {
    capability: request.capability,
    mode: request.mode ?? DEFAULT_MODE,
    classification,
    classificationRank: CLASSIFICATIONS.indexOf(classification),
    team: request.team,
    app: request.app,
    user: request.user,
    region: request.region,
    tags: request.tags,
    inputTokens: inputTokensOf(request),
    maxTokens: request.maxTokens,
    latencyMs: request.latency === undefined ? undefined : tryParseDuration(request.latency),
  };
}

/** The value of tag `name`, ignoring inherited properties (`tag.constructor` is not a tag). */
export function tagOf(view: RequestView, name: string): string | undefined {
  const tags = view.tags;
  return tags !== undefined && Object.prototype.hasOwnProperty.call(tags, name) ? tags[name] : undefined;
}

/**
 * The typed value of a condition field (`capability`, `mode`, `classification`, `team`, `app`,
 * `user`, `region`, `tag.NAME`, `input.tokens`, `max-tokens`, `latency`); `undefined` when the
 * request lacks it or the field is unknown. `mode` and `classification` always have a value (their
 * defaults).
 */
export function requestField(request: InferenceRequest | RequestView, field: string): Value | undefined {
  const view = 'messages' in request ? viewRequest(request) : request;
  const text = (value: string | undefined): Value | undefined =>
    value === undefined ? undefined : { kind: 'string', value };
  switch (field) {
    case 'capability':
      return text(view.capability);
    case 'mode':
      return { kind: 'name', value: view.mode };
    case 'classification':
      return { kind: 'name', value: view.classification };
    case 'team':
      return text(view.team);
    case 'app':
      return text(view.app);
    case 'user':
      return text(view.user);
    case 'region':
      return text(view.region);
    case 'input.tokens':
      return { kind: 'tokens', value: view.inputTokens };
    case 'max-tokens':
      return view.maxTokens === undefined ? undefined : { kind: 'tokens', value: view.maxTokens };
    case 'latency':
      return view.latencyMs === undefined ? undefined : { kind: 'duration', ms: view.latencyMs };
    default:
      return field.startsWith('tag.') ? text(tagOf(view, field.slice(4))) : undefined;
  }
}

/**
 * What a request's route and chain depend on, apart from its text (docs/language.md §5.1): kept in
 * its audit record so that `switchyard replay` can decide it again under other plans. The request
 * id is the record's; `messages` are the prompt, which the audit keeps only as the policy's `audit
 * prompts` says. `inputTokens` is the count the decision used (given, or estimated from the text).
 */
export interface RoutingFacts {
  capability: string | null;
  mode: Mode | null;
  classification: Classification | null;
  team: string | null;
  app: string | null;
  user: string | null;
  region: string | null;
  tags: Record<string, string>;
  inputTokens: number;
  maxTokens: number | null;
  latency: string | null;
}

/** The routing facts of `request`, as its audit record keeps them. */
export function routingFactsOf(request: InferenceRequest): RoutingFacts {
  return {
    capability: request.capability ?? null,
    mode: request.mode ?? null,
    classification: request.classification ?? null,
    team: request.team ?? null,
    app: request.app ?? null,
    user: request.user ?? null,
    region: request.region ?? null,
    tags: { ...(request.tags ?? {}) },
    inputTokens: inputTokensOf(request),
    maxTokens: request.maxTokens ?? null,
    latency: request.latency ?? null,
  };
}

/**
 * The request that `facts` describe, for deciding it again: `messages` when the audit kept the
 * prompt, else none (the input-token count is the recorded one either way).
 */
export function requestOfFacts(
  id: string,
  policy: string,
  facts: RoutingFacts,
  messages: Message[] = [],
): InferenceRequest {
  const request: InferenceRequest = {
    id,
    policy,
    capability: facts.capability ?? '',
    messages,
    inputTokens: facts.inputTokens,
  };
  if (facts.capability === null) delete (request as Partial<InferenceRequest>).capability;
  if (facts.mode !== null) request.mode = facts.mode;
  if (facts.classification !== null) request.classification = facts.classification;
  if (facts.team !== null) request.team = facts.team;
  if (facts.app !== null) request.app = facts.app;
  if (facts.user !== null) request.user = facts.user;
  if (facts.region !== null) request.region = facts.region;
  if (Object.keys(facts.tags).length > 0) request.tags = { ...facts.tags };
  if (facts.maxTokens !== null) request.maxTokens = facts.maxTokens;
  if (facts.latency !== null) request.latency = facts.latency;
  return request;
}
