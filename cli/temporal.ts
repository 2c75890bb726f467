/**
 * What the Temporal-facing commands (`run`, `worker`, `dev`) share: configuration from flags,
 * connections with one-line errors, and waiting for a signal.
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import {
  ConfigError,
  connectionOptions,
  loadConfig,
  type ConfigFlags,
  type SwitchyardConfig,
} from '../worker/config.js';
import { CliError, type Options } from './args.js';

/** Flags every Temporal-facing command takes. */
export const CONNECTION_OPTIONS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
  'task-queue': { type: 'string' },
  config: { type: 'string' },
  tls: { type: 'boolean' },
  'api-key-env': { type: 'string' },
} satisfies Options;

export const CONNECTION_USAGE = `Connection (flags, else SWITCHYARD_* variables, else switchyard.yaml, else defaults):
  --address HOST:PORT     Temporal's frontend (SWITCHYARD_ADDRESS, default 127.0.0.1:7233)
  --namespace N           (SWITCHYARD_NAMESPACE, default default)
  --task-queue Q          the workflow task queue (SWITCHYARD_TASK_QUEUE, default switchyard)
  --config FILE           a switchyard.yaml (SWITCHYARD_CONFIG; ./switchyard.yaml when present)
  --tls                   connect with TLS (certificates: tls: in switchyard.yaml)
  --api-key-env NAME      read a Temporal Cloud API key from environment variable NAME`;

type Values = Record<string, string | boolean | string[] | undefined>;

/** The configuration for a command's flags; configuration problems become one-line CLI errors. */
export function configFrom(values: Values, extra: Partial<ConfigFlags> = {}): SwitchyardConfig {
  const flags: ConfigFlags = { ...extra };
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (str('address') !== undefined) flags.address = str('address')!;
  if (str('namespace') !== undefined) flags.namespace = str('namespace')!;
  if (str('task-queue') !== undefined) flags.taskQueue = str('task-queue')!;
  if (str('config') !== undefined) flags.config = str('config')!;
  if (str('api-key-env') !== undefined) flags.apiKeyEnv = str('api-key-env')!;
  if (values.tls === true) flags.tls = true;
  try {
    return loadConfig({ flags });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.code, err.message);
    throw err;
  }
}

function unreachable(config: SwitchyardConfig, err: unknown): CliError {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return new CliError(
    'E-TEMPORAL-UNREACHABLE',
    `cannot reach Temporal at ${config.address} (namespace ${config.namespace}): ${message}` +
      (config.address === '127.0.0.1:7233' ? '; is `switchyard dev` running?' : ''),
  );
}

/** A client connection (for `run`); fails within `timeoutMs` with a one-line error. */
export async function connectClient(config: SwitchyardConfig, timeoutMs = 5_000): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectionOptions(config), connectTimeout: timeoutMs });
  } catch (err) {
    throw unreachable(config, err);
  }
}

/** A worker connection (for `worker` and `dev`). */
export async function connectWorker(config: SwitchyardConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(config));
  } catch (err) {
    throw unreachable(config, err);
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM with its name; a second one ends the process at once
 * (exit 130), for when a graceful stop hangs.
 */
export function untilSignal(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });
  let seen = false;
  const handler = (signal: NodeJS.Signals) => {
    if (seen) process.exit(130);
    seen = true;
    resolve(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
