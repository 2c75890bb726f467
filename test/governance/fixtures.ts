/**
 * Policies for the governance tests, pointing at the provider test server: `local` speaks Ollama
 * (private), `cloud` speaks OpenAI (external, with an API key from the environment). Every request
 * says `inputTokens 100`, so worst cases are exact: `small` reserves 100 × $0.001/1k + 4 ×
 * $0.002/1k = $0.000108 (108,000 nano-dollars) and 104 tokens per attempt.
 */
import { randomBytes } from 'node:crypto';
import type { InferenceRequest } from '../../plan/types.js';

/** Worst case of one `small` attempt (max-tokens 4, inputTokens 100). */
export const SMALL_NANOS = 108_000;
export const SMALL_TOKENS = 104;
/** How many `small` attempts the `fits` and `fitstokens` budgets hold. */
export const FITS = 8;

/** The API key variable of the `cloud` provider, and a fresh value for it (set in the test process). */
export const KEY_ENV = 'SWITCHYARD_GOV_TEST_API_KEY';
export function freshKey(): string {
  return `sk-gov-${randomBytes(24).toString('hex')}`;
}

export function catalog(serverUrl: string, queuePrefix: string): string {
  return `
provider local {
  kind ollama
  endpoints "${serverUrl}"
  queue "${queuePrefix}-local"
  concurrency 16
  timeout 15s
  private
}

provider cloud {
  kind openai
  endpoints "${serverUrl}/v1"
  queue "${queuePrefix}-cloud"
  concurrency 8
  timeout 15s
  api-key env ${KEY_ENV}
}

model small {
  provider local
  name "small"
  context 1024
  capabilities chat
  price input $0.001 per 1k, output $0.002 per 1k
}

model alt {
  provider local
  name "alt"
  context 1024
  capabilities chat
}

model big {
  provider cloud
  name "big"
  context 1024
  capabilities chat
  price input $0.0025 per 1k, output $0.01 per 1k
}
`;
}

/** Budget and rate-limit policies: one policy per behaviour (every budget of a policy applies to all its requests). */
export const LEDGER_POLICIES = `
import "catalog.policy"

policy fits {
  budget b per team {
    limit $0.000864 per day
    on-exceed reject
  }
  route r when true { use small max-tokens 4 }
}

policy fitstokens {
  budget b per team {
    tokens ${FITS * SMALL_TOKENS} per day
    on-exceed downgrade alt
  }
  route r when true { use small max-tokens 4 }
}

policy reset {
  budget b per team {
    limit $0.000108 per minute
    on-exceed wait
  }
  route r when true { use small max-tokens 4 }
}

policy parked {
  budget b per team {
    limit $0.0002 per day
    on-exceed wait
  }
  route r when true {
    use small max-tokens 4
    deadline 1500ms
  }
}

policy alerting {
  budget b per team {
    limit $0.0001 per day
    on-exceed alert
  }
  route r when true { use small max-tokens 4 }
}

policy downgrading {
  budget b per team {
    limit $0.0001 per day
    on-exceed downgrade alt
  }
  route r when true { use small max-tokens 4 }
}

policy ratewait {
  rate-limit per team {
    1 requests per minute
    on-exceed wait 5s
  }
  route r when true { use alt max-tokens 4 }
}

policy ratereject {
  rate-limit per team {
    1 requests per hour
    on-exceed reject
  }
  route r when true { use alt max-tokens 4 }
}
`;

/** Guards, data rules and audit prompts, chosen by the request's `tag.case`. */
export const GUARD_POLICY = `
import "catalog.policy"

policy guarded {
  guard pii before external {
    redact email
  }
  guard secrets before all {
    block /BEGIN [A-Z ]*PRIVATE KEY/ "private keys must not be sent to a model"
  }
  guard shape after route json {
    schema "schemas/answer.json"
  }

  require private when classification >= confidential

  route redact when tag.case == "redact" {
    use big max-tokens 4
    fallback small max-tokens 4
  }
  route json when tag.case == "json" {
    use small max-tokens 8
    escalate big when output.invalid max-tokens 8
  }
  route fails when tag.case == "fails" {
    use big max-tokens 4
  }
  otherwise reject "no route for this case"

  audit {
    prompts redacted
  }
}
`;

/** What `schema "schemas/answer.json"` requires: a JSON object with a string `label`. */
export const ANSWER_SCHEMA = JSON.stringify({
  type: 'object',
  required: ['label'],
  properties: { label: { type: 'string' } },
});

/** A request whose message carries its id (to find it in the provider server's records). */
export function govRequest(
  id: string,
  policy: string,
  team: string,
  extra: Partial<InferenceRequest> = {},
): InferenceRequest {
  return {
    id,
    policy,
    capability: 'chat',
    team,
    inputTokens: 100,
    // Downgrade targets outside the route take the request's max-tokens (else the whole context).
    maxTokens: 4,
    messages: [{ role: 'user', content: `Once upon a time [${id}]` }],
    ...extra,
  };
}
