/**
 * Hashes for the audit chain: sha256 over the record's canonical JSON, which is the plan's own
 * canonical form (plan/canonical.ts: sorted keys, no whitespace, `undefined` properties left out,
 * anything JSON cannot carry refused) — one definition, so a record and a plan hash the same way
 * (docs/architecture.md: the store may import plan/'s pure helpers).
 */
import { createHash } from 'node:crypto';

export { canonicalJson } from '../plan/canonical.js';

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/** The `prevHash` of the first record. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;
