import assert from "node:assert/strict";
import { CamelidError } from "../chain/errors.ts";
import { askPassphrase, readHiddenLine, type SecretInput } from "./passphrase_prompt.ts";

const keys = (...parts: (string | number[])[]) =>
  parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : new Uint8Array(p));

/** Feeds `chunks` one per read, then end of input. */
function reader(chunks: Uint8Array[]): () => Uint8Array | null {
  let i = 0;
  return () => chunks[i++] ?? null;
}

const codeOf = (code: string) => (e: unknown) => e instanceof CamelidError && e.code === code;

Deno.test("raw keystrokes become one line: Enter, Backspace, Ctrl-U, arrows, UTF-8", () => {
  assert.equal(readHiddenLine(reader(keys("secret\r"))), "secret");
  assert.equal(readHiddenLine(reader(keys("sec", "ret\n", "ignored"))), "secret");
  assert.equal(readHiddenLine(reader(keys("secrex", [0x7f], "t\r"))), "secret");
  assert.equal(readHiddenLine(reader(keys("typo", [0x15], "secret\r"))), "secret");
  assert.equal(readHiddenLine(reader(keys("sec", [0x1b, 0x5b, 0x44], "ret\r"))), "secret");
  assert.equal(readHiddenLine(reader(keys("pässé", [0x08], "\r"))), "päss");
  assert.equal(readHiddenLine(reader(keys("\r"))), "");
  assert.equal(readHiddenLine(reader(keys([0x04]))), null);
  assert.equal(readHiddenLine(reader([])), null);
  assert.throws(() => readHiddenLine(reader(keys("sec", [0x03]))), codeOf("wallet/cancelled"));
});

/** A scripted person at the terminal, recording the questions asked. */
function typist(answers: (string | null)[]): SecretInput & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    readSecret(question) {
      asked.push(question);
      return answers.shift() ?? null;
    },
  };
}

Deno.test("a new wallet's passphrase is asked twice and a mismatch is refused", () => {
  const same = typist(["horse battery", "horse battery"]);
  assert.equal(askPassphrase(same, "encrypt w.json", true), "horse battery");
  assert.equal(same.asked.length, 2);
  assert.match(same.asked[0], /encrypt w\.json/);

  const typo = typist(["horse battery", "horse batery"]);
  assert.throws(
    () => askPassphrase(typo, "encrypt w.json", true),
    codeOf("wallet/passphrase-mismatch"),
  );

  const once = typist(["horse battery"]);
  assert.equal(askPassphrase(once, "unlock w.json", false), "horse battery");
  assert.equal(once.asked.length, 1);

  assert.throws(
    () => askPassphrase(typist([null]), "unlock", false),
    codeOf("wallet/no-passphrase"),
  );
  assert.throws(
    () => askPassphrase(typist(["a", null]), "x", true),
    codeOf("wallet/no-passphrase"),
  );
});
