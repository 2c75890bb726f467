/**
 * `switchyard serve`: the HTTP front door (docs/http.md), alone against a Temporal cluster or with
 * a worker in the same process (`--worker`: durable requests start eagerly on it, and their text
 * streams through an in-process relay).
 */
import { Client, type Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import { largePayloadCodec, type BlobStore } from '../../client/large-payloads.js';
import { storeKeys } from '../../frontdoor/auth.js';
import { createDirectRunner, type DirectRunner } from '../../frontdoor/direct.js';
import { ProviderGates } from '../../activities/attempt.js';
import { providerConcurrency } from '../../worker/queues.js';
import { FrontDoorRelay } from '../../frontdoor/relay.js';
import { DEFAULT_MAX_BODY_BYTES, FrontDoor } from '../../frontdoor/server.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import type { SwitchyardConfig } from '../../worker/config.js';
import type { PlanRegistry } from '../../worker/registry.js';
import type { WorkersHandle } from '../../worker/worker.js';
import { setBudgetStore } from '../../operations/metrics.js';
import { installRuntimeFor } from '../metrics.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import {
  CONNECTION_OPTIONS,
  CONNECTION_USAGE,
  configFrom,
  connectClient,
  connectWorker,
  untilSignal,
} from '../temporal.js';
import { asCliError } from './store-access.js';
import { launch, loadRegistry, readyLine } from './worker.js';

export const serveUsage = `usage: switchyard serve [--port 8080] [--host 127.0.0.1] [--policies DIR] [--store URL] [--worker] [--address A]

The OpenAI-compatible HTTP front door: POST /v1/chat/completions, GET /v1/models, /healthz,
/readyz. Point any OpenAI SDK at http://HOST:PORT/v1 with a Switchyard key ('switchyard keys
create'). Routes run durable (a Temporal workflow) or direct (in this process), as the policies say.

  --port N          (SWITCHYARD_HTTP_PORT, 'http: {port}' in switchyard.yaml, default 8080;
                    0 picks a free port; host, maxBody and relayUrl go under 'http:' too)
  --host H          the interface to listen on (SWITCHYARD_HTTP_HOST, default 127.0.0.1)
  --policies DIR    the policies (or 'policies:' in switchyard.yaml)
  --store URL       keys, ledger and audit (SWITCHYARD_STORE, 'store:' in switchyard.yaml;
                    default sqlite:.switchyard/state.db)
  --worker          also run a worker for every queue in this process (eager start, in-process
                    streaming); without it, workers run elsewhere ('switchyard worker')
  --attempts MODE   with --worker: local or remote (see 'switchyard worker --help')
  --max-body SIZE   largest request body, e.g. 16MiB, 512KiB (SWITCHYARD_MAX_BODY, default 16MiB)
  --relay-url URL   how workers in other processes reach this front door to stream durable
                    answers (SWITCHYARD_RELAY_URL; default the listening address — set it when
                    listening on 0.0.0.0 or behind a proxy)
  --no-watch        do not reload the policies when DIR changes

GET /metrics on the same port serves Prometheus metrics (docs/operations.md), with Temporal's own
when --worker runs here.

${CONNECTION_USAGE}`;

