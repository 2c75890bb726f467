/** Worker and CLI configuration: flags, environment, switchyard.yaml, defaults. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, connectionOptions, loadConfig } from '../../worker/config.js';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('loadConfig', () => {
  it('has the defaults of docs/cli.md', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'switchyard',
      tls: undefined,
      apiKey: undefined,
      policies: undefined,
      queues: undefined,
      file: undefined,
    });
  });

  it('takes flags over the environment over the file', () => {
    const file = write(
      'a.yaml',
      'address: file:1\nnamespace: file-ns\ntaskQueue: file-q\npolicies: pol\nqueues: [gpu]\n',
    );
    const env = { SWITCHYARD_ADDRESS: 'env:2', SWITCHYARD_NAMESPACE: 'env-ns', SWITCHYARD_CONFIG: file };
    expect(loadConfig({ env, cwd: dir })).toMatchObject({
      address: 'env:2',
      namespace: 'env-ns',
      taskQueue: 'file-q',
      policies: path.join(dir, 'pol'),
      queues: ['gpu'],
      file,
    });
    expect(loadConfig({ env, cwd: dir, flags: { address: 'flag:3', queues: ['a', 'b'] } })).toMatchObject({
      address: 'flag:3',
      queues: ['a', 'b'],
    });
  });

  it('the store: flag, else SWITCHYARD_STORE, else the file (relative to it), else the default', () => {
    expect(loadConfig({ env: {}, cwd: dir }).store).toBe('sqlite:.switchyard/state.db');
    const file = write('store.yaml', 'store: sqlite:data/state.db\n');
    expect(loadConfig({ env: {}, cwd: dir, flags: { config: file } }).store).toBe(
      `sqlite:${path.join(path.dirname(file), 'data/state.db')}`,
    );
    const env = { SWITCHYARD_STORE: 'postgres://u@db/x' };
    expect(loadConfig({ env, cwd: dir, flags: { config: file } }).store).toBe('postgres://u@db/x');
    expect(loadConfig({ env, cwd: dir, flags: { store: 'sqlite:/tmp/a.db' } }).store).toBe(
      'sqlite:/tmp/a.db',
    );
  });

  it('attempts: remote by default; local from the flag, SWITCHYARD_ATTEMPTS or the file; else an error', () => {
    expect(loadConfig({ env: {}, cwd: dir }).attempts).toBe('remote');
    const file = write('attempts.yaml', 'attempts: local\n');
    expect(loadConfig({ env: {}, cwd: dir, flags: { config: file } }).attempts).toBe('local');
    expect(loadConfig({ env: { SWITCHYARD_ATTEMPTS: 'local' }, cwd: dir }).attempts).toBe('local');
    expect(loadConfig({ env: {}, cwd: dir, flags: { config: file, attempts: 'remote' } }).attempts).toBe(
      'remote',
    );
    const err = error(() => loadConfig({ env: {}, cwd: dir, flags: { attempts: 'nearby' } }));
    expect(err.code).toBe('E-CONFIG-ATTEMPTS');
    expect(err.message).toBe("attempts must be local or remote, not 'nearby'");
    const bad = write('attempts-bad.yaml', 'attempts: nearby\n');
    expect(error(() => loadConfig({ env: {}, cwd: dir, flags: { config: bad } })).code).toBe(
      'E-CONFIG-INVALID',
    );
  });

  it('reads ./switchyard.yaml when present', () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
    fs.writeFileSync(path.join(cwd, 'switchyard.yaml'), 'namespace: here\n');
    expect(loadConfig({ env: {}, cwd }).namespace).toBe('here');
  });

  it('names an unknown key and the file', () => {
    const file = write('typo.yaml', 'address: x\nnamespce: y\n');
    const err = error(() => loadConfig({ env: {}, cwd: dir, flags: { config: file } }));
    expect(err.code).toBe('E-CONFIG-INVALID');
    expect(err.message).toMatch(/typo\.yaml: unknown key 'namespce' \(did you mean 'namespace'\?\)/);
    const nested = write('tls.yaml', 'tls:\n  caFil: ca.pem\n');
    expect(error(() => loadConfig({ env: {}, cwd: dir, flags: { config: nested } })).message).toMatch(
      /unknown key 'tls\.caFil' \(did you mean 'tls\.caFile'\?\)/,
    );
  });

  it('reports YAML syntax errors with their position, and wrong types', () => {
    const bad = write('bad.yaml', 'address: [\n');
    expect(error(() => loadConfig({ env: {}, cwd: dir, flags: { config: bad } })).code).toBe('E-CONFIG-YAML');
    const wrong = write('wrong.yaml', 'queues: gpu\n');
    expect(error(() => loadConfig({ env: {}, cwd: dir, flags: { config: wrong } })).message).toMatch(
      /'queues' must be array/,
    );
    expect(
      error(() => loadConfig({ env: {}, cwd: dir, flags: { config: path.join(dir, 'none.yaml') } })).code,
    ).toBe('E-CONFIG-FILE');
  });

  it('reads TLS files relative to the file, and the API key from the variable it names', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'tls-'));
    fs.writeFileSync(path.join(sub, 'ca.pem'), 'CA');
    fs.writeFileSync(path.join(sub, 'client.pem'), 'CERT');
    fs.writeFileSync(path.join(sub, 'client.key'), 'KEY');
    const file = path.join(sub, 'switchyard.yaml');
    fs.writeFileSync(
      file,
      'address: ns.a1b2c.tmprl.cloud:7233\nnamespace: ns.a1b2c\ntls:\n  serverName: x.example\n  caFile: ca.pem\n  certFile: client.pem\n  keyFile: client.key\n',
    );
    const config = loadConfig({ env: {}, cwd: dir, flags: { config: file } });
    expect(config.tls).toEqual({
      serverNameOverride: 'x.example',
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });

    const cloud = write('cloud.yaml', 'address: eu.aws.api.temporal.io:7233\napiKey:\n  env: TEMPORAL_KEY\n');
    const withKey = loadConfig({ env: { TEMPORAL_KEY: 'secret-value' }, cwd: dir, flags: { config: cloud } });
    expect(withKey.apiKey).toBe('secret-value');
    expect(withKey.tls).toBe(true);
    expect(connectionOptions(withKey)).toEqual({
      address: 'eu.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'secret-value',
    });
    const missing = error(() => loadConfig({ env: {}, cwd: dir, flags: { config: cloud } }));
    expect(missing.code).toBe('E-CONFIG-API-KEY');
    expect(missing.message).not.toContain('secret');
  });
});
