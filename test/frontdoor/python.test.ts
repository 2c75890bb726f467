/**
 * The official Python `openai` package (in the project's .venv) against the front door, in both
 * execution modes: a JSON answer, a streamed answer with usage, and a 404 raised as NotFoundError.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { PROJECT_ROOT } from '../support/temporal.js';
import { startRig, type Rig } from './fixtures.js';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const SCRIPT = path.join(PROJECT_ROOT, 'test', 'frontdoor', 'python_client.py');

let server: ProviderServer;
const rigs: Partial<Record<'direct' | 'durable', Rig>> = {};

beforeAll(async () => {
  if (!fs.existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run the README's setup (bash scripts/install-python-tools.sh)`);
  }
  server = await startProviderServer();
  rigs.direct = await startRig('direct', { server });
  rigs.durable = await startRig('durable', { server });
});

afterAll(async () => {
  await rigs.direct?.close();
  await rigs.durable?.close();
  await server?.close();
});

interface PythonSaw {
  json: {
    model: string;
    content: string;
    finish_reason: string;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    request_id: string;
    execution: string;
  };
  stream: { content: string; pieces: number; usage: PythonSaw['json']['usage'] };
  error: { class: string; status: number; code: string; param: string } | null;
}

describe.each(['direct', 'durable'] as const)('the Python openai SDK, %s', (mode) => {
  it('gets a JSON answer, a stream with usage, and a NotFoundError', async () => {
    const rig = rigs[mode]!;
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, `${rig.url}/v1`, rig.key, `py-${mode}`], {
      timeout: 60_000,
    });
    const saw = JSON.parse(stdout) as PythonSaw;
    expect(saw.json.model).toBe('small');
    expect(saw.json.content.length).toBeGreaterThan(0);
    expect(saw.json.execution).toBe(mode);
    expect(saw.json.usage.total_tokens).toBe(saw.json.usage.prompt_tokens + saw.json.usage.completion_tokens);
    expect(saw.stream.content).toBe(saw.json.content);
    expect(saw.stream.usage).toEqual(saw.json.usage);
    expect(saw.stream.pieces).toBeGreaterThan(3);
    expect(saw.error).toEqual({
      class: 'NotFoundError',
      status: 404,
      code: 'model_not_found',
      param: 'model',
    });
  });
});
