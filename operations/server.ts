/**
 * A worker's metrics listener (`switchyard worker --metrics-port`, docs/operations.md): `GET
 * /metrics` and `GET /healthz` on a small HTTP server of its own. The front door serves the same
 * `/metrics` on its own port (frontdoor/server.ts).
 */
import http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { METRICS_CONTENT_TYPE, metricsText } from './metrics.js';

export interface MetricsServer {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

/** Answers `GET /metrics` on `res` (the front door calls this too). */
export async function answerMetrics(res: http.ServerResponse): Promise<void> {
  const body = await metricsText();
  res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startMetricsServer(port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (req.method === 'GET' && path === '/metrics') {
      answerMetrics(res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`cannot collect metrics: ${err instanceof Error ? err.message : String(err)}\n`);
      });
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: this listener serves GET /metrics and GET /healthz\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** A free TCP port on 127.0.0.1 (for Temporal's own exporter, which must be told one). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
