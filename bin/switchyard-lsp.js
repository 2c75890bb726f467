#!/usr/bin/env node
// The Switchyard language server: `switchyard-lsp --stdio` (npm run build writes dist/).
import '../dist/language-server/server.js';
