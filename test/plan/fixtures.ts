/**
 * Hand-written plans that mirror examples/ (catalog.policy + support.policy, embedded.policy)
 * exactly, and small builders for the plans the other tests need.
 */
import type {
  CallTarget,
  Condition,
  GuardPlan,
  InferenceRequest,
  ModelPlan,
  Plan,
  ProviderPlan,
  RoutePlan,
  Value,
} from '../../plan/types.js';
import { PLAN_FORMAT } from '../../plan/types.js';

export const str = (value: string): Value => ({ kind: 'string', value });
export const name = (value: string): Value => ({ kind: 'name', value });
export const eq = (field: string, value: Value): Condition => ({ op: 'compare', field, cmp: '==', value });
export const capability = (value: string): Condition => eq('capability', str(value));
export const and = (...args: Condition[]): Condition => ({ op: 'and', args });
export const TRUE: Condition = { op: 'true' };

export const gpuEast: ProviderPlan = {
  name: 'gpu-east',
  kind: 'ollama',
  endpoints: ['http://gpu-east-1:11434', 'http://gpu-east-2:11434'],
  queue: 'gpu-east',
  concurrency: 4,
  timeoutMs: 30_000,
  private: true,
  region: null,
  apiKeyEnv: null,
  modelFile: null,
};

export const openai: ProviderPlan = {
  name: 'openai',
  kind: 'openai',
  endpoints: ['https://api.openai.com/v1'],
  queue: 'provider-openai',
  concurrency: 4,
  timeoutMs: null,
  private: false,
  region: null,
  apiKeyEnv: 'OPENAI_API_KEY',
  modelFile: null,
};

export const llama: ModelPlan = {
  name: 'llama-8b',
  provider: 'gpu-east',
  id: 'llama3.1:8b',
  version: '2024-07-23',
  context: 128_000,
  capabilities: ['chat', 'summarize', 'classify'],
  // $0.0001 and $0.0002 per 1k tokens.
  price: { input: { nanos: 100_000, perTokens: 1_000 }, output: { nanos: 200_000, perTokens: 1_000 } },
};

export const gpt4o: ModelPlan = {
  name: 'gpt-4o',
  provider: 'openai',
  id: 'gpt-4o-2024-08-06',
  version: null,
  context: 128_000,
  capabilities: ['chat', 'reasoning', 'summarize', 'classify'],
  // $0.0025 and $0.01 per 1k tokens.
  price: { input: { nanos: 2_500_000, perTokens: 1_000 }, output: { nanos: 10_000_000, perTokens: 1_000 } },
};

const ticketSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Triage answer for a support ticket',
  type: 'object',
  required: ['category', 'priority'],
  properties: {
    category: { enum: ['billing', 'bug', 'account', 'other'] },
    priority: { enum: ['low', 'normal', 'high', 'urgent'] },
    summary: { type: 'string', maxLength: 280 },
  },
  additionalProperties: false,
};

export const piiGuard: GuardPlan = {
  name: 'pii',
  phase: 'before',
  target: { kind: 'external' },
  redact: ['email', 'phone', 'credit-card'],
  blocks: [],
  maxInput: null,
  schema: null,
};

export const secretsGuard: GuardPlan = {
  name: 'secrets',
  phase: 'before',
  target: { kind: 'all' },
  redact: [],
  blocks: [
    { pattern: 'BEGIN [A-Z ]*PRIVATE KEY', flags: '', message: 'private keys must not be sent to a model' },
  ],
  maxInput: 32_000,
  schema: null,
};

export const ticketShapeGuard: GuardPlan = {
  name: 'ticket-shape',
  phase: 'after',
  target: { kind: 'route', route: 'triage' },
  redact: [],
  blocks: [],
  maxInput: null,
  schema: { path: 'schemas/ticket.json', schema: ticketSchema },
};

