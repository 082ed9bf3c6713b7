/**
 * @module Output script templates: a small closed set of typed templates, not a script VM.
 * A scriptPubKey is one template byte followed by that template's fixed-size payload.
 */

import { DecodeError } from "./errors.ts";
import { addressFromHash, decodeAddress } from "./keys.ts";

/** Template byte of pay-to-address outputs: 0x01 || HASH160(pubkey). */
export const TEMPLATE_PAY_TO_ADDRESS = 0x01;
/** Template byte reserved for job escrow outputs (jobs issue). */
export const TEMPLATE_JOB_ESCROW = 0x02;
/** Template byte reserved for compute stake outputs (jobs issue). */
export const TEMPLATE_COMPUTE_STAKE = 0x03;
/** Template byte of provably unspendable outputs (the genesis coinbase); payload up to 80 bytes. */
export const TEMPLATE_UNSPENDABLE = 0x00;

/** Length of a pay-to-address unlocking script: 64-byte signature || 33-byte public key. */
export const PAY_TO_ADDRESS_SCRIPT_SIG_LENGTH = 97;

/** A decoded output script. */
export type OutputScript =
  | { type: "pay-to-address"; pubKeyHash: Uint8Array }
  | { type: "unspendable"; data: Uint8Array };

/** The scriptPubKey paying to `address`. */
export function payToAddressScript(address: string): Uint8Array {
  return payToHashScript(decodeAddress(address));
}

/** The scriptPubKey paying to a 20-byte public key hash. */
export function payToHashScript(pubKeyHash: Uint8Array): Uint8Array {
  if (pubKeyHash.length !== 20) throw new RangeError("public key hash must be 20 bytes");
  const s = new Uint8Array(21);
  s[0] = TEMPLATE_PAY_TO_ADDRESS;
  s.set(pubKeyHash, 1);
  return s;
}

/** An unspendable output script carrying `data` (at most 80 bytes). */
export function unspendableScript(data: Uint8Array): Uint8Array {
  if (data.length > 80) throw new RangeError("unspendable data must be at most 80 bytes");
  const s = new Uint8Array(1 + data.length);
  s[0] = TEMPLATE_UNSPENDABLE;
  s.set(data, 1);
  return s;
}

/**
 * Parses a scriptPubKey into its template. Throws `DecodeError` with `script/unknown-template` for
 * templates this ledger does not know (yet) and `script/length` for a wrong payload size.
 */
export function parseOutputScript(script: Uint8Array): OutputScript {
  if (script.length === 0) throw new DecodeError("script/empty", "empty output script");
  switch (script[0]) {
    case TEMPLATE_PAY_TO_ADDRESS:
      if (script.length !== 21) {
        throw new DecodeError(
          "script/length",
          `pay-to-address script must be 21 bytes, got ${script.length}`,
        );
      }
      return { type: "pay-to-address", pubKeyHash: script.slice(1) };
    case TEMPLATE_UNSPENDABLE:
      if (script.length > 81) {
        throw new DecodeError("script/length", "unspendable script over 81 bytes");
      }
      return { type: "unspendable", data: script.slice(1) };
    default:
      throw new DecodeError(
        "script/unknown-template",
        `unknown output script template 0x${script[0].toString(16).padStart(2, "0")}`,
      );
  }
}

/** The address an output pays to, or null for outputs that pay no address. */
export function scriptAddress(script: Uint8Array): string | null {
  try {
    const parsed = parseOutputScript(script);
    return parsed.type === "pay-to-address" ? addressFromHash(parsed.pubKeyHash) : null;
  } catch {
    return null;
  }
}
