import { BadOptionError } from '../errors.js';

/**
 * Argument parsers shared by the registry. Each one checks the raw URL text strictly
 * (no `1e3`, `0x10`, spaces or signs where none belong) and words its error like sharp does:
 * "Expected integer between 1 and 8192 for w but received 0".
 */

const INT = /^-?\d{1,12}$/;
const DECIMAL = /^\d{1,6}(\.\d{1,6})?$/;
const HEX = /^[0-9a-fA-F]+$/;

export function describe(raw: string | undefined): string {
  if (raw === undefined) return 'nothing';
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

export function fail(option: string, expected: string, raw: string | undefined): never {
  throw new BadOptionError(option, `Expected ${expected} for ${option} but received ${describe(raw)}`, expected);
}

export function int(option: string, raw: string | undefined, min: number, max: number): number {
  const expected = `integer between ${min} and ${max}`;
  if (raw === undefined || !INT.test(raw)) fail(option, expected, raw);
  const n = Number(raw);
  if (n < min || n > max) fail(option, expected, raw);
  return n === 0 ? 0 : n; // no -0
}

export function decimal(option: string, raw: string | undefined, min: number, max: number): number {
  const expected = `number between ${min} and ${max}`;
  if (raw === undefined || !DECIMAL.test(raw)) fail(option, expected, raw);
  const n = Number(raw);
  if (n < min || n > max) fail(option, expected, raw);
  return n;
}

export function oneOf<T extends string>(option: string, raw: string | undefined, values: readonly T[]): T {
  const found = values.find((v) => v === raw);
  if (found === undefined) fail(option, `one of ${values.join(', ')}`, raw);
  return found;
}

export function flag(option: string, raw: string | undefined): true {
  if (raw !== undefined) fail(option, 'no value', raw);
  return true;
}

/** `rgb`, `rrggbb` or `rrggbbaa` → lowercase `rrggbb[aa]`; an opaque `ff` alpha is dropped so one colour has one spelling. */
export function hexColour(option: string, raw: string | undefined, allowAlpha: boolean): string {
  const expected = allowAlpha ? '3, 6 or 8 hex digits (rgb, rrggbb, rrggbbaa)' : '3 or 6 hex digits (rgb, rrggbb)';
  if (raw === undefined || !HEX.test(raw)) fail(option, expected, raw);
  let hex = raw.toLowerCase();
  if (hex.length === 3) hex = [...hex].map((ch) => ch + ch).join('');
  else if (hex.length === 8 && !allowAlpha) fail(option, expected, raw);
  else if (hex.length !== 6 && hex.length !== 8) fail(option, expected, raw);
  return hex.length === 8 && hex.endsWith('ff') ? hex.slice(0, 6) : hex;
}

export function pattern(option: string, raw: string | undefined, re: RegExp, expected: string): string {
  if (raw === undefined || !re.test(raw)) fail(option, expected, raw);
  return raw;
}

/** Shortest decimal text for a number (`1.5`, `2`), used in canonical strings. */
export function num(n: number): string {
  return String(Number(n.toFixed(6)));
}
