/** @module Amounts: bigint base units (1 coin = 10^8), parsing and formatting of coin strings. */

import { COIN, MAX_MONEY } from "./params.ts";

/** True when `v` is a valid amount: 0 <= v <= MAX_MONEY. */
export function isMoneyRange(v: bigint): boolean {
  return v >= 0n && v <= MAX_MONEY;
}

/**
 * Parses a decimal coin string ("1.5", "0.00000001") into base units. Throws `RangeError` for
 * malformed strings, more than 8 decimals, negative values or values above MAX_MONEY.
 */
export function parseCoins(text: string): bigint {
  if (typeof text !== "string" || !/^\d+(\.\d{1,8})?$/.test(text.trim())) {
    throw new RangeError(
      `invalid amount "${text}": expected a decimal number of coins with at most 8 decimals`,
    );
  }
  const [whole, frac = ""] = text.trim().split(".");
  const units = BigInt(whole) * COIN + BigInt(frac.padEnd(8, "0"));
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