export interface OpenedFrontDoor {
  door: FrontDoor;
  /** `http://host:port` (the OpenAI base URL is this + `/v1`). */
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the store, connects to Temporal (the worker's connection when one runs here, for eager
 * start) and listens. Shared by `serve` and `dev --http-port`.
 */
export async function openFrontDoor(options: {
  registry: PlanRegistry;
  config: SwitchyardConfig;
  port: number;
  host: string;
  maxBodyBytes?: number;
  /** The worker's connection when a worker runs in this process. */
  workerConnection?: NativeConnection;
  relay?: FrontDoorRelay;
  /** The concurrency gates of a worker in this process, shared with the direct runner. */
  gates?: ProviderGates;
  store?: Store;
}): Promise<OpenedFrontDoor> {
  let store: Store;
  try {
    store = options.store ?? (await openStore(options.config.store));
  } catch (err) {
    throw asCliError(err);
  }
  let clientConnection: Connection | undefined;
  let direct: DirectRunner | undefined;
  let forgetBudgets: (() => void) | undefined;
  try {
    const connection =
      (options.workerConnection as unknown as Connection | undefined) ??
      (clientConnection = await connectClient(options.config));
    // The budget gauges of /metrics read this store (docs/operations.md).
    forgetBudgets = setBudgetStore(store);
    // Direct routes run here, with the worker's providers and one concurrency gate per provider.
    direct = createDirectRunner({
      plans: options.registry,
      store,
      gates: options.gates ?? new ProviderGates(providerConcurrency),
    });
    const door = new FrontDoor({
      plans: options.registry,
      direct,
      keys: storeKeys(store),
      temporal: {
        // Prompts over 1 MiB travel as references to the store's blobs (docs/http.md "Limits and
        // hardening"); workers decode them with the same codec over the same store. Below that
        // they go inline (Temporal takes up to 2 MB), so a worker without the codec still works.
        client: new Client({
          connection,
          namespace: options.config.namespace,
          dataConverter: {
            payloadCodecs: [largePayloadCodec(store, { thresholdBytes: LARGE_PAYLOAD_BYTES })],
          },
        }),
        taskQueue: options.config.taskQueue,
        eagerStart: options.workerConnection !== undefined,
      },
      ...(options.relay ? { relay: options.relay } : {}),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    });
    let url: string;
    try {
      url = await door.listen(options.port, options.host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'EADDRINUSE' ? 'E-PORT-IN-USE' : 'E-SERVE-LISTEN',
        `cannot listen on ${options.host}:${options.port}: ${code ?? (err as Error).message}` +
          (code === 'EADDRINUSE' ? ' (pick another with --port)' : ''),
      );
    }
    return {
      door,
      url,
      async close() {
        await door.close();
        direct?.close();
        forgetBudgets?.();
        await clientConnection?.close();
        if (options.store === undefined) await store.close();
      },
    };
  } catch (err) {
    direct?.close();
    forgetBudgets?.();
    await clientConnection?.close();
    if (options.store === undefined) await store.close();
    throw err;
  }
}

/**
 * Payloads over this travel as references to the store's blobs (client/large-payloads.ts). Below
 * it they go inline — Temporal takes up to 2 MB — so clients without the codec (`switchyard run`,
 * services using the typed client, whose requests stay under 240 KB) keep working.
 */
export const LARGE_PAYLOAD_BYTES = 1024 * 1024;

/**
 * The large-payload codec over the store at `url`, opened at its first use (a worker that never
 * sees a large payload never opens it); `close` closes it if it was opened.
 */
export function largePayloads(url: string): { codecs: PayloadCodec[]; close(): Promise<void> } {
  let opened: Promise<Store> | undefined;
  const store = () => (opened ??= openStore(url));
  const blobs: BlobStore = {
    putBlob: async (bytes) => (await store()).putBlob(bytes),
    getBlob: async (hash) => (await store()).getBlob(hash),
  };
  return {
    codecs: [largePayloadCodec(blobs, { thresholdBytes: LARGE_PAYLOAD_BYTES })],
    close: async () => {
      const store = opened;
      opened = undefined;
      if (store) await (await store).close();
    },
  };
}

/** `16MiB`, `512KiB`, `1000000` → bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/i.exec(text.trim());
  if (!match) throw new CliError('E-USAGE', `not a size: '${text}' (e.g. 16MiB, 512KiB, 1000000)`, 2);
  const unit = (match[2] ?? 'B').toLowerCase();
  const factor: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1000,
    mb: 1000 ** 2,
    gb: 1000 ** 3,
  };
  return Number(match[1]) * factor[unit]!;
}

export function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new CliError('E-USAGE', `${flag} must be a port number, not '${text}'`, 2);
  return port;
}

export async function serve(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      policies: { type: 'string' },
      store: { type: 'string' },
      worker: { type: 'boolean' },
      attempts: { type: 'string' },
      'max-body': { type: 'string' },
      'no-watch': { type: 'boolean' },
      'relay-url': { type: 'string' },
      ...CONNECTION_OPTIONS,
    },
    serveUsage,
  );
  if (values.help) return { stdout: serveUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${serveUsage}` };
  const env = process.env;
  const config = configFrom(values, {
    ...(typeof values.policies === 'string' ? { policies: values.policies } : {}),
    ...(typeof values.store === 'string' ? { store: values.store } : {}),
    ...(typeof values.attempts === 'string' ? { attempts: values.attempts } : {}),
  });
  // Flags, then the environment, then `http:` in switchyard.yaml, then defaults.
  const file = config.http;
  const port = parsePort(
    String(values.port ?? (env.SWITCHYARD_HTTP_PORT || file.port?.toString() || '8080')),
    '--port',
  );
  const host = String(values.host ?? (env.SWITCHYARD_HTTP_HOST || file.host || '127.0.0.1'));
  const maxBody = values['max-body'] ?? (env.SWITCHYARD_MAX_BODY || file.maxBody);
  const maxBodyBytes = maxBody === undefined ? DEFAULT_MAX_BODY_BYTES : parseSize(String(maxBody));
  if (config.policies === undefined) {
    return {
      usage: `switchyard serve needs --policies DIR (or 'policies:' in switchyard.yaml)\n${serveUsage}`,
    };
  }
  const watch = !values['no-watch'];
  const registry = await loadRegistry(config.policies);
  const stopWatching = watch && values.worker !== true ? registry.watch() : undefined;

  const stop = untilSignal();
  const relay = new FrontDoorRelay();
  // One concurrency per provider for the worker's attempts and the direct runner's together.
  const gates = new ProviderGates(providerConcurrency);
  const relayUrl = values['relay-url'] ?? (env.SWITCHYARD_RELAY_URL || file.relayUrl);
  if (typeof relayUrl === 'string' && relayUrl !== '') relay.baseUrl = relayUrl.replace(/\/+$/, '');
  let workers: WorkersHandle | undefined;
  let workerConnection: NativeConnection | undefined;
  let opened: OpenedFrontDoor | undefined;
  try {
    if (values.worker === true) {
      // Temporal's SDK metrics join this front door's /metrics.
      await installRuntimeFor(true);
      workerConnection = await connectWorker(config);
      // The worker's attempts write streamed text to this front door's callers through the relay.
      workers = await launch(workerConnection, registry, config, watch, { relay, gates });
      process.stdout.write(`${readyLine('switchyard serve: worker', workers, config)}\n`);
    }
    opened = await openFrontDoor({
      registry,
      config,
      port,
      host,
      maxBodyBytes,
      relay,
      gates,
      ...(workerConnection ? { workerConnection } : {}),
    });
    process.stdout.write(
      `switchyard serve: listening on ${opened.url}/v1 (OpenAI-compatible; policies: ${registry.policyNames().join(', ')}; ` +
        `Temporal ${config.address}, namespace ${config.namespace})\n`,
    );
    const outcome = await Promise.race([
      stop.promise.then(() => 'signal' as const),
      ...(workers
        ? [
            workers.done.then(
              () => 'stopped' as const,
              (err: unknown) => err,
            ),
          ]
        : []),
    ]);
    if (outcome !== 'signal' && outcome !== 'stopped') {
      throw new CliError('E-WORKER-FAILED', `a worker stopped: ${(outcome as Error).message}`);
    }
    return { stdout: 'switchyard serve: stopped', exitCode: 0 };
  } finally {
    stop.dispose();
    stopWatching?.();
    await opened?.close();
    await workers?.shutdown();
    await workerConnection?.close();
  }
}
