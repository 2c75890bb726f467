/**
 * Canonical JSON: the one byte form of a plan that its hash is computed over.
 *
 * Object keys are sorted (by UTF-16 code units, `Array.prototype.sort`'s default), properties whose
 * value is `undefined` are left out, there is no whitespace, and arrays keep their order. Anything
 * that JSON cannot carry faithfully (non-finite numbers, BigInt, functions, `undefined` inside an
 * array, class instances such as `Date` or `Map`) is refused rather than silently changed, so the
 * same value always gives the same bytes. Pure: runs in the workflow sandbox.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$');
  return out.join('');
}

function write(value: unknown, out: string[], at: string): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${at} is ${value}, which JSON cannot carry`);
      // -0 and 0 are the same JSON number.
      out.push(Object.is(value, -0) ? '0' : JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${at} is a ${typeof value}, which JSON cannot carry`);
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, index) => {
      if (item === undefined) throw new TypeError(`canonicalJson: ${at}[${index}] is undefined`);
      if (index > 0) out.push(',');
      write(item, out, `${at}[${index}]`);
    });
    out.push(']');
    return;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`canonicalJson: ${at} is not a plain object`);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  out.push('{');
  keys.forEach((key, index) => {
    if (index > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write(record[key], out, `${at}.${key}`);
  });
  out.push('}');
}
