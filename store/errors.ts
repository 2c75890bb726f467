/** A store failure the user can act on (bad URL, missing file, unreachable server, schema too new). */
export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; other text unchanged. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** The password of a URL, if it has one (to scrub it from error messages). */
export function urlPassword(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.password ? decodeURIComponent(parsed.password) : null;
  } catch {
    return null;
  }
}
