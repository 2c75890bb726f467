/**
 * The Switchyard language server: `switchyard-lsp --stdio` (or `--node-ipc`, `--socket=PORT`, as
 * vscode-languageserver reads them from the command line). The same dsl/ services as the CLI,
 * wired in dsl/lsp/module.ts, plus the requests of language-server/protocol.ts and the editor's
 * own services (editor-services.ts: test lenses, tests on save, traffic on a route's hover).
 */
import { URI } from 'langium';
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node.js';
import { createSwitchyardLspServices } from '../dsl/lsp/module.js';
import { editorModules, type EditorState } from './editor-services.js';
import { registerSwitchyardRequests } from './requests.js';
import { TestRuns } from './test-runs.js';
import { RecentTraffic } from './traffic.js';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  const state: EditorState = {};
  const { shared, Switchyard } = createSwitchyardLspServices(
    { connection, ...NodeFileSystem },
    editorModules(state),
  );
  state.runs = new TestRuns(shared, Switchyard, connection);
  let root: string | undefined;
  let configurable = false;
  shared.lsp.LanguageServer.onInitialize((params) => {
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    root = folder ? URI.parse(folder).fsPath : undefined;
    configurable = params.capabilities.workspace?.configuration === true;
  });
  state.traffic = new RecentTraffic({
    root: () => root,
    setting: async () => {
      if (!configurable) return undefined;
      const value: unknown = await connection.workspace.getConfiguration('switchyard.store');
      return typeof value === 'string' ? value : undefined;
    },
  });
  registerSwitchyardRequests(connection, shared, Switchyard);
  startLanguageServer(shared);
}
