import type { Migration } from './index.js';

/**
 * What `switchyard replay` reads of each audit record without parsing its body (docs/what-if.md,
 * "Replay"): copies of hashed fields, checked by `verify` like the other columns. `routing` is the
 * canonical JSON of the record's routing facts but their caller (team, app, user: the
 * columns of those names) and their input-token count, which is `input_tokens` (so that records
 * that differ only in who asked and how much share one text), with how the prompt was kept
 * (`prompts`: the body is read only for a prompt kept in full); `rule` is the rule
 * that rejected the request at its decision (`extra.rule`); `usage_input`, `usage_output` and
 * `cost_nanos` are its usage and cost. All NULL for records without routing facts (written before
 * they were kept, and `interrupted` records).
 */
export const auditRouting: Migration = {
  version: 8,
  name: 'audit-routing',
  sqlite: `
ALTER TABLE audit_records ADD COLUMN routing TEXT;
ALTER TABLE audit_records ADD COLUMN input_tokens INTEGER;
ALTER TABLE audit_records ADD COLUMN route TEXT;
ALTER TABLE audit_records ADD COLUMN rule TEXT;
ALTER TABLE audit_records ADD COLUMN usage_input INTEGER;
ALTER TABLE audit_records ADD COLUMN usage_output INTEGER;
ALTER TABLE audit_records ADD COLUMN cost_nanos INTEGER;
`,
  postgres: `
ALTER TABLE audit_records ADD COLUMN routing TEXT;
ALTER TABLE audit_records ADD COLUMN input_tokens BIGINT;
ALTER TABLE audit_records ADD COLUMN route TEXT;
ALTER TABLE audit_records ADD COLUMN rule TEXT;
ALTER TABLE audit_records ADD COLUMN usage_input BIGINT;
ALTER TABLE audit_records ADD COLUMN usage_output BIGINT;
ALTER TABLE audit_records ADD COLUMN cost_nanos BIGINT;
`,
};
