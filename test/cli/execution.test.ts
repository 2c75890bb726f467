/**
 * `explain` and `test` show each route's execution mode and, for streaming, what holds an answer
 * back (docs/language.md §4.9, §6.4). Runs the commands in-process on the
 * examples, as `switchyard explain|test` prints them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../cli/commands/explain.js';
import { test as runTests } from '../../cli/commands/test.js';

const root = path.resolve(import.meta.dirname, '../..');
const support = path.join(root, 'examples/support.policy');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-execution-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function requestFile(fields: Record<string, unknown>): string {
  const file = path.join(tmp, `${Object.values(fields).join('-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ policy: 'support', messages: [{ role: 'user', content: 'hello' }], ...fields }),
  );
  return file;
}

describe('switchyard explain', () => {
  it("shows a direct route's mode and the escalation rule that buffers the primary", async () => {
    const file = requestFile({ capability: 'chat', mode: 'interactive', team: 'support' });
    const { stdout, exitCode } = await explain([support, '--request', file]);
    expect(exitCode).toBe(0);
    const lines = stdout!.split('\n');
    expect(lines).toContain(
      'execution  direct (the HTTP front door runs it in its own process; the client and switchyard run stay durable)',
    );
    expect(lines).toContain(
      'stream     1. llama-8b: buffered until escalate gpt-4o when output.truncated or output.empty passes',
    );
    expect(lines).toContain('           2. gpt-4o: streamed as produced');
  });

  it('shows a durable route and the after guard that buffers every candidate it checks', async () => {
    const file = requestFile({ capability: 'classify' });
    const { stdout } = await explain([support, '--request', file]);
    const lines = stdout!.split('\n');
    expect(lines).toContain('execution  durable (one workflow per request)');
    expect(lines).toContain('stream     1. llama-8b: buffered until guard ticket-shape passes');
    expect(lines).toContain('           2. gpt-4o: buffered until guard ticket-shape passes');
  });

  it('prints no mode and no stream rows when no route matches', async () => {
    const { stdout } = await explain([support, '--request', requestFile({ capability: 'poetry' })]);
    expect(stdout).not.toMatch(/^execution|^stream/m);
    expect(stdout).toMatch(/^decision\s+rejected: no route serves this capability/m);
  });

  it('gives the mode and the buffering in --format json', async () => {
    const file = requestFile({ capability: 'chat', mode: 'interactive' });
    const { stdout } = await explain([support, '--request', file, '--format', 'json']);
    const json = JSON.parse(stdout!) as {
      decision: { execution: string };
      streaming: { model: string; role: string; bufferedBy: string | null }[];
    };
    expect(json.decision.execution).toBe('direct');
    expect(json.streaming.slice(0, 2)).toEqual([
      {
        model: 'llama-8b',
        role: 'primary',
        bufferedBy: 'escalate gpt-4o when output.truncated or output.empty',
      },
      { model: 'gpt-4o', role: 'fallback', bufferedBy: null },
    ]);
  });
});

describe('switchyard test', () => {
  it("prints each served test's route with its mode", async () => {
    const { stdout, exitCode } = await runTests([support]);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(
      '  ok   chat stays on the local pool  (route interactive [direct] → llama-8b, 1 attempt)',
    );
    expect(stdout).toContain(
      '  ok   confidential reasoning stays private  (route reasoning [durable] → llama-8b, 1 attempt)',
    );
  });
});
