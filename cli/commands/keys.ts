import { openStore, storeUrl } from '../../store/index.js';
import type { CreatedKey, KeyRecord, Store } from '../../store/types.js';
import { parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { asCliError, openForReading } from './store-access.js';

export const keysUsage = `usage: switchyard keys create --team T [--app A] [--policy P] [--expires 90d] [--admin]
                            [--store URL] [--format text|json]
       switchyard keys list [--store URL] [--format text|json]
       switchyard keys revoke ID [--store URL] [--format text|json]
       switchyard keys rotate ID [--store URL] [--format text|json]

API keys of the HTTP front door (switchyard serve). A request's team and app come from its key.
  create  prints a new key (on stdout, alone) and its id; the key is shown this once: the store
          keeps only its hash. --policy is the key's default policy; --expires is a duration
          (30d, 12h, 2w) or a date (2027-03-01), default never; --admin makes a key for the
          console and the operations endpoints, which sends no inference requests
  list    one key a line, id first: ID TEAM APP POLICY CREATED EXPIRES STATUS
  revoke  refuses the key from now on, also in front doors that cached it
  rotate  prints a new key with the same team, app, policy and lifetime, and revokes the old one
The store is --store URL, else SWITCHYARD_STORE, else sqlite:.switchyard/state.db.
Exit status: 0 done, 1 errors (an unknown or revoked id), 2 usage.`;

const SUBCOMMANDS = ['create', 'list', 'revoke', 'rotate'];
const UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `90d`, `12h`, `2w`, `30m` from now, or an ISO date or time; `never` is `null`. */
export function parseExpiry(text: string, now: number): number | null {
  if (text === 'never') return null;
  const relative = /^([1-9]\d{0,5})(m|h|d|w)$/.exec(text);
  if (relative) return now + Number(relative[1]) * UNITS[relative[2] as keyof typeof UNITS];
  const absolute = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(absolute)) {
    throw new Error(
      `--expires ${text}: expected a duration (30d, 12h, 2w, 90m), a date (2027-03-01), a time (2027-03-01T12:00:00Z) or never`,
    );
  }
  if (absolute <= now) throw new Error(`--expires ${text}: that is in the past`);
  return absolute;
}

function iso(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A record for JSON output: times as ISO 8601. */
function jsonRecord(r: KeyRecord): Record<string, unknown> {
  return {
    ...r,
    createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
  };
}

function describe(r: KeyRecord): string {
  const what = r.admin ? 'an admin key' : `app ${r.app ?? '-'}, policy ${r.policy ?? '-'}`;
  return `team ${r.team} (${what}), expires ${iso(r.expiresAt)}`;
}

function table(records: KeyRecord[]): string {
  const rows = [
    ['ID', 'TEAM', 'APP', 'POLICY', 'CREATED', 'EXPIRES', 'STATUS'],
    ...records.map((r) => [
      r.id,
      r.team,
      r.app ?? '-',
      // An admin key sends no inference requests, so it has no policy.
      r.admin ? '(admin)' : (r.policy ?? '-'),
      iso(r.createdAt),
      iso(r.expiresAt),
      r.status,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  '))
    .join('\n');
}

function created(result: CreatedKey, format: string, note: string): CommandResult {
  if (format === 'json') {
    return { stdout: JSON.stringify({ key: result.key, record: jsonRecord(result.record) }, null, 2) };
  }
  // The key alone on stdout (KEY=$(switchyard keys create …)); what it is, for people, on stderr.
  return {
    stdout: result.key,
    stderr: `${note}key ${result.record.id}: ${describe(result.record)}. It is shown only this once: the store keeps only its hash.`,
  };
}

export async function keys(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      store: { type: 'string' },
      format: { type: 'string' },
      team: { type: 'string' },
      app: { type: 'string' },
      policy: { type: 'string' },
      expires: { type: 'string' },
      admin: { type: 'boolean' },
    },
    keysUsage,
  );
  if (values.help) return { stdout: keysUsage, exitCode: 0 };
  const [sub, ...rest] = positionals;
  if (sub === undefined || !SUBCOMMANDS.includes(sub)) {
    return {
      usage: `expected 'keys create', 'keys list', 'keys revoke ID' or 'keys rotate ID'\n${keysUsage}`,
    };
  }
  const takesId = sub === 'revoke' || sub === 'rotate';
  if (takesId && rest.length !== 1)
    return { usage: `'keys ${sub}' takes one key id (see 'switchyard keys list')` };
  if (!takesId && rest.length > 0) return { usage: `'keys ${sub}' takes no arguments, got '${rest[0]}'` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') return { usage: `--format ${format}: expected text or json` };
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const createOnly = ['team', 'app', 'policy', 'expires', 'admin'].filter(
    (name) => values[name] !== undefined,
  );
  if (sub !== 'create' && createOnly.length > 0) return { usage: `--${createOnly[0]} is for 'keys create'` };

  if (sub === 'create') {
    const team = str('team');
    if (team === undefined || team.trim() === '') return { usage: `'keys create' needs --team T` };
    for (const name of ['app', 'policy'] as const) {
      if (str(name)?.trim() === '') return { usage: `--${name} needs a name` };
    }
    if (values.admin === true && str('policy') !== undefined) {
      return { usage: '--admin: an admin key sends no inference requests, so --policy does not apply' };
    }
    const now = Date.now();
    let expiresAt: number | null;
    try {
      expiresAt = str('expires') === undefined ? null : parseExpiry(str('expires')!, now);
    } catch (error) {
      return { usage: (error as Error).message };
    }
    // The first key may be made before any worker ran: create the store when missing.
    let store: Store;
    try {
      store = await openStore(str('store') ?? storeUrl());
    } catch (error) {
      throw asCliError(error);
    }
    try {
      const result = await store.createKey(
        {
          team,
          app: str('app') ?? null,
          policy: str('policy') ?? null,
          admin: values.admin === true,
          expiresAt,
        },
        now,
      );
      return created(result, format, 'created ');
    } catch (error) {
      throw asCliError(error);
    } finally {
      await store.close();
    }
  }

  const store = await openForReading(str('store'));
  try {
    if (sub === 'list') {
      const records = await store.listKeys();
      if (format === 'json') return { stdout: JSON.stringify(records.map(jsonRecord), null, 2) };
      return { stdout: records.length === 0 ? 'no API keys' : table(records) };
    }
    const id = rest[0]!;
    if (sub === 'rotate') {
      const result = await store.rotateKey(id);
      return created(result, format, `revoked key ${id}; new `);
    }
    const now = Date.now();
    const record = await store.revokeKey(id, now);
    if (format === 'json') return { stdout: JSON.stringify(jsonRecord(record), null, 2) };
    // Revoking twice keeps the first revocation's time.
    return {
      stdout:
        record.revokedAt === now
          ? `revoked key ${id}: ${describe(record)}; refused from now on`
          : `key ${id} was already revoked at ${iso(record.revokedAt)}`,
    };
  } catch (error) {
    throw asCliError(error);
  } finally {
    await store.close();
  }
}
