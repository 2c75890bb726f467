/**
 * OpenAI's chat-completions wire format ↔ Switchyard requests and results (docs/http.md "Request
 * mapping"). Unknown fields are ignored, as OpenAI does; a known field of the wrong type is a 400
 * naming it (`param`). The caller's team and app come from its key, never from the body or headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidRequest, validateRequest } from '../client/validate-request.js';
import type { InferenceRequest, InferenceResult, Message } from '../plan/index.js';
import { badRequest } from './errors.js';

/** What the chat-completions body asks besides the request itself. */
export interface ChatOptions {
  stream: boolean;
  includeUsage: boolean;
}

/** The parts of a request the body and headers give (policy and caller are resolved later). */
export interface MappedBody {
  /** `model` as sent. */
  model: string;
  /** From `POLICY/CAPABILITY` or `X-Switchyard-Policy`; absent: the key's default policy. */
  policy: string | undefined;
  request: Omit<InferenceRequest, 'id' | 'policy' | 'team' | 'app'>;
  options: ChatOptions;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OpenAI roles onto the request's: `developer` is OpenAI's newer name for `system`. */
const ROLES: Record<string, Message['role']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

const METADATA_FIELDS = new Set(['classification', 'region', 'mode', 'latency']);

/** Parses the body text; a 400 `invalid_json` with the parser's position when it is not JSON. */
export function parseBody(text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest('invalid_json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw badRequest('invalid_json', 'the request body must be a JSON object');
  return value;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function wrongType(param: string, expected: string, value: unknown): never {
  throw badRequest('invalid_type', `'${param}' must be ${expected}, not ${typeName(value)}`, param);
}

function optionalString(body: Json, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') wrongType(field, 'a string', v);
  return v;
}

function optionalNumber(body: Json, field: string, integer = false): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    wrongType(field, integer ? 'an integer' : 'a number', v);
  }
  return v;
}

function content(value: unknown, param: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) wrongType(param, 'a string or an array of content parts', value);
  const parts: string[] = [];
  value.forEach((part, i) => {
    if (!isObject(part)) wrongType(`${param}[${i}]`, 'a content part object', part);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') wrongType(`${param}[${i}].text`, 'a string', part.text);
      parts.push(part.text);
    } else {
      throw badRequest(
        'invalid_value',
        `'${param}[${i}].type' ${JSON.stringify(part.type)} is not supported: only text parts are`,
        `${param}[${i}].type`,
      );
    }
  });
  return parts.join('');
}

