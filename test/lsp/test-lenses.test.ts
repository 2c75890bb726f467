/**
 * The editor's test runs over stdio (docs/editor.md, "Tests and coverage", "Traffic on a route"):
 * the real language server (`bin/switchyard-lsp.js --stdio`, from dist/) with a policy whose
 * tests leave known items uncovered and one test failing. Code lenses on each test ("▶ Run", then
 * its result), the server's commands that run one test or the file's, failed expectations as
 * diagnostics on the `expect` line (gone once the test passes), coverage hints (severity Hint,
 * tag Unnecessary) on exactly the items `switchyard test --coverage` names, tests run on save, and
 * a route's hover with its share of the last day's traffic from a real SQLite store.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { URI } from 'langium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CodeLens,
  CodeLensRequest,
  type Diagnostic,
  DidSaveTextDocumentNotification,
  ExecuteCommandRequest,
  type Hover,
  HoverRequest,
} from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { RunFileTestsCommand, RunTestCommand, type TestRunResult } from '../../language-server/protocol.js';
import { openStore } from '../../store/index.js';
import { LspClient } from './lsp-client.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(root, 'bin', 'switchyard-lsp.js');
const tmp = path.join(root, 'test', '.tmp', 'lsp-test-lenses');
const uriOf = (file: string): string => URI.file(file).toString();
const triageFile = path.join(tmp, 'triage.policy');
const triageUri = uriOf(triageFile);

const triageText = `import "catalog.policy"

policy triage {
  route chat when capability == "chat" and mode == interactive {
    use llama-8b
    fallback gpt-4o
  }

  route batch when mode == batch {
    use gpt-4o
  }

  otherwise reject "no route for this request"
}

test "chat goes to the pool" for triage {
  request { capability "chat" mode interactive }
  expect route chat model llama-8b
}

test "batch goes to the pool too" for triage {
  request { capability "chat" mode batch }
  expect route chat
}
`;

const at = (text: string, needle: string) => {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`'${needle}' not in text`);
  return TextDocument.create('x', 'x', 0, text).positionAt(index);
};

let client: LspClient;
let refreshes = 0;

const lenses = async (): Promise<{ line: number; title: string; command: string; args: unknown[] }[]> => {
  const found = (await client.connection.sendRequest(CodeLensRequest.type, {
    textDocument: { uri: triageUri },
  })) as CodeLens[];
  return found.map((lens) => ({
    line: lens.range.start.line + 1,
    title: lens.command?.title ?? '',
    command: lens.command?.command ?? '',
    args: lens.command?.arguments ?? [],
  }));
};

const run = (command: string, ...args: unknown[]): Promise<TestRunResult> =>
  client.connection.sendRequest(ExecuteCommandRequest.type, {
    command,
    arguments: args,
  }) as Promise<TestRunResult>;

const fromTests = (d: Diagnostic[]) => d.filter((x) => x.source === 'switchyard test');
const shown = (d: Diagnostic[]) =>
  fromTests(d).map(
    (x) => `${x.range.start.line + 1}:${x.range.start.character + 1} ${x.severity} ${x.message}`,
  );

const hoverText = async (needle: string): Promise<string> => {
  const hover = (await client.connection.sendRequest(HoverRequest.type, {
    textDocument: { uri: triageUri },
    position: at(triageText, needle),
  })) as Hover | null;
  return typeof hover?.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
};

beforeAll(async () => {
  if (!fs.existsSync(path.join(root, 'dist', 'language-server', 'server.js'))) {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        stdio: 'ignore',
      },
    );
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  fs.copyFileSync(path.join(root, 'examples', 'catalog.policy'), path.join(tmp, 'catalog.policy'));
  fs.writeFileSync(triageFile, triageText);
  const env = { ...process.env };
  delete env.SWITCHYARD_STORE;
  client = new LspClient({ command: [process.execPath, bin, '--stdio'], root: tmp, env });
  client.connection.onRequest('workspace/codeLens/refresh', () => {
    refreshes++;
    return null;
  });
  await client.initialize({ workspace: { codeLens: { refreshSupport: true } } });
  await client.open(triageUri, triageText);
  await client.diagnosticsFor(triageUri);
}, 120_000);

afterAll(async () => {
  await client?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('test lenses, results and coverage in the editor', () => {
  it('offers the lenses and the commands', async () => {
    const capabilities = client.initializeResult!.capabilities;
    expect(capabilities.codeLensProvider).toBeTruthy();
    expect(capabilities.executeCommandProvider?.commands).toEqual(
      expect.arrayContaining([RunTestCommand, RunFileTestsCommand]),
    );
    expect(capabilities.textDocumentSync).toMatchObject({ save: true });
    expect(await lenses()).toEqual([
      { line: 3, title: "▶ Run the file's tests", command: RunFileTestsCommand, args: [triageUri] },
      { line: 16, title: '▶ Run', command: RunTestCommand, args: [triageUri, 'chat goes to the pool'] },
      { line: 21, title: '▶ Run', command: RunTestCommand, args: [triageUri, 'batch goes to the pool too'] },
    ]);
  });

  it('runs one test from its lens: the result in the lens, a failure on its expect line', async () => {
    const before = refreshes;
    const result = await run(RunTestCommand, triageUri, 'batch goes to the pool too');
    expect(result.errors).toEqual([]);
    expect(result.results.map((r) => [r.name, r.passed, r.failures])).toEqual([
      ['batch goes to the pool too', false, ['expected route chat, got batch']],
    ]);
    expect(result.coverage).toBeUndefined();
    const diagnostics = await client.diagnosticsFor(triageUri, (d) => fromTests(d).length > 0);
    expect(shown(diagnostics)).toEqual([
      '23:3 1 test "batch goes to the pool too" failed: expected route chat, got batch (route batch → gpt-4o, 1 attempt, $0.00017)',
    ]);
    expect(refreshes).toBeGreaterThan(before);
    const titles = (await lenses()).map((l) => `${l.line} ${l.title}`);
    expect(titles).toEqual([
      "3 ▶ Run the file's tests",
      '16 ▶ Run',
      '21 ▶ Run',
      '21 ✗ failed: expected route chat, got batch',
    ]);
  });

  it("runs the file's tests: every result, and coverage hints on exactly the uncovered items", async () => {
    const result = await run(RunFileTestsCommand, triageUri);
    expect(result.results.map((r) => [r.name, r.passed])).toEqual([
      ['chat goes to the pool', true],
      ['batch goes to the pool too', false],
    ]);
    expect(result.coverage).toEqual([
      {
        policy: 'triage',
        uri: triageUri,
        items: 14,
        covered: 10,
        percent: 71.4,
        uncovered: [
          '4:19: route chat when: `capability == "chat"` false',
          '6:5: route chat: fallback gpt-4o ran',
          '9:20: route batch when: `mode == batch` false',
          '13:3: otherwise reject ran',
        ],
      },
    ]);
    const diagnostics = await client.diagnosticsFor(triageUri, (d) => fromTests(d).length === 5);
    const hints = fromTests(diagnostics).filter((d) => d.severity === 4);
    expect(hints.every((d) => d.tags?.includes(1) && d.code === 'not-covered')).toBe(true);
    // Each hint covers its item's text: the operand, the fallback line, the otherwise.
    const text = TextDocument.create(triageUri, 'x', 0, triageText);
    expect(hints.map((d) => [d.range.start.line + 1, text.getText(d.range), d.message])).toEqual([
      [
        4,
        'capability == "chat"',
        'not covered by the tests of triage.policy: route chat when: `capability == "chat"` false',
      ],
      [6, 'fallback gpt-4o', 'not covered by the tests of triage.policy: route chat: fallback gpt-4o ran'],
      [
        9,
        'mode == batch',
        'not covered by the tests of triage.policy: route batch when: `mode == batch` false',
      ],
      [
        13,
        'otherwise reject "no route for this request"',
        'not covered by the tests of triage.policy: otherwise reject ran',
      ],
    ]);
    expect((await lenses()).map((l) => `${l.line} ${l.title}`)).toEqual([
      "3 ▶ Run the file's tests",
      '3 coverage 10 of 14 (71.4%), 4 not covered (dimmed)',
      '16 ▶ Run',
      '16 ✓ passed: route chat → llama-8b, 1 attempt, $0.0000036',
      '21 ▶ Run',
      '21 ✗ failed: expected route chat, got batch',
    ]);
  });

  it('drops the results when the text changes, and clears the failure once the test passes', async () => {
    const fixed = triageText.replace('  expect route chat\n}', '  expect route batch\n}');
    await client.change(triageUri, 2, fixed);
    const diagnostics = await client.nextDiagnostics(triageUri);
    expect(shown(diagnostics)).toEqual([]);
    expect((await lenses()).map((l) => `${l.line} ${l.title}`)).toEqual([
      "3 ▶ Run the file's tests",
      '16 ▶ Run',
      '21 ▶ Run',
    ]);
    const result = await run(RunTestCommand, triageUri, 'batch goes to the pool too');
    expect(result.results.map((r) => [r.name, r.passed])).toEqual([['batch goes to the pool too', true]]);
    expect(shown(await client.diagnosticsFor(triageUri))).toEqual([]);
    expect((await lenses()).map((l) => `${l.line} ${l.title}`)).toContain(
      '21 ✓ passed: route batch → gpt-4o, 1 attempt, $0.00017',
    );
  });

  it('saving the file runs its tests and shows the coverage', async () => {
    await client.connection.sendNotification(DidSaveTextDocumentNotification.type, {
      textDocument: { uri: triageUri },
    });
    const diagnostics = await client.nextDiagnostics(triageUri, (d) => fromTests(d).length > 0);
    // Both tests pass now; the batch test covers `capability == "chat"` … only the same three
    // of the chat route's and the policy's items stay uncovered.
    expect(shown(diagnostics).map((line) => line.split(': ')[0])).toEqual([
      '4:19 4 not covered by the tests of triage.policy',
      '6:5 4 not covered by the tests of triage.policy',
      '9:20 4 not covered by the tests of triage.policy',
      '13:3 4 not covered by the tests of triage.policy',
    ]);
  });

  it("shows a route's share of the last day's traffic once a store is named", async () => {
    expect(await hoverText('batch when')).not.toContain('recent traffic');
    const store = await openStore(`sqlite:${path.join(tmp, 'state.db')}`);
    const now = Date.now();
    const record = (id: string, route: string | null, ageMs: number, withRouting = true) =>
      store.appendAudit(
        {
          id,
          time: new Date(now - ageMs).toISOString(),
          caller: { team: 'support', app: null, user: null },
          capability: 'chat',
          classification: null,
          mode: route === 'batch' ? 'batch' : 'interactive',
          policy: 'triage',
          plan: 'sha256:0',
          route,
          model: route === null ? null : 'gpt-4o',
          provider: null,
          status: route === null ? 'rejected' : 'served',
          reason: null,
          attempts: [],
          usage: { inputTokens: 10, outputTokens: 5 },
          costNanos: 0,
          cost: '0',
          guards: [],
          budgets: [],
          rateLimits: [],
          prompts: { mode: 'none', messages: [], answer: null },
          ...(withRouting
            ? {
                routing: {
                  capability: 'chat',
                  mode: route === 'batch' ? 'batch' : 'interactive',
                  classification: null,
                  team: 'support',
                  app: null,
                  user: null,
                  region: null,
                  tags: {},
                  inputTokens: 10,
                  maxTokens: null,
                  latency: null,
                },
              }
            : {}),
        },
        now - ageMs,
      );
    await record('r1', 'batch', 60_000);
    await record('r2', 'batch', 3_600_000);
    await record('r3', 'chat', 7_200_000);
    await record('r4', null, 60_000);
    await record('r5', 'batch', 2 * 86_400_000); // older than a day
    await record('r6', 'batch', 60_000, false); // written before routing facts were kept
    await store.close();
    fs.writeFileSync(path.join(tmp, 'switchyard.yaml'), 'store: sqlite:state.db\n');
    expect(await hoverText('batch when')).toContain(
      '**recent traffic**: 2 of 4 requests of policy triage in the last 24 h (50%)',
    );
    expect(await hoverText('chat when')).toContain(
      '**recent traffic**: 1 of 4 requests of policy triage in the last 24 h (25%)',
    );
    // The cost lines stay.
    expect(await hoverText('chat when')).toContain('Worst-case cost per request');
  });
});
