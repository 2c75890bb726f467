import type { Migration } from './index.js';

/**
 * Audit retention (`audit { retain N days }`). `expires_ms` is when a record may be deleted
 * (`time_ms` + the policy's retention; NULL = kept forever). The chain can only lose a prefix: the
 * head row's `floor_seq` / `floor_hash` name the last record pruned (0 and the genesis hash while
 * none was), where verification of the remaining chain starts.
 */
export const auditRetention: Migration = {
  version: 4,
  name: 'audit-retention',
  sqlite: `
ALTER TABLE audit_records ADD COLUMN expires_ms INTEGER;
ALTER TABLE audit_head ADD COLUMN floor_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN floor_hash TEXT NOT NULL DEFAULT 'sha256:0000000000000000000000000000000000000000000000000000000000000000';
`,
  postgres: `
ALTER TABLE audit_records ADD COLUMN expires_ms BIGINT;
ALTER TABLE audit_head ADD COLUMN floor_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN floor_hash TEXT NOT NULL DEFAULT 'sha256:0000000000000000000000000000000000000000000000000000000000000000';
`,
};