function messages(body: Json): Message[] {
  const v = body.messages;
  if (v === undefined) throw badRequest('missing_field', "'messages' is required", 'messages');
  if (!Array.isArray(v)) wrongType('messages', 'an array', v);
  if (v.length === 0) throw badRequest('invalid_value', "'messages' must not be empty", 'messages');
  return v.map((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) wrongType(at, 'an object', m);
    if (typeof m.role !== 'string') wrongType(`${at}.role`, 'a string', m.role);
    const role = ROLES[m.role];
    if (role === undefined) {
      throw badRequest(
        'invalid_value',
        `'${at}.role' must be one of ${Object.keys(ROLES).join(', ')}, not ${JSON.stringify(m.role)}`,
        `${at}.role`,
      );
    }
    return { role, content: content(m.content, `${at}.content`) };
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Maps a chat-completions body and the request's headers onto the request fields of
 * docs/language.md §5.1. Headers win over `metadata` (they are set by infrastructure between the
 * caller and Switchyard, say a sidecar that knows the data's classification).
 */
export function mapChatBody(body: Json, headers: IncomingHttpHeaders): MappedBody {
  const model = body.model;
  if (model === undefined) throw badRequest('missing_field', "'model' is required", 'model');
  if (typeof model !== 'string') wrongType('model', 'a string', model);
  const slash = model.indexOf('/');
  const capability = slash >= 0 ? model.slice(slash + 1) : model;
  if (capability === '') throw badRequest('invalid_value', "'model' names no capability", 'model');
  const policy = (slash >= 0 ? model.slice(0, slash) : undefined) || header(headers, 'x-switchyard-policy');

  const request: MappedBody['request'] = { capability, messages: messages(body) };
  const user = optionalString(body, 'user');
  if (user !== undefined) request.user = user;
  const maxTokens =
    optionalNumber(body, 'max_completion_tokens', true) ?? optionalNumber(body, 'max_tokens', true);
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature');
  if (temperature !== undefined) request.temperature = temperature;
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string') {
    if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string')) {
      wrongType('stop', 'a string or an array of strings', stop);
    }
  }
  const n = optionalNumber(body, 'n', true);
  if (n !== undefined && n !== 1) {
    throw badRequest('invalid_value', "'n' must be 1: Switchyard returns one choice", 'n');
  }

  const fields: Record<string, string> = {};
  const tags: Record<string, string> = {};
  const metadata = body.metadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) wrongType('metadata', 'an object', metadata);
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') wrongType(`metadata.${key}`, 'a string', value);
      if (METADATA_FIELDS.has(key)) fields[key] = value;
      else tags[key] = value;
    }
  }
  for (const key of METADATA_FIELDS) {
    const value = header(headers, `x-switchyard-${key}`);
    if (value !== undefined) fields[key] = value;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-switchyard-tag-') && typeof value === 'string') tags[name.slice(17)] = value;
  }
  if (fields.classification !== undefined)
    request.classification = fields.classification as NonNullable<InferenceRequest['classification']>;
  if (fields.mode !== undefined) request.mode = fields.mode as NonNullable<InferenceRequest['mode']>;
  if (fields.region !== undefined) request.region = fields.region;
  if (fields.latency !== undefined) request.latency = fields.latency;
  if (Object.keys(tags).length > 0) request.tags = tags;

  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    wrongType('stream', 'a boolean', stream);
  }
  const streamOptions = body.stream_options;
  let includeUsage = false;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isObject(streamOptions)) wrongType('stream_options', 'an object', streamOptions);
    const v = streamOptions.include_usage;
    if (v !== undefined && v !== null && typeof v !== 'boolean') {
      wrongType('stream_options.include_usage', 'a boolean', v);
    }
    includeUsage = v === true;
  }
  return { model, policy, request, options: { stream: stream === true, includeUsage } };
}

/**
 * The full request, checked against the request schema (the same check the client makes); a
 * problem is a 400 naming the OpenAI field it came from.
 */
export function completeRequest(request: InferenceRequest): InferenceRequest {
  try {
    return validateRequest(request);
  } catch (err) {
    if (!(err instanceof InvalidRequest)) throw err;
    const param = openAIParam(err.field);
    throw badRequest('invalid_value', `${err.message} (as '${param}')`, param);
  }
}

/** `messages.0.content` → `messages[0].content`; request fields back to the OpenAI names. */
function openAIParam(field: string): string {
  const renamed: Record<string, string> = {
    maxTokens: 'max_tokens',
    capability: 'model',
    classification: 'metadata.classification',
    mode: 'metadata.mode',
    region: 'metadata.region',
    latency: 'metadata.latency',
  };
  const path = field.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
  const head = path.split(/[.[]/)[0] ?? path;
  if (head === 'tags') return path.replace(/^tags/, 'metadata');
  return renamed[head] !== undefined ? path.replace(head, renamed[head]) : path;
}

/** OpenAI's `finish_reason` for the provider's. */
export function finishReason(result: InferenceResult): 'stop' | 'length' {
  return result.output?.finishReason === 'length' || result.output?.truncated ? 'length' : 'stop';
}

export function usageOf(result: InferenceResult): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
} {
  const { inputTokens, outputTokens } = result.usage;
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
  };
}

/** A served result as OpenAI's `chat.completion`. */
export function completion(result: InferenceResult, created: number): Json {
  return {
    id: result.id,
    object: 'chat.completion',
    created,
    model: result.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: result.output?.content ?? '', refusal: null },
        logprobs: null,
        finish_reason: finishReason(result),
      },
    ],
    usage: usageOf(result),
    system_fingerprint: result.plan,
  };
}

/** One `chat.completion.chunk`. */
export function chunk(
  id: string,
  created: number,
  model: string | null,
  delta: Json | null,
  finish: string | null,
  extra: Json = {},
): Json {
  return {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  };
}
