/**
 * The CLI's metrics wiring (docs/operations.md "Metrics"): where a worker's metrics listener
 * listens (flags, then the environment, then `metrics:` in switchyard.yaml), and Temporal's runtime
 * with its own Prometheus exporter on a free local port, appended to Switchyard's `/metrics`.
 */
import { setTemporalMetricsUrl } from '../operations/metrics.js';
import { freeLocalPort, startMetricsServer, type MetricsServer } from '../operations/server.js';
import type { SwitchyardConfig } from '../worker/config.js';
import { installRuntime } from '../worker/worker.js';
import { CliError } from './args.js';

export const METRICS_OPTIONS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

export const METRICS_USAGE = `  --metrics-port N  serve GET /metrics (Prometheus) on this port (SWITCHYARD_METRICS_PORT,
                    'metrics: {port, host}' in switchyard.yaml; off unless set; 0 picks one)
  --metrics-host H  the interface for it (SWITCHYARD_METRICS_HOST, default 127.0.0.1)`;

/** The metrics listener's address, or `undefined` when none is configured. */
export function metricsAddress(
  values: { 'metrics-port'?: unknown; 'metrics-host'?: unknown },
  config: SwitchyardConfig,
  env: NodeJS.ProcessEnv = process.env,
): { port: number; host: string } | undefined {
  const port = values['metrics-port'] ?? (env.SWITCHYARD_METRICS_PORT || config.metrics.port?.toString());
  if (port === undefined) return undefined;
  const text = String(port);
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new CliError('E-USAGE', `--metrics-port must be a port number, not '${text}'`, 2);
  }
  const host = String(
    values['metrics-host'] ?? (env.SWITCHYARD_METRICS_HOST || config.metrics.host || '127.0.0.1'),
  );
  return { port: Number(text), host };
}

/** Starts the listener; a port in use is the CLI's one-line error. */
export async function listenMetrics(address: { port: number; host: string }): Promise<MetricsServer> {
  try {
    return await startMetricsServer(address.port, address.host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'EADDRINUSE' ? 'E-PORT-IN-USE' : 'E-METRICS-LISTEN',
      `cannot serve metrics on ${address.host}:${address.port}: ${code ?? (err as Error).message}` +
        (code === 'EADDRINUSE' ? ' (pick another with --metrics-port)' : ''),
    );
  }
}

/**
 * Installs Temporal's runtime with its Prometheus exporter on a free port of 127.0.0.1, read by
 * this process's `/metrics` (worker/runtime.ts). Without `metrics`, the runtime as before.
 */
export async function installRuntimeFor(metrics: boolean): Promise<void> {
  if (!metrics) {
    installRuntime();
    return;
  }
  const port = await freeLocalPort();
  if (installRuntime('WARN', { prometheus: `127.0.0.1:${port}` })) {
    setTemporalMetricsUrl(`http://127.0.0.1:${port}/metrics`);
  }
}
