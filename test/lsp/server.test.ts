/**
 * The real language server binary (`bin/switchyard-lsp.js --stdio`, run from `dist/`) driven over
 * stdio by a JSON-RPC client: initialize, open documents across files, diagnostics, completion,
 * hover with the dollar cost, definition into another file, formatting, a quick fix, and the
 * server's own requests (diagram, compile, tests, explain).
 */
import { execFileSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { URI } from 'langium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CodeAction,
  CompletionList,
  Hover,
  LocationLink,
  Location,
  TextEdit,
} from 'vscode-languageserver-protocol';
import {
  createProtocolConnection,
  ExitNotification,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  ShutdownRequest,
} from 'vscode-languageserver-protocol/node.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type {
  CompileResult,
  DiagramResult,
  ExplainTestResult,
  RunTestsResult,
} from '../../language-server/protocol.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { LspClient, sameUri } from './lsp-client.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(root, 'bin', 'switchyard-lsp.js');
const tmp = path.join(root, 'test', '.tmp', 'lsp-server');
const workspace = path.join(tmp, 'workspace');
const outside = path.join(tmp, 'outside');

const uriOf = (file: string): string => URI.file(file).toString();
const catalogUri = uriOf(path.join(workspace, 'catalog.policy'));
const supportUri = uriOf(path.join(workspace, 'support.policy'));
const supportText = fs.readFileSync(path.join(root, 'examples', 'support.policy'), 'utf8');
const catalogText = fs.readFileSync(path.join(root, 'examples', 'catalog.policy'), 'utf8');

function position(text: string, needle: string, delta = 0): { line: number; character: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`'${needle}' not in text`);
  return TextDocument.create('x', 'x', 0, text).positionAt(index + delta);
}

let client: LspClient;

