/** @module Amounts: bigint base units (1 coin = 10^8), parsing and formatting of coin strings. */

import { COIN, MAX_MONEY } from "./params.ts";
import { CamelidError } from "./errors.ts";

/** Raised for an amount option a user typed that is not a valid amount (`amount/invalid`). */
export class AmountError extends CamelidError {}

/** True when `v` is a valid amount: 0 <= v <= MAX_MONEY. */
export function isMoneyRange(v: bigint): boolean {
  return v >= 0n && v <= MAX_MONEY;
}

/** A decimal number of coins: digits, then at most 8 decimals. */
const COIN_TEXT = /^\d+(\.\d{1,8})?$/;

/** Base units of a string that matches {@link COIN_TEXT} (no range check). */
function parseCoinsUnchecked(text: string): bigint {
  const [whole, frac = ""] = text.trim().split(".");
  return BigInt(whole) * COIN + BigInt(frac.padEnd(8, "0"));
}

/**
 * Parses a decimal coin string ("1.5", "0.00000001") into base units. Throws `RangeError` for
 * malformed strings, more than 8 decimals, negative values or values above MAX_MONEY.
 */
export function parseCoins(text: string): bigint {
  if (typeof text !== "string" || !COIN_TEXT.test(text.trim())) {
    throw new RangeError(
      `invalid amount "${text}": expected a decimal number of coins with at most 8 decimals`,
    );
  }
  const units = parseCoinsUnchecked(text);
  if (!isMoneyRange(units)) throw new RangeError(`amount ${text} exceeds the maximum money supply`);
  return units;
}

/** Formats base units as a decimal coin string with trailing zeros trimmed ("1.5", "0"). */
export function formatCoins(units: bigint): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / COIN;
  const frac = (abs % COIN).toString().padStart(8, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
}

/**
 * Parses the coins a user typed for `option` (e.g. `--amount`): a plain decimal with at most 8
 * decimals, within the money supply, and above zero unless `allowZero` (fees). Every bad value, be it
 * "0", "-5", "abc" or "1e3", is the same `AmountError` `amount/invalid` that names the option.
 */
export function parseCoinsOption(option: string, text: string, allowZero = false): bigint {
  const what = allowZero ? "zero or more coins" : "more than zero coins";
  const invalid = (why: string) =>
    new AmountError(
      "amount/invalid",
      `${option} must be ${what}, as a decimal with at most 8 decimals (e.g. 1.5); got "${text}"${why}`,
    );
  if (!COIN_TEXT.test(String(text).trim())) {
    throw invalid(/^\s*-/.test(String(text)) ? " (negative)" : "");
  }
  if (!isMoneyRange(parseCoinsUnchecked(String(text)))) {
    throw invalid(" (more than the money supply)");
  }
  const units = parseCoins(String(text));
  if (units === 0n && !allowZero) throw invalid(" (zero)");
  return units;
}
