/** @module Checks of route parameters shared by the HTTP routes. */

/** 32 bytes as lowercase hex: block, transaction, job and model ids, link challenges. */
export const HEX32 = /^[0-9a-f]{64}$/;

/** Returns `value` when it is 32 bytes of lowercase hex; throws `RangeError` (400) naming `what`. */
export function hex32Param(value: string, what: string): string {
  if (!HEX32.test(value)) throw new RangeError(`${what} must be 64 lowercase hex characters`);
  return value;
}
