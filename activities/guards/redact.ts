/**
 * PII redaction for `before` guards' `redact` (docs/language.md §4.4, §6 step 6): pure functions
 * over text. The attempt activity applies them to the messages sent to the models the guard names
 * (the chain entry's `redact` kinds), so only what reaches those targets is rewritten.
 *
 * Each kind is found by a pattern and then checked, so that look-alikes stay untouched:
 * - `email`      local@domain.tld (a TLD of letters) → `[EMAIL]`
 * - `phone`      international `+CC …` (8–15 digits), North American `(202) 555-0143` /
 *                `202-555-0143` / `1-800-555-0199`, and national numbers with a trunk `0`
 *                (`020 7946 0958`, 9–11 digits, grouped). Bare digit runs, dates (`2024-01-15`,
 *                `01-02-2024`), version numbers and ids glued to letters or dashes are not phones.
 *                → `[PHONE]`
 * - `credit-card` 13–19 digits, contiguous or grouped like cards by single spaces or dashes
 *                (4-4-4-4, 4-4-4-4-3, 4-6-5 …), starting 2–6 (the card networks), passing the Luhn
 *                check → `[CREDIT-CARD]`
 * - `iban`       country code, check digits and BBAN (grouped by spaces or not, upper case), the
 *                country's length, passing the ISO 7064 mod-97 check → `[IBAN]`
 * - `ip-address` IPv4 dotted quads (each 0–255, not right after `v`/`version`) and IPv6 (checked
 *                by `net.isIPv6`; at least one decimal digit or three groups, so `A::B` stays)
 *                → `[IP-ADDRESS]`
 * Matches of different kinds never overlap: the earliest, then the longest, wins.
 */
import { isIPv6 } from 'node:net';
import type { Message, PiiKind } from '../../plan/types.js';

export const PII_KINDS: readonly PiiKind[] = ['email', 'phone', 'credit-card', 'iban', 'ip-address'];

export const PII_MARKS: Record<PiiKind, string> = {
  email: '[EMAIL]',
  phone: '[PHONE]',
  'credit-card': '[CREDIT-CARD]',
  iban: '[IBAN]',
  'ip-address': '[IP-ADDRESS]',
};

export interface PiiMatch {
  kind: PiiKind;
  /** UTF-16 offsets into the text: `[start, end)`. */
  start: number;
  end: number;
  text: string;
}

export type PiiCounts = Partial<Record<PiiKind, number>>;

// ---------------------------------------------------------------------------------------------
// Checks

/** The Luhn (mod 10) check of a digit string. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** IBAN length by country (ISO 13616 registry). */
// prettier-ignore
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** The ISO 7064 mod-97-10 check of an IBAN (spaces allowed), with the country's length. */
export function ibanValid(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// ---------------------------------------------------------------------------------------------
// Finders: each returns its kind's matches in the original text

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])/g;

// International: `+`, then digits with at most two separators ( .-() ) between them.
const PHONE_INTL = /(?<![\w+])\+\d(?:[ .\-()]{0,2}\d){6,16}(?![\w]|[.-]\d)/g;
// North American: (202) 555-0143, 202-555-0143, 202.555.0143, 1-800-555-0199.
const PHONE_NANP = /(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)/g;
// National with a trunk 0: 020 7946 0958, 06 12 34 56 78, 030-1234-5678.
const PHONE_NATIONAL = /(?<![\w+.-])0\d{1,4}(?:[ -]\d{2,4}){2,4}(?![\w]|[.-]\d)/g;

const CARD = /(?<![\w+.-])\d(?:[ -]?\d){12,18}(?![\w]|[.-]\d)/g;

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}/g;

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
const VERSION_BEFORE = /(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bfirmware)\s*$/i;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![\w:])/g;

function collect(
  text: string,
  pattern: RegExp,
  kind: PiiKind,
  accept: (m: string, at: number) => boolean,
): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const match of text.matchAll(pattern)) {
    const at = match.index;
    if (accept(match[0], at)) out.push({ kind, start: at, end: at + match[0].length, text: match[0] });
  }
  return out;
}

function digitCount(text: string): number {
  return text.replace(/\D/g, '').length;
}

function findEmails(text: string): PiiMatch[] {
  return collect(text, EMAIL, 'email', () => true);
}

function findPhones(text: string): PiiMatch[] {
  return [
    ...collect(text, PHONE_INTL, 'phone', (m) => {
      const n = digitCount(m);
      return n >= 8 && n <= 15 && (m.match(/\(/g)?.length ?? 0) === (m.match(/\)/g)?.length ?? 0);
    }),
    ...collect(text, PHONE_NANP, 'phone', () => true),
    ...collect(text, PHONE_NATIONAL, 'phone', (m) => {
      const n = digitCount(m);
      return n >= 9 && n <= 11;
    }),
  ];
}

