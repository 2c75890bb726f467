import { CliError, UsageError } from './args.js';
import { SourceError } from '../dsl/workspace.js';
import { InvalidRequest } from '../client/validate-request.js';
import type { CommandResult } from './result.js';

type Command = (argv: string[]) => Promise<CommandResult>;

// Commands load lazily: `check` must not pay for Temporal's or llama.cpp's modules at start-up.
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  check: {
    load: async () => (await import('./commands/check.js')).check,
    summary: 'parse, link and validate policy files',
  },
  compile: {
    load: async () => (await import('./commands/compile.js')).compile,
    summary: 'write the plan JSON of a policy',
  },
  explain: {
    load: async () => (await import('./commands/explain.js')).explain,
    summary: 'the decision for one request, without calling any model',
  },
  test: {
    load: async () => (await import('./commands/test.js')).test,
    summary: "run the files' test blocks",
  },
  diff: {
    load: async () => (await import('./commands/diff.js')).diff,
    summary: 'what changed between two versions of the policies, and which requests it reroutes',
  },
  budget: {
    load: async () => (await import('./commands/budget.js')).budget,
    summary: 'budget usage, reservations, remaining and reset time per scope',
  },
  alerts: {
    load: async () => (await import('./commands/alerts.js')).alerts,
    summary: 'the budget alerts sent to webhooks: delivered, retrying or failed',
  },
  audit: {
    load: async () => (await import('./commands/audit.js')).audit,
    summary: 'verify, tail, query and prune the audit trail',
  },
  replay: {
    load: async () => (await import('./commands/replay.js')).replay,
    summary: 'the audit trail decided again under changed policies: what changes, what it costs',
  },
  keys: {
    load: async () => (await import('./commands/keys.js')).keys,
    summary: 'create, list, revoke and rotate API keys of the HTTP front door',
  },
  fmt: {
    load: async () => (await import('./commands/fmt.js')).fmt,
    summary: 'format policy files (--check: only report)',
  },
  graph: {
    load: async () => (await import('./commands/graph.js')).graph,
    summary: 'draw the policies as SVG, DOT or Mermaid',
  },
  demo: {
    load: async () => (await import('./commands/demo.js')).demo,
    summary: 'the main job: dev stack, quick-start policy, a few requests with their decisions',
  },
  dev: {
    load: async () => (await import('./commands/dev.js')).dev,
    summary: 'a local Temporal dev server and a worker, in one command',
  },
  worker: {
    load: async () => (await import('./commands/worker.js')).worker,
    summary: 'a worker for a Temporal cluster: runs requests and provider calls',
  },
  serve: {
    load: async () => (await import('./commands/serve.js')).serve,
    summary: 'the OpenAI-compatible HTTP front door',
  },
  run: {
    load: async () => (await import('./commands/run.js')).run,
    summary: 'send one request through Temporal and print its result',
  },
};

export const USAGE = `usage: switchyard <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(9)} ${summary}`)
  .join('\n')}

Run 'switchyard <command> --help' for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('switchyard 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`switchyard: unknown command '${name}'\n${USAGE}\n`);
    return 2;
  }
  try {
    const run = await command.load();
    const result = await run(rest);
    if (result.usage !== undefined) {
      process.stderr.write(`switchyard ${name}: ${result.usage}\n`);
      return 2;
    }
    if (result.stdout) process.stdout.write(`${result.stdout}\n`);
    if (result.stderr) process.stderr.write(`${result.stderr}\n`);
    return result.exitCode ?? 0;
  } catch (error) {
    return report(name, error);
  }
}

function report(name: string, error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`switchyard ${name}: ${error.message}\n`);
    return 2;
  }
  if (error instanceof SourceError || error instanceof CliError || error instanceof InvalidRequest) {
    process.stderr.write(`switchyard ${name}: error ${error.code} ${error.message}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`switchyard ${name}: internal error: ${message}\n`);
  if (process.env.SWITCHYARD_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  return 1;
}
