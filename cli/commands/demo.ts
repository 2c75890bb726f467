import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchyardClient } from '../../client/index.js';
import { openStore, storeUrl } from '../../store/index.js';
import type { InferenceRequest } from '../../plan/types.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';

export const demoUsage = `usage: switchyard demo [--policies DIR] [--port 7233] [--http-port N]

The main job on the embedded default, in one command: starts the dev stack ('switchyard dev':
a Temporal dev server with its state under .switchyard/, the store, a worker and the
OpenAI-compatible front door) with the quick-start policy, whose routes run a GGUF model inside the
worker, makes a key, sends a few requests through the front door as any OpenAI SDK would, prints
each answer with its decision, and stops everything. --http-port: the front door's port (default:
a free one).
Default policies: examples/quickstart (run 'bash scripts/fetch-model.sh' first for its model).`;

const REQUESTS: InferenceRequest[] = [
  {
    id: '',
    policy: 'quickstart',
    capability: 'chat',
    team: 'demo',
    user: 'ana',
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: 'What is the capital of France? My email is ana@example.com.' },
    ],
    temperature: 0,
  },
  {
    id: '',
    policy: 'quickstart',
    capability: 'summarize',
    team: 'demo',
    user: 'ana',
    messages: [
      {
        role: 'user',
        content:
          'Summarise in one sentence: the team moved the build to a new server, tests now run in four minutes instead of twenty, and nobody has to wait for the nightly job any more.',
      },
    ],
    temperature: 0,
  },
  {
    id: '',
    policy: 'quickstart',
    capability: 'translate',
    team: 'demo',
    user: 'ana',
    messages: [{ role: 'user', content: 'Bonjour !' }],
  },
];

/** A key for the demo's requests, in the dev stack's store (only its hash is kept there). */
async function demoKey(): Promise<string> {
  const store = await openStore(storeUrl());
  try {
    return (await store.createKey({ team: 'demo', policy: 'quickstart' })).key;
  } finally {
    await store.close();
  }
}

function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

const FRONT_DOOR = /front door \(OpenAI-compatible\): (http:\/\/\S+)/;

/** Starts `switchyard dev` as a child and resolves once it prints its front door's URL. */
function startDev(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  // The same command this demo runs as (the installed bin, or the source through tsx in tests), so
  // the dev stack is the same code.
  const entry = process.argv[1] ?? path.join(repoRoot(), 'bin', 'switchyard.js');
  const child = spawn(process.execPath, [...process.execArgv, entry, 'dev', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError('E-DEMO-START', `the dev stack did not start in 120 s:\n${output}`)),
      120_000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (FRONT_DOOR.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        new CliError(
          'E-DEMO-START',
          `switchyard dev exited (${code}) before it was ready:\n${output.trim()}`,
        ),
      );
    });
  });
}

function describe(result: Awaited<ReturnType<SwitchyardClient['infer']>>, ms: number): string {
  const decision = result.decision;
  const lines: string[] = [];
  if (result.status === 'served') {
    const answer = (result.output?.content ?? '').trim().replace(/\s+/g, ' ');
    lines.push(`  answer    ${answer.length > 300 ? `${answer.slice(0, 300)}…` : answer}`);
    lines.push(
      `  served    by ${result.model} on ${result.provider} via route ${result.route} (${decision.matched ?? 'otherwise'}); ` +
        `${result.usage.inputTokens} in / ${result.usage.outputTokens} out tokens, $${result.cost}, ${result.attempts.length} attempt(s), ${ms} ms`,
    );
  } else {
    lines.push(`  ${result.status.padEnd(9)} ${result.reason ?? ''}`);
  }
  for (const guard of decision.guards) {
    if (guard.action === 'redact')
      lines.push(
        `  guard     ${guard.guard}: redacts ${guard.kinds?.join(', ')} before ${guard.models.join(', ')}`,
      );
  }
  lines.push(`  plan      ${result.plan}`);
  return lines.join('\n');
}

export async function demo(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { policies: { type: 'string' }, port: { type: 'string' }, 'http-port': { type: 'string' } },
    demoUsage,
  );
  if (values.help) return { stdout: demoUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${demoUsage}` };
  const policies = path.resolve(
    (values.policies as string | undefined) ?? path.join(repoRoot(), 'examples', 'quickstart'),
  );
  if (!fs.existsSync(policies)) throw new CliError('E-DEMO-POLICIES', `no such folder: ${policies}`);
  const port = String(values.port ?? '7233');

  process.stdout.write(
    `switchyard demo: starting the dev stack with ${path.relative(process.cwd(), policies) || '.'} …\n`,
  );
  const httpPort = String(values['http-port'] ?? '0');
  const { child, output } = await startDev(['--policies', policies, '--port', port, '--http-port', httpPort]);
  const baseUrl = FRONT_DOOR.exec(output())![1]!;
  let client: SwitchyardClient | undefined;
  let failures = 0;
  try {
    client = await SwitchyardClient.connect({ address: `127.0.0.1:${port}` });
    const key = await demoKey();
    process.stdout.write(`switchyard demo: the front door is ${baseUrl}; a key for team demo was made\n`);
    const run = Date.now().toString(36);
    for (const [index, template] of REQUESTS.entries()) {
      const idempotencyKey = `demo-${run}-${index + 1}`;
      const question = template.messages.at(-1)!.content;
      process.stdout.write(`\nPOST ${baseUrl}/chat/completions  ${template.capability}: ${question}\n`);
      const started = Date.now();
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify({
          model: `${template.policy}/${template.capability}`,
          messages: template.messages,
          user: template.user,
          ...(template.temperature !== undefined ? { temperature: template.temperature } : {}),
        }),
      });
      const text = await response.text();
      const id = response.headers.get('x-switchyard-request-id');
      if (id === null)
        throw new CliError(
          'E-DEMO-HTTP',
          `the front door answered HTTP ${response.status} without a request id`,
        );
      process.stdout.write(`  HTTP ${response.status}, x-switchyard-request-id ${id}\n`);
      if (response.headers.get('x-switchyard-execution') === 'direct') {
        // No workflow to ask: what the caller got is all there is to show.
        if (response.status >= 500) failures++;
        process.stdout.write(`  ${text.length > 300 ? `${text.slice(0, 300)}…` : text}\n`);
        continue;
      }
      // The decision in full comes from the request's workflow.
      const result = await client.handle(id).result();
      if (result.status === 'failed') failures++;
      process.stdout.write(`${describe(result, Date.now() - started)}\n`);
    }
  } finally {
    await client?.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return {
    stdout: `\nswitchyard demo: done; the dev stack is stopped (its state stays in .switchyard/).`,
    exitCode: failures > 0 ? 1 : 0,
  };
}
