// Entry point of the language server process (bin/switchyard-lsp.js, the VS Code bundle).
import { startServer } from './main.js';

startServer();
