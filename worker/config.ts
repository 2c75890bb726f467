/**
 * Configuration of workers and of the CLI's Temporal connection, from (strongest first) command-line
 * flags, the environment, an optional `switchyard.yaml`, and defaults.
 *
 * | setting    | flag            | environment              | switchyard.yaml          | default          |
 * |------------|-----------------|--------------------------|--------------------------|------------------|
 * | address    | `--address`     | `SWITCHYARD_ADDRESS`     | `address`                | `127.0.0.1:7233` |
 * | namespace  | `--namespace`   | `SWITCHYARD_NAMESPACE`   | `namespace`              | `default`        |
 * | task queue | `--task-queue`  | `SWITCHYARD_TASK_QUEUE`  | `taskQueue`              | `switchyard`     |
 * | policies   | `--policies`    |                          | `policies`               |                  |
 * | queues     | `--queues a,b`  |                          | `queues: [a, b]`         | all              |
 * | TLS        | `--tls`         |                          | `tls: true` or `{serverName, caFile, certFile, keyFile}` | off |
 * | API key    | `--api-key-env` |                          | `apiKey: { env: NAME }`  |                  |
 * | store      | `--store`       | `SWITCHYARD_STORE`       | `store`                  | `sqlite:.switchyard/state.db` |
 * | attempts   | `--attempts`    | `SWITCHYARD_ATTEMPTS`    | `attempts: local\|remote` | `remote`        |
 * | front door | (`serve` flags) | (`SWITCHYARD_HTTP_*`)    | `http: {port, host, maxBody, relayUrl}` | docs/http.md |
 * | alerts     |                 |                          | `alerts: {thresholds, checkSeconds, webhooks}` | none; docs/operations.md |
 * | metrics    | `--metrics-port`, `--metrics-host` | `SWITCHYARD_METRICS_PORT`, `_HOST` | `metrics: {port, host}` | off (workers); docs/operations.md |
 * | the file   | `--config`      | `SWITCHYARD_CONFIG`      |                          | `./switchyard.yaml` if present |
 *
 * Paths in the file are relative to the file. An API key is never written in the file: it names an
 * environment variable (as `api-key env` does in policies). An API key turns TLS on unless `tls:
 * false` says otherwise. An unknown key in the file is an error naming the key and the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import type { AlertsConfig } from '../operations/alerts.js';

/** store/index.ts's default (not imported: that would load the database drivers for every command). */
const DEFAULT_STORE_URL = 'sqlite:.switchyard/state.db';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_TASK_QUEUE = 'switchyard';
export const CONFIG_FILE = 'switchyard.yaml';

/** A configuration problem: one line, with a code. */
export class ConfigError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** TLS as `@temporalio/client` and `@temporalio/worker` take it. */
export interface TlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface SwitchyardConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** `undefined`: plain connection. */
  tls: TlsOptions | true | undefined;
  /** The API key's value, read from the variable the configuration names. */
  apiKey: string | undefined;
  /** Absolute. */
  policies: string | undefined;
  queues: string[] | undefined;
  /**
   * The ledger and audit store (`sqlite:PATH` or `postgres://…`); a relative SQLite path in the
   * file is relative to the file.
   */
  store: string;
  /**
   * Attempts for provider queues this worker also serves: `local` activities of the workflow's
   * worker (no round trip through the server) or `remote`, always through the provider's queue.
   */
  attempts: 'local' | 'remote';
  /** The front door's settings from the file (`switchyard serve`; its flags and variables win). */
  http: { port?: number; host?: string; maxBody?: string; relayUrl?: string };
  /** A worker's metrics listener from the file (`switchyard worker`, `dev`; flags and variables win). */
  metrics: { port?: number; host?: string };
  /** Budget alerts to webhooks (docs/operations.md "Alerts"); `undefined`: none. */
  alerts: AlertsConfig | undefined;
  /** The file read, if any (absolute). */
  file: string | undefined;
}

export interface ConfigFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  policies?: string;
  queues?: string[];
  config?: string;
  tls?: boolean;
  apiKeyEnv?: string;
  store?: string;
  attempts?: string;
}

