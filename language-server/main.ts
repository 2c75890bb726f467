/**
 * The Switchyard language server: `switchyard-lsp --stdio` (or `--node-ipc`, `--socket=PORT`, as
 * vscode-languageserver reads them from the command line). The same dsl/ services as the CLI,
 * wired in dsl/lsp/module.ts, plus the requests of language-server/protocol.ts.
 */
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node.js';
import { createSwitchyardLspServices } from '../dsl/lsp/module.js';
import { registerSwitchyardRequests } from './requests.js';

export function startServer(): void {
  const connection = createConnection(ProposedFeatures.all);
  const { shared, Switchyard } = createSwitchyardLspServices({ connection, ...NodeFileSystem });
  registerSwitchyardRequests(connection, shared, Switchyard);
  startLanguageServer(shared);
}
