/** @module Checks of route parameters shared by the HTTP routes. */

import { isHex32 } from "../../chain/bytes.ts";

/** Returns `value` when it is 32 bytes of lowercase hex; throws `RangeError` (400) naming `what`. */
export function hex32Param(value: string, what: string): string {
  if (!isHex32(value)) throw new RangeError(`${what} must be 64 lowercase hex characters`);
  return value;
}