interface FileConfig {
  store?: string;
  attempts?: 'local' | 'remote';
  http?: { port?: number; host?: string; maxBody?: string; relayUrl?: string };
  metrics?: { port?: number; host?: string };
  alerts?: {
    thresholds?: number[];
    checkSeconds?: number;
    webhooks: { name: string; url: string; format?: 'slack' | 'json'; secretEnv?: string }[];
  };
  address?: string;
  namespace?: string;
  taskQueue?: string;
  policies?: string;
  queues?: string[];
  tls?: boolean | { serverName?: string; caFile?: string; certFile?: string; keyFile?: string };
  apiKey?: { env: string };
}

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    address: { type: 'string', minLength: 1 },
    namespace: { type: 'string', minLength: 1 },
    taskQueue: { type: 'string', minLength: 1 },
    policies: { type: 'string', minLength: 1 },
    queues: { type: 'array', items: { type: 'string', minLength: 1 } },
    store: { type: 'string', minLength: 1 },
    attempts: { enum: ['local', 'remote'] },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1 },
        maxBody: { type: 'string', minLength: 1 },
        relayUrl: { type: 'string', minLength: 1 },
      },
    },
    alerts: {
      type: 'object',
      additionalProperties: false,
      required: ['webhooks'],
      properties: {
        thresholds: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 1000 } },
        checkSeconds: { type: 'number', exclusiveMinimum: 0 },
        webhooks: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'url'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
              url: { type: 'string', minLength: 1 },
              format: { enum: ['slack', 'json'] },
              secretEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            },
          },
        },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1 },
      },
    },
    tls: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            serverName: { type: 'string' },
            caFile: { type: 'string' },
            certFile: { type: 'string' },
            keyFile: { type: 'string' },
          },
        },
      ],
    },
    apiKey: {
      type: 'object',
      additionalProperties: false,
      required: ['env'],
      properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
    },
  },
} as const;

let validateFile: ReturnType<Ajv['compile']> | undefined;

/** Resolves the configuration; throws {@link ConfigError}. */
export function loadConfig(
  options: { flags?: ConfigFlags; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): SwitchyardConfig {
  const flags = options.flags ?? {};
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();

  let file: string | undefined;
  if (flags.config !== undefined) file = path.resolve(cwd, flags.config);
  else if (env.SWITCHYARD_CONFIG) file = path.resolve(cwd, env.SWITCHYARD_CONFIG);
  else if (fs.existsSync(path.join(cwd, CONFIG_FILE))) file = path.join(cwd, CONFIG_FILE);
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const fileDir = file === undefined ? cwd : path.dirname(file);
  const label = file === undefined ? '' : displayPath(file, cwd);

  const pick = (flag: string | undefined, envName: string, fileValue: string | undefined, fallback: string) =>
    nonEmpty(flag) ?? nonEmpty(env[envName]) ?? fileValue ?? fallback;

  const policies =
    flags.policies ?? (fromFile.policies ? path.resolve(fileDir, fromFile.policies) : undefined);
  const queues = flags.queues ?? fromFile.queues;

  const apiKeyEnv = flags.apiKeyEnv ?? fromFile.apiKey?.env;
  let apiKey: string | undefined;
  if (apiKeyEnv !== undefined) {
    apiKey = nonEmpty(env[apiKeyEnv]);
    if (apiKey === undefined) {
      throw new ConfigError(
        'E-CONFIG-API-KEY',
        `the Temporal API key variable ${apiKeyEnv} is not set${label ? ` (named in ${label})` : ''}`,
      );
    }
  }

  let tls: SwitchyardConfig['tls'];
  const fileTls = fromFile.tls;
  if (flags.tls === true) tls = true;
  if (typeof fileTls === 'object') tls = tlsFromFile(fileTls, fileDir, label);
  else if (fileTls === true) tls ??= true;
  if (tls === undefined && apiKey !== undefined && fileTls !== false) tls = true;

  return {
    address: pick(flags.address, 'SWITCHYARD_ADDRESS', fromFile.address, DEFAULT_ADDRESS),
    namespace: pick(flags.namespace, 'SWITCHYARD_NAMESPACE', fromFile.namespace, DEFAULT_NAMESPACE),
    taskQueue: pick(flags.taskQueue, 'SWITCHYARD_TASK_QUEUE', fromFile.taskQueue, DEFAULT_TASK_QUEUE),
    tls,
    apiKey,
    policies: policies === undefined ? undefined : path.resolve(cwd, policies),
    queues: queues && queues.length > 0 ? queues : undefined,
    store: pick(flags.store, 'SWITCHYARD_STORE', fileStore(fromFile.store, fileDir), DEFAULT_STORE_URL),
    attempts: attemptsMode(pick(flags.attempts, 'SWITCHYARD_ATTEMPTS', fromFile.attempts, 'remote')),
    http: fromFile.http ?? {},
    metrics: fromFile.metrics ?? {},
    alerts:
      fromFile.alerts === undefined
        ? undefined
        : {
            ...fromFile.alerts,
            webhooks: fromFile.alerts.webhooks.map((w) => ({ ...w, format: w.format ?? 'json' })),
          },
    file,
  };
}

function attemptsMode(value: string): 'local' | 'remote' {
  if (value === 'local' || value === 'remote') return value;
  throw new ConfigError('E-CONFIG-ATTEMPTS', `attempts must be local or remote, not '${value}'`);
}

/** What `Connection.connect` and `NativeConnection.connect` take. */
export function connectionOptions(config: SwitchyardConfig): {
  address: string;
  tls?: TlsOptions | true;
  apiKey?: string;
} {
  return {
    address: config.address,
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
  };
}

/** Reads and validates a `switchyard.yaml`. */
export function readConfigFile(file: string): FileConfig {
  const label = displayPath(file, process.cwd());
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'E-CONFIG-FILE',
      code === 'ENOENT' ? `no such file: ${label}` : `cannot read ${label}: ${code ?? 'error'}`,
    );
  }
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problem = document.errors[0];
  if (problem) {
    const at = problem.linePos?.[0];
    const where = at ? `${label}:${at.line}:${at.col}` : label;
    throw new ConfigError('E-CONFIG-YAML', `${where}: ${problem.message.split('\n')[0]}`);
  }
  const value: unknown = document.toJS() ?? {};
  validateFile ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(FILE_SCHEMA);
  if (!validateFile(value)) {
    // The most telling problem first: an unknown key, then a missing one, then the rest.
    const errors = validateFile.errors ?? [];
    const rank = (e: ErrorObject) =>
      e.keyword === 'additionalProperties' ? 0 : e.keyword === 'required' ? 1 : e.keyword === 'anyOf' ? 3 : 2;
    const first = [...errors].sort((a, b) => rank(a) - rank(b))[0]!;
    throw new ConfigError('E-CONFIG-INVALID', `${label}: ${describe(first)}`);
  }
  return value as FileConfig;
}

