#!/usr/bin/env node
// The `switchyard` command. `npm run build` writes the bundled CLI to dist/bundle/.
import v8 from 'node:v8';

// Parsing a large workspace allocates millions of short-lived syntax nodes: a larger young
// generation (64 MB semi-spaces) halves the scavenges and takes ~10% off `check` of a 50k-line
// file (bench/check.ts). Set before anything is loaded.
v8.setFlagsFromString('--max-semi-space-size=64');

const { main } = await import('../dist/bundle/switchyard.mjs');

// `switchyard check … | head` closes the pipe early: stop quietly instead of crashing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
