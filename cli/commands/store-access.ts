/** Opening the store for the read commands (`budget`, `audit`): errors become one line with a code. */
import { openStore, storeUrl, StoreError } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { CliError } from '../args.js';

/** The store named by `--store`, else `SWITCHYARD_STORE`, else the default; a missing SQLite file is an error. */
export async function openForReading(url: string | undefined): Promise<Store> {
  try {
    return await openStore(url ?? storeUrl(), { create: false });
  } catch (error) {
    throw asCliError(error);
  }
}

export function asCliError(error: unknown): unknown {
  if (error instanceof StoreError) return new CliError(error.code, error.message);
  return error;
}

/** `2026-11-27`, `2026-11-27T10:00:00Z`, or a duration ago: `30m`, `2h`, `7d`, `1w`. */
export function parseTime(text: string, option: string, now: number = Date.now()): number {
  const relative = /^(\d+)(s|m|h|d|w)$/.exec(text);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[relative[2] as 's'];
    return now - Number(relative[1]) * unit;
  }
  const absolute = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(absolute)) {
    throw new CliError(
      'E-TIME',
      `${option} ${text}: expected an ISO 8601 date or time (2026-11-27, 2026-11-27T10:00:00Z) or a duration ago (30m, 2h, 7d)`,
      2,
    );
  }
  return absolute;
}