/** support.policy compiled (by hand). */
export function supportPlan(): Plan {
  return {
    format: PLAN_FORMAT,
    name: 'support',
    version: 3,
    hash: 'sha256:support-test',
    owner: 'platform-team',
    description: 'Routing for the support organisation',
    providers: { 'gpu-east': gpuEast, openai },
    models: { 'llama-8b': llama, 'gpt-4o': gpt4o },
    budgets: [
      {
        name: 'team-monthly',
        scope: 'team',
        limits: [
          { kind: 'money', amount: 500_000_000_000, window: 'month' },
          { kind: 'tokens', amount: 20_000_000, window: 'day' },
        ],
        onExceed: { action: 'downgrade', model: 'llama-8b' },
      },
    ],
    rateLimits: [
      {
        name: 'rate-limit-1',
        scope: 'team',
        limits: [
          { kind: 'requests', amount: 600, window: 'minute' },
          { kind: 'tokens', amount: 200_000, window: 'minute' },
        ],
        onExceed: { action: 'wait', maxWaitMs: 30_000 },
      },
    ],
    guards: [piiGuard, secretsGuard, ticketShapeGuard],
    requires: [
      {
        text: 'require private when classification >= confidential',
        when: { op: 'compare', field: 'classification', cmp: '>=', value: name('confidential') },
        kind: 'private',
      },
    ],
    routes: [
      {
        name: 'triage',
        when: capability('classify'),
        whenText: 'capability == "classify"',
        primary: { kind: 'use', target: { model: 'llama-8b', maxTokens: 256 } },
        fallbacks: [],
        escalations: [
          { model: 'gpt-4o', when: { op: 'output', field: 'invalid' }, whenText: 'output.invalid' },
        ],
        deadlineMs: null,
        execution: 'durable',
      },
      {
        name: 'interactive',
        when: and(capability('chat'), eq('mode', name('interactive'))),
        whenText: 'capability == "chat" and mode == interactive',
        primary: { kind: 'use', target: { model: 'llama-8b', timeoutMs: 5_000, retries: 2, backoffMs: 200 } },
        fallbacks: [{ model: 'gpt-4o', timeoutMs: 20_000 }],
        escalations: [
          {
            model: 'gpt-4o',
            when: {
              op: 'or',
              args: [
                { op: 'output', field: 'truncated' },
                { op: 'output', field: 'empty' },
              ],
            },
            whenText: 'output.truncated or output.empty',
          },
        ],
        deadlineMs: 8_000,
        execution: 'direct',
      },
      {
        name: 'reasoning',
        when: capability('reasoning'),
        whenText: 'capability == "reasoning"',
        primary: { kind: 'use', target: { model: 'gpt-4o', timeoutMs: 60_000, retries: 3 } },
        fallbacks: [{ model: 'llama-8b' }],
        escalations: [],
        deadlineMs: null,
        execution: 'durable',
      },
      {
        name: 'batch',
        when: eq('mode', name('batch')),
        whenText: 'mode == batch',
        primary: {
          kind: 'split',
          targets: [
            { model: 'llama-8b', weight: 80 },
            { model: 'gpt-4o', weight: 20 },
          ],
        },
        fallbacks: [],
        escalations: [],
        deadlineMs: null,
        execution: 'durable',
      },
    ],
    otherwise: { kind: 'reject', message: 'no route serves this capability' },
    audit: { prompts: 'hashed', retainDays: 400 },
  };
}

/** embedded.policy compiled (by hand). */
export function offlinePlan(): Plan {
  return {
    format: PLAN_FORMAT,
    name: 'offline',
    version: 1,
    hash: 'sha256:offline-test',
    owner: 'platform-team',
    description: null,
    providers: {
      'on-box': {
        name: 'on-box',
        kind: 'embedded',
        endpoints: [],
        queue: 'provider-on-box',
        concurrency: 1,
        timeoutMs: null,
        private: true,
        region: null,
        apiKeyEnv: null,
        modelFile: '../test/fixtures/models/stories260K.gguf',
      },
    },
    models: {
      'tiny-stories': {
        name: 'tiny-stories',
        provider: 'on-box',
        id: 'stories260K',
        version: null,
        context: 512,
        capabilities: ['chat'],
        price: null,
      },
    },
    budgets: [],
    rateLimits: [
      {
        name: 'rate-limit-1',
        scope: 'user',
        limits: [{ kind: 'requests', amount: 60, window: 'minute' }],
        onExceed: { action: 'reject' },
      },
    ],
    guards: [],
    requires: [],
    routes: [
      {
        name: 'local',
        when: TRUE,
        whenText: 'true',
        primary: {
          kind: 'use',
          target: { model: 'tiny-stories', maxTokens: 32, timeoutMs: 10_000, retries: 1 },
        },
        fallbacks: [],
        escalations: [],
        deadlineMs: null,
        execution: 'durable',
      },
    ],
    otherwise: null,
    audit: { prompts: 'full', retainDays: 30 },
  };
}

/** A route with sensible defaults. */
export function route(
  routeName: string,
  when: Condition,
  use: CallTarget | { split: { model: string; weight: number }[] },
  more: Partial<Omit<RoutePlan, 'name' | 'when' | 'primary'>> = {},
): RoutePlan {
  return {
    name: routeName,
    when,
    whenText: '',
    primary: 'split' in use ? { kind: 'split', targets: use.split } : { kind: 'use', target: use },
    fallbacks: [],
    escalations: [],
    deadlineMs: null,
    execution: 'durable',
    ...more,
  };
}

/** The catalog (llama-8b private, gpt-4o external) with no governance, plus whatever `more` sets. */
export function plan(more: Partial<Plan>): Plan {
  return {
    format: PLAN_FORMAT,
    name: 'p',
    version: 1,
    hash: 'sha256:p',
    owner: null,
    description: null,
    providers: { 'gpu-east': gpuEast, openai },
    models: { 'llama-8b': llama, 'gpt-4o': gpt4o },
    budgets: [],
    rateLimits: [],
    guards: [],
    requires: [],
    routes: [],
    otherwise: null,
    audit: { prompts: 'none', retainDays: null },
    ...more,
  };
}

let counter = 0;

/** A request with one short user message and a fresh id. */
export function request(fields: Partial<InferenceRequest> = {}): InferenceRequest {
  counter += 1;
  return {
    id: `req-${counter}`,
    policy: 'support',
    capability: 'chat',
    messages: [{ role: 'user', content: 'Where is my invoice?' }],
    ...fields,
  };
}
