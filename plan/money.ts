/**
 * Money in Switchyard is integer nano-dollars (1 $ = 1_000_000_000 nanos), never binary floating
 * point. Costs are rounded up to the next nano-dollar: a reservation may never be smaller than what
 * the call can cost.
 */
import type { Price } from './types.js';

export const NANOS_PER_DOLLAR = 1_000_000_000;
/** Money literals have at most this many decimals: one nano-dollar is the smallest amount. */
export const MONEY_DECIMALS = 9;
const NANOS_PER_DOLLAR_BIG = BigInt(NANOS_PER_DOLLAR);

/**
 * The cost of `tokens` tokens at `price`, in nano-dollars, rounded up:
 * `ceil(tokens × price.nanos / price.perTokens)`. Exact for every safe integer input (the product is
 * computed with BigInt when it would leave the safe-integer range). A missing price costs 0.
 */
export function costNanos(tokens: number, price: Price | null | undefined): number {
  if (!price || tokens <= 0 || price.nanos === 0) return 0;
  if (!Number.isSafeInteger(tokens) || !Number.isSafeInteger(price.nanos) || !(price.perTokens > 0)) {
    throw new RangeError(`costNanos: tokens and prices must be integers (got ${tokens}, ${price.nanos})`);
  }
  const product = tokens * price.nanos;
  if (Number.isSafeInteger(product) && Number.isSafeInteger(price.perTokens)) {
    // `%` and the division of an exact multiple are exact on safe integers.
    const rest = product % price.perTokens;
    return (product - rest) / price.perTokens + (rest > 0 ? 1 : 0);
  }
  const num = BigInt(tokens) * BigInt(price.nanos);
  const den = BigInt(price.perTokens);
  const quotient = num / den + (num % den === 0n ? 0n : 1n);
  const result = Number(quotient);
  if (!Number.isSafeInteger(result))
    throw new RangeError(`costNanos: ${quotient} nano-dollars is out of range`);
  return result;
}

/**
 * An exact decimal string in dollars, without a `$` and without trailing zeros:
 * `13900` → `"0.0000139"`, `500_000_000_000` → `"500"`, `0` → `"0"`.
 */
export function formatDollars(nanos: number | bigint): string {
  if (typeof nanos === 'number' && !Number.isSafeInteger(nanos)) {
    throw new RangeError(`formatDollars: ${nanos} is not an integer number of nano-dollars`);
  }
  let value = BigInt(nanos);
  const sign = value < 0n ? '-' : '';
  if (value < 0n) value = -value;
  const whole = (value / NANOS_PER_DOLLAR_BIG).toString();
  const fraction = (value % NANOS_PER_DOLLAR_BIG).toString().padStart(9, '0').replace(/0+$/, '');
  return sign + whole + (fraction ? `.${fraction}` : '');
}

const DOLLARS = /^\$?(\d+)(?:\.(\d+))?$/;

/**
 * Reads dollars as written (`"0.0025"`, `"$500"`) as integer nano-dollars, from the decimal digits,
 * never through a binary float: the one reading of money text that the validator, the compiler and
 * `parseDollars` share. Digits beyond the ninth decimal round **up** (`exact`: there were none);
 * `undefined` when the text is not an amount of money.
 */
export function readDollars(text: string): { nanos: bigint; exact: boolean } | undefined {
  const match = DOLLARS.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  const beyond = fraction.slice(MONEY_DECIMALS);
  const roundUp = /[1-9]/.test(beyond);
  const nanos =
    BigInt(match[1]!) * NANOS_PER_DOLLAR_BIG +
    BigInt(fraction.slice(0, MONEY_DECIMALS).padEnd(MONEY_DECIMALS, '0')) +
    (roundUp ? 1n : 0n);
  return { nanos, exact: beyond.length === 0 };
}

/**
 * Parses `"$0.0025"` (the `$` is optional) into nano-dollars, exactly. Throws on anything else,
 * including more than 9 decimals (finer than a nano-dollar) and amounts beyond the safe-integer
 * range (about 9 million dollars).
 */
export function parseDollars(text: string): number {
  const read = readDollars(text.trim());
  if (!read) throw new SyntaxError(`not an amount of money: "${text}" (expected e.g. $0.0025)`);
  if (!read.exact) {
    throw new RangeError(`"${text}" is finer than a nano-dollar: money has at most 9 decimals`);
  }
  const result = Number(read.nanos);
  if (!Number.isSafeInteger(result)) throw new RangeError(`"${text}" is too large`);
  return result;
}
