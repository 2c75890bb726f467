import type { Migration } from './index.js';

/**
 * API keys of the HTTP front door. A key is `sy-<id>-<secret>`: `id` is public (the primary key),
 * and only `key_sha256`, the sha256 of the whole key, is kept. `api_keys_version` is the single
 * row every create, revoke and rotate bumps, so a front door that caches keys sees a revocation
 * with one cheap read.
 */
export const apiKeys: Migration = {
  version: 5,
  name: 'api-keys',
  sqlite: `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  app TEXT,
  policy TEXT,
  admin INTEGER NOT NULL,
  key_sha256 TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  revoked_ms INTEGER
);
CREATE TABLE api_keys_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO api_keys_version (id, version) VALUES (1, 0);
`,
  postgres: `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  app TEXT,
  policy TEXT,
  admin INTEGER NOT NULL,
  key_sha256 TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT,
  revoked_ms BIGINT
);
CREATE TABLE api_keys_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO api_keys_version (id, version) VALUES (1, 0);
`,
};
