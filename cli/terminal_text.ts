/**
 * @module Completion text made safe to print on a terminal: control bytes (escape sequences that
 * move the cursor, retitle the window, clear the screen; carriage returns that overwrite a line) and
 * invisible bidirectional overrides are shown escaped, as `\x1b` or `\u{202e}`. Newlines, CRLF
 * and tabs stay.
 * Only for a terminal: piped output and `--json` keep the exact text.
 */

/** C0 and C1 controls (but \t and \n), DEL, and the bidi embedding/override/isolate characters. */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character escaped (`\x1b`, `\r`, `\u{202e}`); newlines and tabs kept. */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE, (c, at: number) => {
    const code = c.codePointAt(0)!;
    if (c === "\r") return text[at + 1] === "\n" ? c : "\\r"; // CRLF ends a line harmlessly
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** What to print of a completion's text: escaped on a terminal, exact otherwise. */
export function textForOutput(text: string, isTerminal: boolean): string {
  return isTerminal ? printableText(text) : text;
}
