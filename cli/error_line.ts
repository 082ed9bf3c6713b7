/**
 * @module The one line a CLI user error prints: `error (code): message` for typed errors and for the
 * operating system's file and network errors (a missing file, a directory where a file belongs),
 * `error: message` for bad values (RangeError, TypeError). Anything else is a bug: no line, the
 * caller prints it whole.
 */

import { CamelidError } from "../chain/errors.ts";

/** Codes of the operating system's errors a user can cause by what they typed. */
const OS_ERROR_CODES: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.NotFound, "file/not-found"],
  [Deno.errors.PermissionDenied, "file/permission-denied"],
  [Deno.errors.IsADirectory, "file/is-a-directory"],
  [Deno.errors.NotADirectory, "file/not-a-directory"],
  [Deno.errors.AlreadyExists, "file/exists"],
  [Deno.errors.ConnectionRefused, "net/connection-refused"],
  [Deno.errors.AddrInUse, "net/address-in-use"],
];

/** The one-line error text of `e`, or null when `e` is not a user error (print it whole). */
export function errorLine(e: unknown): string | null {
  const firstLine = (text: string) => text.split("\n")[0];
  if (e instanceof CamelidError) return `error (${e.code}): ${firstLine(e.message)}`;
  for (const [type, code] of OS_ERROR_CODES) {
    if (e instanceof type) return `error (${code}): ${firstLine(e.message)}`;
  }
  if (e instanceof RangeError || e instanceof TypeError) return `error: ${firstLine(e.message)}`;
  return null;
}
