import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Generates realistic policy workspaces for benchmarks and scale tests: catalogs of providers
 * and models, and policies with many routes, budgets and guards that reference them across files.
 */

function provider(i: number): string {
  return `provider pool-${i} {
  kind ollama
  endpoints "http://10.0.${i}.1:11434", "http://10.0.${i}.2:11434"
  queue "pool-${i}"
  concurrency 4
  timeout 30s
  private
}
`;
}

function model(i: number, providers: number): string {
  return `model m-${i} {
  provider pool-${i % providers}
  name "model-${i}:8b"
  version "2024-07-${String((i % 28) + 1).padStart(2, '0')}"
  context 128k
  capabilities chat, summarize, classify, cap-${i % 25}
  price input $0.000${(i % 9) + 1} per 1k, output $0.000${(i % 7) + 2} per 1k
}
`;
}

function route(policy: number, r: number, models: number): string {
  const a = (policy * 7 + r) % models;
  const b = (a + 1) % models;
  const c = (a + 2) % models;
  const d = (a + 3) % models;
  return `  // team-${r}: local pool first, two fallbacks
  route r-${r} when capability == "chat" and team == "team-${r}" and mode == interactive {
    use m-${a} timeout 5s retries 2 backoff 200ms max-tokens 512
    escalate m-${b} when output.truncated or output.empty
    fallback m-${c} timeout 20s
    fallback m-${d} timeout 20s
    deadline 180s
  }
`;
}

function policy(p: number, routes: number, models: number): string {
  let out = `policy p-${p} {
  version ${p + 1}
  owner "team-${p}"
  description "generated policy ${p}"

  budget monthly-${p} per team {
    limit $500 per month
    tokens 20M per day
    on-exceed downgrade m-0
  }

  rate-limit per team {
    600 requests per minute
    200k tokens per minute
    on-exceed wait 30s
  }

  guard secrets-${p} before all {
    block /BEGIN [A-Z ]*PRIVATE KEY/ "private keys must not be sent to a model"
    max-input 32k
  }

  require private when classification >= confidential

`;
  for (let r = 0; r < routes; r++) out += route(p, r, models);
  out += `
  otherwise reject "no route serves this capability"

  audit {
    prompts hashed
    retain 400 days
  }
}
`;
  for (let r = 0; r < Math.min(routes, 10); r++) {
    out += `
test "team-${r} chats on its route" for p-${p} {
  request { capability "chat" team "team-${r}" }
  given m-${(p * 7 + r) % models} fails 503
  expect route r-${r}
}
`;
  }
  return out;
}

/** ~10k lines: `models` models over 10 providers in catalog files, `policies` policies sharing `routes` routes. */
export function generateWorkspace(
  dir: string,
  opts = { models: 100, policies: 50, routesPerPolicy: 10 },
): { lines: number; files: number } {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const providers = 10;
  let lines = 0;
  let files = 0;
  const write = (name: string, text: string): void => {
    fs.writeFileSync(path.join(dir, name), text);
    lines += text.split('\n').length;
    files++;
  };
  write('providers.policy', Array.from({ length: providers }, (_, i) => provider(i)).join('\n'));
  const perCatalog = 25;
  const catalogs: string[] = [];
  for (let c = 0; c * perCatalog < opts.models; c++) {
    const name = `catalog-${c}.policy`;
    catalogs.push(name);
    let text = 'import "providers.policy"\n\n';
    for (let i = c * perCatalog; i < Math.min(opts.models, (c + 1) * perCatalog); i++)
      text += model(i, providers) + '\n';
    write(name, text);
  }
  for (let p = 0; p < opts.policies; p++) {
    const imports = catalogs.map((c) => `import "${c}"`).join('\n');
    write(`policy-${p}.policy`, `${imports}\n\n${policy(p, opts.routesPerPolicy, opts.models)}`);
  }
  return { lines, files };
}

/** One file of about `targetLines` lines: providers, models and one policy with many routes. */
export function generateSingleFile(file: string, targetLines = 50_000): number {
  const providers = 10;
  const models = 200;
  let text = '';
  for (let i = 0; i < providers; i++) text += provider(i) + '\n';
  for (let i = 0; i < models; i++) text += model(i, providers) + '\n';
  const used = text.split('\n').length;
  const routes = Math.max(1, Math.floor((targetLines - used - 100) / 8));
  text += policy(0, routes, models);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return text.split('\n').length;
}
