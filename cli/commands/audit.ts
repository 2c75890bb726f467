import { AUDIT_STATUSES, type AuditQuery, type AuditRecord } from '../../store/types.js';
import { parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { asCliError, openForReading, parseTime } from './store-access.js';

export const auditUsage = `usage: switchyard audit verify [--store URL] [--format text|json]
       switchyard audit tail [-n N] [--store URL] [--format text|json]
       switchyard audit query [--team T] [--app A] [--user U] [--policy P] [--model M]
                              [--status served|rejected|failed|interrupted]
                              [--since TIME] [--until TIME] [--limit N] [--store URL] [--format text|json]
       switchyard audit prune [--store URL] [--format text|json]

Reads the audit trail: one record per request, each carrying the hash of the previous one.
  verify  recomputes the whole chain from where it starts (after the records pruned by
          retention); names the first broken record (exit 1)
  prune   deletes the records past their policy's 'audit { retain N days }', oldest first: a
          record goes once it and every older record are past their retention (a record of a
          policy without retain is kept forever, and so is every record after it); workers do
          this every hour
  tail    the last N records (default 20), oldest first
  query   the most recent matching records (default limit 100), oldest first; --model matches the
          model that answered or any attempted one; TIME is 2026-11-27, 2026-11-27T10:00:00Z, or a
          duration ago (30m, 2h, 7d); --since is inclusive, --until exclusive
The store is --store URL, else SWITCHYARD_STORE, else sqlite:.switchyard/state.db.
Exit status: 0 done (verify: the chain is intact), 1 errors or a broken chain, 2 usage.`;

const SUBCOMMANDS = ['verify', 'tail', 'query', 'prune'];

function recordCount(n: number): string {
  return `${n} record${n === 1 ? '' : 's'}`;
}

// `interrupted`: a direct-mode request whose front door stopped mid-request (docs/store.md).
const STATUSES = AUDIT_STATUSES;

function caller(r: AuditRecord): string {
  return [r.caller.team, r.caller.app, r.caller.user].map((v) => v ?? '-').join('/');
}

export function auditLine(r: AuditRecord): string {
  const models =
    r.attempts.length > 0
      ? `${r.model ?? '-'} (${r.attempts.length} attempt${r.attempts.length === 1 ? '' : 's'})`
      : (r.model ?? '-');
  const reason = r.reason ? `  "${r.reason}"` : '';
  return `${r.time}  #${r.seq}  ${r.id}  ${r.status.padEnd(8)} ${caller(r)}  ${r.policy}/${r.route ?? '-'}  ${models}  $${r.cost}  ${r.hash.slice(0, 19)}…${reason}`;
}

function positiveInt(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9]\d{0,6}$/.test(text)) throw new Error(`${option} ${text}: expected a positive number`);
  return Number(text);
}

export async function audit(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      store: { type: 'string' },
      format: { type: 'string' },
      n: { type: 'string', short: 'n' },
      team: { type: 'string' },
      app: { type: 'string' },
      user: { type: 'string' },
      policy: { type: 'string' },
      model: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
    auditUsage,
  );
  if (values.help) return { stdout: auditUsage, exitCode: 0 };
  const [sub, ...extra] = positionals;
  if (sub === undefined || !SUBCOMMANDS.includes(sub) || extra.length > 0) {
    return {
      usage: `expected 'audit verify', 'audit tail', 'audit query' or 'audit prune'\n${auditUsage}`,
    };
  }
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') return { usage: `--format ${format}: expected text or json` };
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const queryOnly = ['team', 'app', 'user', 'policy', 'model', 'status', 'since', 'until', 'limit'].filter(
    (name) => values[name] !== undefined,
  );
  if (sub !== 'query' && queryOnly.length > 0) return { usage: `--${queryOnly[0]} is for 'audit query'` };
  if (sub !== 'tail' && values.n !== undefined) return { usage: `-n is for 'audit tail'` };

  let query: AuditQuery = {};
  let n = 20;
  try {
    n = positiveInt(str('n'), '-n', 20);
    if (sub === 'query') {
      const status = str('status');
      if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
        return { usage: `--status ${status}: expected served, rejected, failed or interrupted` };
      }
      query = {
        team: str('team'),
        app: str('app'),
        user: str('user'),
        policy: str('policy'),
        model: str('model'),
        status: status as AuditQuery['status'],
        since: str('since') === undefined ? undefined : parseTime(str('since')!, '--since'),
        until: str('until') === undefined ? undefined : parseTime(str('until')!, '--until'),
        limit: positiveInt(str('limit'), '--limit', 100),
      };
    }
  } catch (error) {
    if (error instanceof Error && !('code' in error)) return { usage: error.message };
    throw error;
  }

  const store = await openForReading(str('store'));
  try {
    if (sub === 'verify') {
      const result = await store.verifyAudit();
      if (format === 'json') return { stdout: JSON.stringify(result, null, 2), exitCode: result.ok ? 0 : 1 };
      // Records pruned by retention are not verified: say where the verified chain starts.
      const n = result.pruned;
      if (result.ok) {
        const pruned =
          n > 0
            ? `; ${n} older record${n === 1 ? ' was' : 's were'} pruned by retention (the chain starts after #${n})`
            : '';
        return {
          stdout: `audit chain intact: ${recordCount(result.count)}, head ${result.head}${pruned}`,
          exitCode: 0,
        };
      }
      const where =
        result.broken.id === null
          ? `at the chain head (#${result.broken.seq})`
          : `at record #${result.broken.seq} (${result.broken.id})`;
      return {
        stderr: `error E-AUDIT-BROKEN audit chain broken ${where}: ${result.broken.reason} (${recordCount(result.count)} before it verified${n > 0 ? `, after the ${n} pruned by retention` : ''})`,
        exitCode: 1,
      };
    }
    if (sub === 'prune') {
      const result = await store.pruneAudit(Date.now());
      const exitCode = result.broken === undefined ? 0 : 1;
      if (format === 'json') return { stdout: JSON.stringify(result, null, 2), exitCode };
      const starts = result.floorSeq === 0 ? 'starts at #1' : `now starts after #${result.floorSeq}`;
      return {
        stdout: `pruned ${recordCount(result.deleted)}; the chain ${starts}`,
        ...(result.broken === undefined
          ? {}
          : {
              stderr: `error E-AUDIT-BROKEN pruning stopped at record #${result.broken.seq} (${result.broken.id}): ${result.broken.reason}; run 'switchyard audit verify'`,
            }),
        exitCode,
      };
    }
    const records = sub === 'tail' ? await store.tailAudit(n) : await store.queryAudit(query);
    if (format === 'json') return { stdout: JSON.stringify(records, null, 2), exitCode: 0 };
    return {
      stdout: records.length === 0 ? 'no audit records' : records.map(auditLine).join('\n'),
      exitCode: 0,
    };
  } catch (error) {
    throw asCliError(error);
  } finally {
    await store.close();
  }
}
