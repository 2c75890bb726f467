import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchyardClient } from '../../client/index.js';
import type { InferenceRequest } from '../../plan/types.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';

export const demoUsage = `usage: switchyard demo [--policies DIR] [--port 7233]

The main job on the embedded default, in one command: starts the dev stack ('switchyard dev':
a Temporal dev server with its state under .switchyard/, the store and a worker) with the
quick-start policy, whose routes run a GGUF model inside the worker, sends a few requests through
the typed client, prints each answer with its decision, and stops everything.
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

function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Starts `switchyard dev` as a child and resolves once it prints its ready line. */
function startDev(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const bin = path.join(repoRoot(), 'bin', 'switchyard.js');
  const child = spawn(process.execPath, [bin, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError('E-DEMO-START', `the dev stack did not start in 120 s:\n${output}`)),
      120_000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (/ready on /.test(output)) {
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
    { policies: { type: 'string' }, port: { type: 'string' } },
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
  const { child } = await startDev(['--policies', policies, '--port', port]);
  let client: SwitchyardClient | undefined;
  let failures = 0;
  try {
    client = await SwitchyardClient.connect({ address: `127.0.0.1:${port}` });
    const run = Date.now().toString(36);
    for (const [index, template] of REQUESTS.entries()) {
      const request = { ...template, id: `demo-${run}-${index + 1}` };
      const question = request.messages.at(-1)!.content;
      process.stdout.write(`\n${request.id}  ${request.capability}: ${question}\n`);
      const started = Date.now();
      const result = await client.infer(request);
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