/** Grouped numbers must be grouped like cards: 4-4-4-(1…4), 4-4-4-4-3, or 4-6-5 / 4-6-4 (Amex, Diners). */
function cardGrouping(m: string): boolean {
  const groups = m.split(/[ -]/).map((g) => g.length);
  const last = groups[groups.length - 1] ?? 0;
  const fours = groups.slice(0, -1).every((n) => n === 4);
  switch (groups.length) {
    case 1:
      return true;
    case 3:
      return groups[0] === 4 && groups[1] === 6 && (last === 5 || last === 4);
    case 4:
      return fours && last >= 1 && last <= 4;
    case 5:
      return fours && last === 3;
    default:
      return false;
  }
}

function findCards(text: string): PiiMatch[] {
  return collect(text, CARD, 'credit-card', (m) => {
    const digits = m.replace(/[ -]/g, '');
    return (
      digits.length >= 13 &&
      digits.length <= 19 &&
      /^[2-6]/.test(digits) &&
      cardGrouping(m) &&
      luhnValid(digits)
    );
  });
}

function findIbans(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const match of text.matchAll(IBAN)) {
    const at = match.index;
    const length = IBAN_LENGTHS[match[0].slice(0, 2)];
    if (length === undefined) continue;
    // The candidate may run into following words: take exactly the country's length of characters.
    let count = 0;
    let end = 0;
    for (; end < match[0].length && count < length; end++) if (match[0][end] !== ' ') count++;
    if (count !== length) continue;
    const candidate = match[0].slice(0, end);
    // It must end where a word ends.
    if (/[A-Za-z0-9]/.test(text[at + end] ?? '')) continue;
    if (ibanValid(candidate)) out.push({ kind: 'iban', start: at, end: at + end, text: candidate });
  }
  return out;
}

function findIps(text: string): PiiMatch[] {
  return [
    ...collect(
      text,
      IPV4,
      'ip-address',
      (_m, at) => !VERSION_BEFORE.test(text.slice(Math.max(0, at - 12), at)),
    ),
    ...collect(text, IPV6, 'ip-address', (m) => {
      if (!isIPv6(m)) return false;
      const groups = m.split(':').filter((g) => g !== '').length;
      return /\d/.test(m) || groups >= 3;
    }),
  ];
}

const FINDERS: Record<PiiKind, (text: string) => PiiMatch[]> = {
  email: findEmails,
  phone: findPhones,
  'credit-card': findCards,
  iban: findIbans,
  'ip-address': findIps,
};

// ---------------------------------------------------------------------------------------------

/** Every PII match of the given kinds, sorted, without overlaps (the earliest, then the longest, wins). */
export function findPii(text: string, kinds: readonly PiiKind[] = PII_KINDS): PiiMatch[] {
  const found: PiiMatch[] = [];
  for (const kind of new Set(kinds)) found.push(...FINDERS[kind](text));
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiMatch[] = [];
  let end = -1;
  for (const match of found) {
    if (match.start < end) continue;
    out.push(match);
    end = match.end;
  }
  return out;
}

/** `text` with every PII match of `kinds` replaced by its mark (`[EMAIL]` …), and how many of each. */
export function redactText(
  text: string,
  kinds: readonly PiiKind[] = PII_KINDS,
): { text: string; counts: PiiCounts } {
  const counts: PiiCounts = {};
  if (kinds.length === 0 || text === '') return { text, counts };
  const matches = findPii(text, kinds);
  if (matches.length === 0) return { text, counts };
  let out = '';
  let at = 0;
  for (const match of matches) {
    out += text.slice(at, match.start) + PII_MARKS[match.kind];
    at = match.end;
    counts[match.kind] = (counts[match.kind] ?? 0) + 1;
  }
  return { text: out + text.slice(at), counts };
}

/** The messages with their content redacted (new objects; the input is not changed), and the counts. */
export function redactMessages(
  messages: readonly Message[],
  kinds: readonly PiiKind[] = PII_KINDS,
): { messages: Message[]; counts: PiiCounts } {
  const counts: PiiCounts = {};
  const out = messages.map((message) => {
    const redacted = redactText(message.content, kinds);
    for (const [kind, n] of Object.entries(redacted.counts) as [PiiKind, number][]) {
      counts[kind] = (counts[kind] ?? 0) + n;
    }
    return { ...message, content: redacted.text };
  });
  return { messages: out, counts };
}
