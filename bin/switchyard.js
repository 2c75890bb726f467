#!/usr/bin/env node
// The `switchyard` command. `npm run build` writes the bundled CLI to dist/bundle/.
import { main } from '../dist/bundle/switchyard.mjs';

// `switchyard check … | head` closes the pipe early: stop quietly instead of crashing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
