/**
 * `openStore(url)`: the ledger, rate limits and audit trail, on SQLite or PostgreSQL by URL
 * (docs/cli.md: `SWITCHYARD_STORE`, default `sqlite:.switchyard/state.db`; `postgres://…`).
 */
import { StoreError, maskUrl } from './errors.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import type { Store, StoreOptions } from './types.js';

export const DEFAULT_STORE_URL = 'sqlite:.switchyard/state.db';

/** The store URL the environment names (`SWITCHYARD_STORE`), else the default. */
export function storeUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.SWITCHYARD_STORE?.trim();
  return url ? url : DEFAULT_STORE_URL;
}

/** Opens (and migrates) the store at `url`; default: `storeUrl()`. */
export async function openStore(url: string = storeUrl(), options: StoreOptions = {}): Promise<Store> {
  if (/^sqlite:/i.test(url)) return openSqlite(url, options);
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, options);
  throw new StoreError(
    'E-STORE-URL',
    `unsupported store URL ${maskUrl(url)}: expected sqlite:PATH or postgres://user@host:port/db`,
  );
}

export { StoreError, maskUrl } from './errors.js';
export { windowStart, windowEnd, untilWindowReset } from './windows.js';
export { canonicalJson, sha256, GENESIS_HASH } from './canonical.js';
export { scrubSecrets, makeScrubber, secretsFromEnv, SECRET_MARK } from './scrub.js';
export { MIGRATIONS } from './migrations/index.js';
export * from './types.js';
