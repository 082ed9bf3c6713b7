import assert from "node:assert/strict";
import { printableText, textForOutput } from "./terminal_text.ts";

Deno.test("completion text on a terminal: control bytes escaped, newlines, tabs and Unicode kept", () => {
  assert.equal(printableText("plain text\nline two\tcol"), "plain text\nline two\tcol");
  assert.equal(printableText("héllo, 世界 🦙"), "héllo, 世界 🦙");
  assert.equal(printableText("\x1b]0;pwned\x07title"), "\\x1b]0;pwned\\x07title");
  assert.equal(printableText("\x1b[2J\x1b[Hclear"), "\\x1b[2J\\x1b[Hclear");
  assert.equal(printableText("paid\rrefunded"), "paid\\rrefunded");
  assert.equal(printableText("line\r\nnext\r"), "line\r\nnext\\r");
  assert.equal(printableText("nul\0 del\x7f c1\x9b"), "nul\\x00 del\\x7f c1\\x9b");
  assert.equal(printableText("abc\u202edef"), "abc\\u{202e}def");
  // Escaped output never contains a control character.
  // deno-lint-ignore no-control-regex
  const controls = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
  const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join("");
  assert.ok(!controls.test(printableText(all)));
});

Deno.test("piped output keeps the exact text; a terminal gets the escaped text", () => {
  const text = "a\x1b[31mred\x1b[0m\r\n";
  assert.equal(textForOutput(text, false), text);
  assert.equal(textForOutput(text, true), "a\\x1b[31mred\\x1b[0m\r\n");
});
