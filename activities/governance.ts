/**
 * The governance activities the request driver calls (contract/activities.ts
 * `GovernanceActivities`): the ledger (ledger.ts: snapshot, reserve, settle, admitRateLimits) and
 * the audit log (audit.ts: appendAudit), over one store and one clock.
 */
import type { GovernanceActivities } from '../contract/index.js';
import type { Store } from '../store/types.js';
import { createAuditActivities, type AuditOptions } from './audit.js';
import { createLedgerActivities } from './ledger.js';

export { buildAuditRecord, createAuditActivities, type AuditOptions } from './audit.js';
export {
  budgetDefinition,
  budgetDefinitions,
  createLedgerActivities,
  ledgerName,
  RESERVATION_MARGIN_MS,
  type LedgerOptions,
} from './ledger.js';

export type GovernanceOptions = AuditOptions;

export function createGovernanceActivities(
  store: Store,
  options: GovernanceOptions = {},
): GovernanceActivities {
  return { ...createLedgerActivities(store, options), ...createAuditActivities(store, options) };
}
