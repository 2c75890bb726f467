import { SwitchyardClient } from '../../client/index.js';
import { readRequestFile } from '../request-file.js';
import { parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, configFrom, connectClient } from '../temporal.js';

export const runUsage = `usage: switchyard run --request REQ.json|- [--address A] [--namespace N]

Sends one JSON request ('-' reads standard input) through Temporal and prints the
result JSON. The request's 'id' is its idempotency key: an id that already ran returns that run's
result. Without an id, one is generated. Needs a worker ('switchyard worker' or 'switchyard dev').
Exit status: 0 served, 1 rejected, failed or an error, 2 usage.

${CONNECTION_USAGE}`;

/** After this long without a result, say on stderr what is being waited for. */
const NOTICE_AFTER_MS = 10_000;

export async function run(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { request: { type: 'string' }, ...CONNECTION_OPTIONS },
    runUsage,
  );
  if (values.help) return { stdout: runUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${runUsage}` };
  const file = values.request;
  if (typeof file !== 'string') return { usage: `switchyard run needs --request FILE|-\n${runUsage}` };

  const request = readRequest(file);
  const config = configFrom(values);
  const connection = await connectClient(config);
  try {
    const client = await SwitchyardClient.connect({
      connection,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
    });
    const handle = await client.start(request);
    const notice = setTimeout(() => {
      process.stderr.write(
        `switchyard run: still waiting for request ${handle.id}: is a worker polling task queue ` +
          `${config.taskQueue} in namespace ${config.namespace} at ${config.address}?\n`,
      );
    }, NOTICE_AFTER_MS);
    notice.unref();
    try {
      const result = await handle.result();
      return { stdout: JSON.stringify(result, null, 2), exitCode: result.status === 'served' ? 0 : 1 };
    } finally {
      clearTimeout(notice);
    }
  } finally {
    await connection.close();
  }
}

function readRequest(file: string) {
  return readRequestFile(file);
}