beforeAll(async () => {
  // The bin runs the compiled server (npm run build); build it when a fresh clone has not.
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
  fs.mkdirSync(path.join(workspace, 'schemas'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(workspace, 'catalog.policy'), catalogText);
  fs.writeFileSync(path.join(workspace, 'support.policy'), supportText);
  fs.copyFileSync(
    path.join(root, 'examples', 'schemas', 'ticket.json'),
    path.join(workspace, 'schemas', 'ticket.json'),
  );
  client = new LspClient({ command: [process.execPath, bin, '--stdio'], root: workspace });
  await client.initialize();
}, 120_000);

afterAll(async () => {
  await client?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('switchyard-lsp over stdio', () => {
  it('initializes with the editor features', () => {
    const capabilities = client.initializeResult!.capabilities;
    for (const feature of [
      'completionProvider',
      'hoverProvider',
      'definitionProvider',
      'referencesProvider',
      'renameProvider',
      'documentSymbolProvider',
      'semanticTokensProvider',
      'foldingRangeProvider',
      'documentFormattingProvider',
      'codeActionProvider',
    ] as const) {
      expect(capabilities[feature], feature).toBeTruthy();
    }
  });

  it('publishes diagnostics for documents that import each other', async () => {
    await client.open(catalogUri, catalogText);
    await client.open(supportUri, supportText);
    const diagnostics = await client.diagnosticsFor(supportUri, (d) => d.length > 0);
    expect(diagnostics.map((d) => d.code).sort()).toEqual([
      IssueCodes.DeadlineTooShort,
      IssueCodes.MissingCapability,
    ]);
    expect(await client.diagnosticsFor(catalogUri)).toEqual([]);
  });

  it('updates an importing file when the imported one changes', async () => {
    const renamed = catalogText.replace('model gpt-4o {', 'model gpt-5 {');
    const next = client.nextDiagnostics(supportUri, (d) =>
      d.some((x) => x.code === IssueCodes.UnknownReference),
    );
    await client.change(catalogUri, 2, renamed);
    const diagnostics = await next;
    const unknown = diagnostics.filter((d) => d.code === IssueCodes.UnknownReference);
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown[0]!.message).toMatch(/unknown model 'gpt-4o'; did you mean 'gpt-5'\?/);
    const back = client.nextDiagnostics(
      supportUri,
      (d) => !d.some((x) => x.code === IssueCodes.UnknownReference),
    );
    await client.change(catalogUri, 3, catalogText);
    await back;
  });

  it('completes the models a route can use', async () => {
    const list = await client.connection.sendRequest<CompletionList>('textDocument/completion', {
      textDocument: { uri: supportUri },
      position: position(supportText, 'use gpt-4o timeout 60s', 4),
    });
    expect(list.items.map((i) => i.label)).toEqual(expect.arrayContaining(['llama-8b', 'gpt-4o']));
  });

  it('shows the worst-case cost of a route in dollars on hover', async () => {
    const hover = await client.connection.sendRequest<Hover>('textDocument/hover', {
      textDocument: { uri: supportUri },
      position: position(supportText, 'route interactive', 7),
    });
    const text = (hover.contents as { value: string }).value;
    expect(text).toContain('Worst-case cost per request: **$1.3056**');
    expect(text).toMatch(/Worst-case latency: \*\*75\.6s\*\*.*exceeds its deadline of 8s/);
  });

  it('goes to the definition of a model in the imported file', async () => {
    const result = await client.connection.sendRequest<(LocationLink | Location)[]>(
      'textDocument/definition',
      {
        textDocument: { uri: supportUri },
        position: position(supportText, 'use llama-8b max-tokens', 5),
      },
    );
    expect(result).toHaveLength(1);
    const link = result[0] as LocationLink;
    expect(sameUri(link.targetUri, catalogUri)).toBe(true);
    expect(link.targetSelectionRange.start.line).toBe(position(catalogText, 'model llama-8b').line);
  });

  it('formats a document', async () => {
    const uri = uriOf(path.join(workspace, 'messy.policy'));
    const messy =
      'import "catalog.policy"\npolicy   messy{\nroute r when capability=="chat"{ use llama-8b\n}\n  otherwise reject}\n';
    await client.open(uri, messy);
    const edits = await client.connection.sendRequest<TextEdit[]>('textDocument/formatting', {
      textDocument: { uri },
      options: { tabSize: 4, insertSpaces: true },
    });
    const formatted = TextDocument.applyEdits(TextDocument.create(uri, 'switchyard-policy', 1, messy), edits);
    expect(formatted).toBe(
      'import "catalog.policy"\npolicy messy {\n  route r when capability == "chat" {\n    use llama-8b\n  }\n  otherwise reject\n}\n',
    );
  });

  it('offers a quick fix for a deadline shorter than the worst case', async () => {
    const diagnostics = await client.diagnosticsFor(supportUri, (d) =>
      d.some((x) => x.code === IssueCodes.DeadlineTooShort),
    );
    const deadline = diagnostics.find((d) => d.code === IssueCodes.DeadlineTooShort)!;
    const actions = await client.connection.sendRequest<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: supportUri },
      range: deadline.range,
      context: { diagnostics: [deadline] },
    });
    expect(actions).toHaveLength(1);
    expect(actions[0]!.title).toBe("Raise the deadline to 76s (the chain's worst case)");
    const edit = actions[0]!.edit!.changes![supportUri]!;
    const fixed = TextDocument.applyEdits(
      TextDocument.create(supportUri, 'switchyard-policy', 1, supportText),
      edit,
    );
    expect(fixed).toContain('deadline 76s');
  });

  it('loads what a file outside the workspace folder imports', async () => {
    // Its own names: providers, models and policies share one namespace across the workspace.
    const lib =
      'provider edge {\n  kind ollama\n  endpoints "http://localhost:11434"\n  private\n}\n\nmodel edge-1b {\n  provider edge\n}\n';
    fs.writeFileSync(path.join(outside, 'lib.policy'), lib);
    const text = 'import "lib.policy"\n\npolicy outside {\n  route r when true {\n    use edge-1b\n  }\n}\n';
    fs.writeFileSync(path.join(outside, 'main.policy'), text);
    const uri = uriOf(path.join(outside, 'main.policy'));
    await client.open(uri, text);
    const diagnostics = await client.diagnosticsFor(uri);
    expect(diagnostics.filter((d) => d.severity === 1)).toEqual([]);
  });

  it('draws the diagram, compiles, runs the tests and explains a test', async () => {
    const diagram = await client.connection.sendRequest<DiagramResult>('switchyard/diagram', {
      uri: supportUri,
    });
    expect(diagram.svg).toContain('<svg');
    expect(diagram.nodes.map((n) => n.id)).toEqual(
      expect.arrayContaining([
        'route:support/interactive',
        'model:gpt-4o',
        'provider:gpu-east',
        'budget:support/team-monthly',
      ]),
    );
    const model = diagram.nodes.find((n) => n.id === 'model:llama-8b')!;
    expect(sameUri(model.uri!, catalogUri)).toBe(true);

    const compiled = await client.connection.sendRequest<CompileResult>('switchyard/compile', {
      uri: supportUri,
    });
    expect(compiled.errors).toEqual([]);
    expect(compiled.plans.map((p) => p.name)).toEqual(['support']);
    expect(JSON.parse(compiled.plans[0]!.json).hash).toBe(compiled.plans[0]!.hash);

    const tests = await client.connection.sendRequest<RunTestsResult>('switchyard/runTests', {
      uri: supportUri,
    });
    expect(tests.results.map((t) => [t.name, t.passed])).toEqual([
      ['chat stays on the local pool', true],
      ['falls back when the pool is down', true],
      ['confidential reasoning stays private', true],
      ['spent budget downgrades', true],
      ['unknown capability is refused', true],
      ['tickets are classified on the local pool', true],
      ['a ticket that fails its schema escalates', true],
      ['a cut-off chat answer escalates', true],
      ['reasoning goes to gpt-4o', true],
      ['most batch jobs stay on the local pool', true],
      ['some batch jobs go to gpt-4o', true],
      ['oversized prompts are refused', true],
      ["an answer longer than the team's token rate is refused", true],
    ]);

    const explained = await client.connection.sendRequest<ExplainTestResult>('switchyard/explainTest', {
      uri: supportUri,
      position: position(supportText, 'given llama-8b fails 503'),
    });
    expect(explained.name).toBe('falls back when the pool is down');
    expect(explained.text).toMatch(/route\s+interactive/);
    expect(explained.text).toMatch(/expect\s+passed/);
  });

  it('also speaks over Node IPC, as VS Code starts it', async () => {
    const child = fork(bin, ['--node-ipc'], { silent: true });
    const connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.listen();
    try {
      const result = await connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: URI.file(workspace).toString(),
        capabilities: {},
      });
      expect(result.capabilities.hoverProvider).toBeTruthy();
      await connection.sendRequest(ShutdownRequest.type);
      await connection.sendNotification(ExitNotification.type);
    } finally {
      connection.dispose();
      if (child.exitCode === null) child.kill();
    }
  });
});
