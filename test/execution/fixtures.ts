/**
 * Policies for the execution tests, pointing at the provider test server: `local` speaks Ollama
 * (private), `cloud` speaks OpenAI (external; loopback needs no API key). Model ids are distinct so
 * faults can target one model. Task queues carry a prefix unique to the test file: every file shares
 * the run's Temporal server.
 */
import * as path from 'node:path';
import { TEST_MODEL_PATH } from '../support/provider-server.js';

export function catalog(serverUrl: string, queuePrefix: string): string {
  return `
provider local {
  kind ollama
  endpoints "${serverUrl}"
  queue "${queuePrefix}-local"
  concurrency 4
  timeout 10s
  private
}

provider cloud {
  kind openai
  endpoints "${serverUrl}/v1"
  queue "${queuePrefix}-cloud"
  concurrency 4
  timeout 10s
}

model small {
  provider local
  name "small"
  context 1024
  capabilities chat
  price input $0.0001 per 1k, output $0.0002 per 1k
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

/** One route per behaviour, chosen by the request's `tag.case`. */
export const MAIN_POLICY = `
import "catalog.policy"

policy main {
  require private when classification >= confidential

  route basic when tag.case == "basic" {
    use small max-tokens 16
  }
  route fallback when tag.case == "fallback" {
    use small max-tokens 16 retries 2 backoff 100ms
    fallback big max-tokens 16
  }
  route escalate when tag.case == "escalate" {
    use small max-tokens 32
    escalate big when output.empty or (output.truncated and output.tokens < 10) max-tokens 16
  }
  route deadline when tag.case == "deadline" {
    use small timeout 600ms retries 3 backoff 100ms max-tokens 16
    deadline 1s
  }
  route split when tag.case == "split" {
    split small 50%, alt 50% max-tokens 8
  }
  route external when tag.case == "external" {
    use big max-tokens 8 retries 1 backoff 100ms
    fallback small max-tokens 8
  }
  otherwise reject "no route for this case"
}
`;

/** The embedded provider: the GGUF model inside the worker, `model-file` relative to `dir`. */
export function offlinePolicy(dir: string, queuePrefix: string): string {
  return `
provider on-box {
  kind embedded
  model-file "${path.relative(dir, TEST_MODEL_PATH)}"
  queue "${queuePrefix}-onbox"
  concurrency 1
  timeout 20s
}

model tiny {
  provider on-box
  name "stories260K"
  context 512
  capabilities chat
}

policy offline {
  route local when true {
    use tiny max-tokens 12
  }
}
`;
}
