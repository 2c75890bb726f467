/**
 * What the language server adds over dsl/lsp/'s services: the test code lenses and the commands
 * they run, tests run on save, and the hover on a route with its share of recent traffic. These
 * need the server's state (test results) or its surroundings (the store), so they live here, not
 * in dsl/.
 */
import type { AstNode, LangiumDocument, MaybePromise } from 'langium';
import {
  AbstractExecuteCommandHandler,
  type CodeLensProvider,
  DefaultDocumentUpdateHandler,
  type ExecuteCommandAcceptor,
  type LangiumSharedServices,
} from 'langium/lsp';
import { DocumentState, URI } from 'langium';
import type { CodeLens, TextDocumentChangeEvent } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { isRoute } from '../dsl/generated/ast.js';
import { hoverFor, SwitchyardHoverProvider } from '../dsl/lsp/hover.js';
import type { ExtraLspModules, SwitchyardLspServices } from '../dsl/lsp/module.js';
import { RunFileTestsCommand, RunTestCommand, type TestRunResult } from './protocol.js';
import { hasTests, type TestRuns } from './test-runs.js';
import type { RecentTraffic } from './traffic.js';

/** Filled once the services exist (the modules are made before them). */
export interface EditorState {
  runs?: TestRuns;
  traffic?: RecentTraffic;
}

class TestCodeLensProvider implements CodeLensProvider {
  constructor(private readonly state: EditorState) {}
  provideCodeLens(document: LangiumDocument): MaybePromise<CodeLens[] | undefined> {
    return this.state.runs?.lenses(document);
  }
}

class TestCommandHandler extends AbstractExecuteCommandHandler {
  constructor(
    private readonly shared: LangiumSharedServices,
    private readonly state: EditorState,
  ) {
    super();
  }

  registerCommands(accept: ExecuteCommandAcceptor): void {
    accept(RunTestCommand, (args) => this.run(String(args[0]), String(args[1])));
    accept(RunFileTestsCommand, (args) => this.run(String(args[0])));
  }

  private async run(uri: string, name?: string): Promise<TestRunResult> {
    const document = await this.ready(uri);
    return this.state.runs!.run(document, name);
  }

  private async ready(uri: string): Promise<LangiumDocument> {
    await this.shared.workspace.WorkspaceManager.ready;
    const parsed = URI.parse(uri);
    const documents = this.shared.workspace.LangiumDocuments;
    let document = documents.getDocument(parsed);
    if (!document) {
      document = await documents.getOrCreateDocument(parsed);
      await this.shared.workspace.DocumentBuilder.build([document], { validation: true });
    }
    await this.shared.workspace.DocumentBuilder.waitUntil(DocumentState.Validated, parsed);
    return document;
  }
}

/** Saving a file with tests runs them (and its coverage), as the lens's "Run the file's tests". */
class SaveRunsTests extends DefaultDocumentUpdateHandler {
  constructor(
    private readonly shared: LangiumSharedServices,
    private readonly state: EditorState,
  ) {
    super(shared);
  }

  didSaveDocument(event: TextDocumentChangeEvent<TextDocument>): void {
    void (async () => {
      const parsed = URI.parse(event.document.uri);
      await this.shared.workspace.DocumentBuilder.waitUntil(DocumentState.Validated, parsed);
      const document = this.shared.workspace.LangiumDocuments.getDocument(parsed);
      if (document && hasTests(document)) this.state.runs?.run(document);
    })().catch(() => undefined);
  }
}

/** The declarations' hover, and on a route its share of recent traffic when a store is named. */
class TrafficHoverProvider extends SwitchyardHoverProvider {
  constructor(
    services: SwitchyardLspServices,
    private readonly state: EditorState,
  ) {
    super(services);
  }

  protected override async getAstNodeHoverContent(node: AstNode): Promise<string | undefined> {
    const text = hoverFor(node);
    if (text === undefined || !isRoute(node)) return text;
    const policy = node.$container.name;
    const line = await this.state.traffic?.line(policy, node.name).catch(() => undefined);
    return line ? `${text}\n\n${line}` : text;
  }
}

export function editorModules(state: EditorState): ExtraLspModules {
  return {
    shared: {
      lsp: {
        ExecuteCommandHandler: (shared) => new TestCommandHandler(shared, state),
        DocumentUpdateHandler: (shared) => new SaveRunsTests(shared, state),
      },
    },
    language: {
      lsp: {
        CodeLensProvider: () => new TestCodeLensProvider(state),
        HoverProvider: (services) => new TrafficHoverProvider(services, state),
      },
    },
  };
}
