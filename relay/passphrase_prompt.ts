/**
 * @module The passphrase prompt on a terminal: nothing echoed (raw mode), and a second entry to
 * confirm a new wallet's passphrase, so a typo cannot seal a wallet nobody can open.
 */

import { CamelidError } from "../chain/errors.ts";

/** A source of passphrases typed by a person (the terminal; tests script one). */
export interface SecretInput {
  /** Shows `question`, reads one line without echoing it; null at end of input. */
  readSecret(question: string): string | null;
}

const ENTER_CR = 0x0d;
const ENTER_LF = 0x0a;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;
const ESCAPE = 0x1b;

/**
 * Decodes keystrokes read in raw mode into one line: Enter ends it, Backspace/Delete remove the last
 * character, Ctrl-U clears the line, escape sequences (arrow keys) are dropped, Ctrl-D on an empty
 * line is end of input (null), Ctrl-C throws `CamelidError` `wallet/cancelled`. `read` returns the
 * next bytes, or null at end of input.
 */
export function readHiddenLine(read: () => Uint8Array | null): string | null {
  const bytes: number[] = [];
  let escape = false;
  for (;;) {
    const chunk = read();
    if (chunk === null) {
      return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    }
    for (const b of chunk) {
      if (escape) {
        // CSI sequences end with a byte in 0x40..0x7e; "ESC [" itself continues.
        if (b >= 0x40 && b <= 0x7e && b !== 0x5b) escape = false;
        continue;
      }
      if (b === ENTER_CR || b === ENTER_LF) return new TextDecoder().decode(new Uint8Array(bytes));
      if (b === CTRL_C) {
        throw new CamelidError("wallet/cancelled", "cancelled at the passphrase prompt");
      }
      if (b === CTRL_D) {
        if (bytes.length === 0) return null;
        continue;
      }
      if (b === CTRL_U) bytes.length = 0;
      else if (b === BACKSPACE || b === DELETE) {
        // Drop one whole UTF-8 character: continuation bytes are 10xxxxxx.
        while (bytes.length && (bytes.pop()! & 0xc0) === 0x80) { /* keep dropping */ }
      } else if (b === ESCAPE) escape = true;
      else if (b >= 0x20) bytes.push(b);
    }
  }
}

/**
 * Asks for a passphrase to `purpose`; with `confirm`, asks a second time and throws `CamelidError`
 * `wallet/passphrase-mismatch` when the two differ. End of input is `wallet/no-passphrase`.
 */
export function askPassphrase(input: SecretInput, purpose: string, confirm: boolean): string {
  const noInput = () =>
    new CamelidError("wallet/no-passphrase", "no passphrase entered (input ended)");
  const first = input.readSecret(`Passphrase to ${purpose}: `);
  if (first === null) throw noInput();
  if (!confirm) return first;
  const second = input.readSecret("Repeat the passphrase: ");
  if (second === null) throw noInput();
  if (second !== first) {
    throw new CamelidError(
      "wallet/passphrase-mismatch",
      "the two passphrases differ; nothing was created (run the command again)",
    );
  }
  return first;
}

/** The terminal as a {@link SecretInput}: the question on stderr, stdin in raw mode (no echo). */
export const terminalSecretInput: SecretInput = {
  readSecret(question) {
    const encoder = new TextEncoder();
    // Echo off before the question shows: a key typed as soon as it appears is never echoed.
    Deno.stdin.setRaw(true);
    Deno.stderr.writeSync(encoder.encode(question));
    try {
      // One byte per read: nothing typed ahead (a pasted confirmation) is lost between prompts.
      const buffer = new Uint8Array(1);
      return readHiddenLine(() => {
        const n = Deno.stdin.readSync(buffer);
        return n === null ? null : buffer.slice(0, n);
      });
    } finally {
      Deno.stdin.setRaw(false);
      Deno.stderr.writeSync(encoder.encode("\n"));
    }
  },
};
