/**
 * A defensive scrub of secrets from anything the store keeps (audit records) or says (errors).
 * Nothing upstream should ever hand the store an API key; this is the last line, not the first.
 *
 * Removed, each replaced by `[SECRET]`:
 * - every known secret value (the caller's, and the values of environment variables whose name
 *   says they hold one: `*_KEY`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*CREDENTIAL*` …), wherever
 *   it appears inside a string;
 * - the string value of any property named like a credential (`apiKey`, `authorization`,
 *   `password`, `secret`, `accessToken` …);
 * - text shaped like a credential: `Bearer …`, `sk-…` API keys, Switchyard keys (`sy-<id>-…`: the
 *   id is kept), AWS access key ids, GitHub and Slack tokens, PEM private keys, and the password of
 *   a `scheme://user:password@host` URL.
 */

export const SECRET_MARK = '[SECRET]';

/** Secret values shorter than this are not searched for (they would match ordinary text). */
const MIN_SECRET_LENGTH = 8;

const SECRET_ENV_NAME =
  /(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|PRIVATE_?KEY|ACCESS_?KEY)(?:_|$)|TOKEN|SECRET|PASSWORD/i;

const SECRET_PROPERTY =
  /^(?:api[-_]?key|x-api-key|authorization|proxy-authorization|password|passwd|passphrase|secret|client[-_]?secret|access[-_]?token|refresh[-_]?token|id[-_]?token|private[-_]?key|credentials?)$/i;

const SECRET_PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, SECRET_MARK],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${SECRET_MARK}`],
  [/\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}/g, SECRET_MARK],
  // Switchyard's own API keys (keys.ts): the id is public and says which key leaked.
  [/\b(sy-[0-9a-f]{12}-)[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, `$1${SECRET_MARK}`],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, SECRET_MARK],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, SECRET_MARK],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, SECRET_MARK],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${SECRET_MARK}@`],
];

/**
 * What every pattern above needs to match (each of its alternatives is a literal that pattern
 * requires): text without any of them is left as it is. Keep it in step with SECRET_PATTERNS.
 */
const MAYBE_SECRET = /-----BEGIN |Bearer|Basic|sk-|sy-|AKIA|ASIA|gh[pousr]_|xox[abprs]-|:\/\//;

/** Values of environment variables whose names say they hold a secret. */
export function secretsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH) continue;
    if (SECRET_ENV_NAME.test(name)) values.push(value);
  }
  return values;
}

/** A scrubber for a fixed set of secret values (longest first, so a secret containing another goes whole). */
export function makeScrubber(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
  return (text: string): string => {
    let out = text;
    for (const value of values) if (out.includes(value)) out = out.split(value).join(SECRET_MARK);
    // Most text holds nothing shaped like a credential: one scan instead of one per pattern.
    if (!MAYBE_SECRET.test(out)) return out;
    for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/**
 * `value` as plain JSON (what `JSON.stringify` keeps: no `undefined`, no class instances) with
 * every secret scrubbed, in one pass: the same as `scrubSecrets(JSON.parse(JSON.stringify(value)))`.
 */
export function scrubbedJson<T>(value: T, scrub: (text: string) => string): T {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) => {
      if (typeof v !== 'string') return v;
      if (SECRET_PROPERTY.test(key) && v.length > 0) return SECRET_MARK;
      return scrub(v);
    }),
  ) as T;
}

/** A deep copy of `value` with every secret scrubbed (see the module comment). */
export function scrubSecrets<T>(value: T, scrub: (text: string) => string): T {
  return walk(value, scrub, null) as T;
}

function walk(value: unknown, scrub: (text: string) => string, key: string | null): unknown {
  if (typeof value === 'string') {
    if (key !== null && SECRET_PROPERTY.test(key) && value.length > 0) return SECRET_MARK;
    return scrub(value);
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, scrub, null));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = walk(v, scrub, k);
    return out;
  }
  return value;
}
