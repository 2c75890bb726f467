/**
 * Where a worker's metrics listener listens: `--metrics-port`/`--metrics-host`, then
 * `SWITCHYARD_METRICS_*`, then `metrics:` in switchyard.yaml (checked like every key of the file).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { metricsAddress } from '../../cli/metrics.js';
import { loadConfig } from '../../worker/config.js';

function withFile(text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-metrics-config-'));
  fs.writeFileSync(path.join(dir, 'switchyard.yaml'), text);
  return loadConfig({ cwd: dir, env: {} });
}

describe('metrics listener settings', () => {
  it('off unless named; the file, then the environment, then the flag win', () => {
    const none = loadConfig({ cwd: os.tmpdir(), env: {} });
    expect(metricsAddress({}, none, {})).toBeUndefined();
    const file = withFile('metrics:\n  port: 9464\n  host: 0.0.0.0\n');
    expect(file.metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(metricsAddress({}, file, {})).toEqual({ port: 9464, host: '0.0.0.0' });
    const env = { SWITCHYARD_METRICS_PORT: '9500', SWITCHYARD_METRICS_HOST: '127.0.0.2' };
    expect(metricsAddress({}, file, env)).toEqual({ port: 9500, host: '127.0.0.2' });
    expect(metricsAddress({ 'metrics-port': '0', 'metrics-host': '::1' }, file, env)).toEqual({
      port: 0,
      host: '::1',
    });
    expect(metricsAddress({ 'metrics-port': '9600' }, none, {})).toEqual({ port: 9600, host: '127.0.0.1' });
  });

  it('a port that is not one is a usage error; an unknown key of metrics: names the key and the likely one', () => {
    const none = loadConfig({ cwd: os.tmpdir(), env: {} });
    expect(() => metricsAddress({ 'metrics-port': 'nine' }, none, {})).toThrow(
      /--metrics-port must be a port number, not 'nine'/,
    );
    expect(() => withFile('metrics:\n  ports: 9464\n')).toThrow(
      /switchyard\.yaml: unknown key 'metrics\.ports' \(did you mean 'metrics\.port'\?\); known keys: port, host/,
    );
    expect(() => withFile('metrics:\n  port: 99999\n')).toThrow(/metrics\.port/);
  });
});