function describe(error: ErrorObject): string {
  const at = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : '';
  const key = (name: string) => (at ? `${at}.${name}` : name);
  switch (error.keyword) {
    case 'additionalProperties': {
      const unknown = String(error.params.additionalProperty);
      const known =
        at === 'tls'
          ? ['serverName', 'caFile', 'certFile', 'keyFile']
          : at === 'http'
            ? ['port', 'host', 'maxBody', 'relayUrl']
            : at === 'metrics'
              ? ['port', 'host']
              : at === 'alerts'
                ? ['thresholds', 'checkSeconds', 'webhooks']
                : /^alerts\.webhooks\.\d+$/.test(at)
                  ? ['name', 'url', 'format', 'secretEnv']
                  : Object.keys(FILE_SCHEMA.properties);
      const close = known.find((k) => similar(k, unknown));
      return `unknown key '${key(unknown)}'${close ? ` (did you mean '${key(close)}'?)` : ''}; known keys: ${known.join(', ')}`;
    }
    case 'required':
      return `'${key(String(error.params.missingProperty))}' is required`;
    case 'type':
      return `'${at || '(file)'}' must be ${String(error.params.type)}`;
    case 'anyOf':
      return `'${at}' must be true, false or a mapping of serverName, caFile, certFile, keyFile`;
    default:
      return `'${at || '(file)'}' ${error.message ?? 'is invalid'}`;
  }
}

function tlsFromFile(
  tls: { serverName?: string; caFile?: string; certFile?: string; keyFile?: string },
  dir: string,
  label: string,
): TlsOptions {
  const read = (name: string, file: string): Buffer => {
    try {
      return fs.readFileSync(path.resolve(dir, file));
    } catch (err) {
      throw new ConfigError(
        'E-CONFIG-TLS',
        `${label}: tls.${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError('E-CONFIG-TLS', `${label}: tls.certFile and tls.keyFile go together`);
  }
  const out: TlsOptions = {};
  if (tls.serverName) out.serverNameOverride = tls.serverName;
  if (tls.caFile) out.serverRootCACertificate = read('caFile', tls.caFile);
  if (tls.certFile && tls.keyFile) {
    out.clientCertPair = { crt: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) };
  }
  return out;
}

/** `store:` of a file: a relative `sqlite:` path is relative to the file. */
function fileStore(value: string | undefined, dir: string): string | undefined {
  if (value === undefined) return undefined;
  const sqlite = /^sqlite:(.*)$/i.exec(value);
  if (sqlite === null || sqlite[1] === undefined || path.isAbsolute(sqlite[1]) || sqlite[1] === ':memory:')
    return value;
  return `sqlite:${path.resolve(dir, sqlite[1])}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y || x.includes(y) || y.includes(x)) return true;
  // One edit apart (a typo).
  if (Math.abs(x.length - y.length) > 1) return false;
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return x.slice(i + 1) === y.slice(i + 1) || x.slice(i + 1) === y.slice(i) || x.slice(i) === y.slice(i + 1);
}

function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
