/**
 * Runs the test provider server by hand, for manual tries and benchmarks:
 *
 *   npx tsx test/support/provider-server-main.ts [--port 11434] [--host 127.0.0.1]
 *       [--model PATH.gguf] [--context 1024] [--models a,b] [--api-key KEY]
 *       [--ignore-stream] [--token-delay MS] [--canned TEXT] [--no-record]
 *
 * `--ignore-stream` answers streaming requests with one plain JSON answer, as some
 * OpenAI-compatible servers do; `--token-delay` makes the model slow (MS after each token).
 * `--canned` answers every chat with TEXT instead of running the model (benchmarks: exact usage,
 * the same APIs); `--no-record` keeps no list of the requests (long benchmark runs).
 *
 * then e.g. `curl localhost:11434/api/chat -d '{"model":"stories260K","messages":[{"role":"user","content":"Hi"}]}'`.
 * Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { TEST_MODEL_PATH, startProviderServer, type ProviderServerOptions } from './provider-server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '11434' },
    host: { type: 'string', default: '127.0.0.1' },
    model: { type: 'string', default: TEST_MODEL_PATH },
    context: { type: 'string', default: '1024' },
    models: { type: 'string' },
    'api-key': { type: 'string' },
    'ignore-stream': { type: 'boolean', default: false },
    'token-delay': { type: 'string' },
    canned: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
  },
});

const options: ProviderServerOptions = {
  port: Number(values.port),
  host: values.host,
  modelPath: values.model,
  contextSize: Number(values.context),
};
if (values.models) options.models = values.models.split(',').map((m) => m.trim());
if (values['api-key']) options.apiKey = values['api-key'];
if (values.canned !== undefined) options.canned = values.canned;
if (values['no-record']) options.recordRequests = false;

const server = await startProviderServer(options);
// One fault applies per request: both behaviours go in the same one.
if (values['ignore-stream'] || values['token-delay']) {
  server.faults.add({
    ...(values['ignore-stream'] ? { ignoreStream: true } : {}),
    ...(values['token-delay'] ? { tokenDelayMs: Number(values['token-delay']) } : {}),
  });
}
process.stdout.write(
  `provider server on ${server.url} (Ollama: ${server.url}/api, OpenAI: ${server.url}/v1), ` +
    `model ${values.model}, context ${server.engine.contextSize}` +
    `${values.canned !== undefined ? ` (canned answer: ${JSON.stringify(values.canned)})` : ''}\n`,
);

const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
