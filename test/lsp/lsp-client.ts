/**
 * A minimal LSP client over stdio, for the server tests and `bench/lsp.ts`: spawns a server
 * process, speaks JSON-RPC through vscode-languageserver-protocol, and collects the diagnostics it
 * publishes.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import {
  createProtocolConnection,
  type Diagnostic,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  type InitializeResult,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  type Range,
  type PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node.js';
import { URI } from 'langium';

/** Published URIs come back normalised by vscode-uri: compare parsed forms. */
export function sameUri(a: string, b: string): boolean {
  return URI.parse(a).toString() === URI.parse(b).toString();
}

export interface LspClientOptions {
  /** The server command and arguments, e.g. `[node, bin/switchyard-lsp.js, --stdio]`. */
  command: string[];
  /** The workspace folder, as a file path. */
  root: string;
  /** The server's environment; default: this process's. */
  env?: NodeJS.ProcessEnv;
}

export class LspClient {
  readonly connection: ProtocolConnection;
  private readonly process: ChildProcessWithoutNullStreams;
  private readonly waiters: {
    uri: string;
    test: (d: Diagnostic[]) => boolean;
    resolve: (d: Diagnostic[]) => void;
  }[] = [];
  /** The last diagnostics published for each URI (normalised). */
  readonly diagnostics = new Map<string, Diagnostic[]>();
  stderr = '';
  initializeResult: InitializeResult | undefined;

  constructor(private readonly options: LspClientOptions) {
    const [command, ...args] = options.command;
    this.process = spawn(command!, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    this.process.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.connection = createProtocolConnection(
      new StreamMessageReader(this.process.stdout),
      new StreamMessageWriter(this.process.stdin),
    );
    this.connection.onNotification(
      PublishDiagnosticsNotification.type,
      (params: PublishDiagnosticsParams) => {
        const uri = URI.parse(params.uri).toString();
        this.diagnostics.set(uri, params.diagnostics);
        for (const waiter of [...this.waiters]) {
          if (sameUri(waiter.uri, uri) && waiter.test(params.diagnostics)) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(params.diagnostics);
          }
        }
      },
    );
    // The server asks for configuration and registers capabilities: answer like a plain client.
    this.connection.onRequest('workspace/configuration', (params: { items: unknown[] }) =>
      params.items.map(() => null),
    );
    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.onRequest('window/workDoneProgress/create', () => null);
    this.connection.listen();
  }

  /** `workspace` capabilities are added to the plain client's (e.g. `codeLens.refreshSupport`). */
  async initialize(workspace: Record<string, unknown> = {}): Promise<InitializeResult> {
    const rootUri = URI.file(this.options.root).toString();
    this.initializeResult = await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: 'workspace' }],
      capabilities: {
        workspace: {
          configuration: true,
          didChangeWatchedFiles: { dynamicRegistration: true },
          ...workspace,
        },
        textDocument: {
          publishDiagnostics: { relatedInformation: true },
          completion: { completionItem: { snippetSupport: true } },
          hover: { contentFormat: ['markdown', 'plaintext'] },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
        },
      },
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
    return this.initializeResult;
  }

  /** Resolves with the next diagnostics published for `uri` that pass `test`. */
  nextDiagnostics(
    uri: string,
    test: (d: Diagnostic[]) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms\n${this.stderr}`)),
        timeoutMs,
      );
      this.waiters.push({
        uri,
        test,
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
      });
    });
  }

  /** Diagnostics already published for `uri` that pass `test`, or the next ones that do. */
  diagnosticsFor(
    uri: string,
    test: (d: Diagnostic[]) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<Diagnostic[]> {
    const known = this.diagnostics.get(URI.parse(uri).toString());
    if (known && test(known)) return Promise.resolve(known);
    return this.nextDiagnostics(uri, test, timeoutMs);
  }

  async open(uri: string, text: string, version = 1): Promise<void> {
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'switchyard-policy', version, text },
    });
  }

  async change(uri: string, version: number, text: string): Promise<void> {
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
  }

  /** An incremental edit, as editors send them: replace `range` with `text`. */
  async edit(uri: string, version: number, range: Range, text: string): Promise<void> {
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range, text }],
    });
  }

  async stop(): Promise<void> {
    try {
      await this.connection.sendRequest(ShutdownRequest.type);
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      /* already gone */
    }
    const exited = new Promise<void>((resolve) => {
      if (this.process.exitCode !== null) resolve();
      else this.process.once('exit', () => resolve());
    });
    const timer = setTimeout(() => this.process.kill(), 3000);
    await exited;
    clearTimeout(timer);
    this.connection.dispose();
  }
}
