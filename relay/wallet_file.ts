/** @module Keystore files on disk: locate, create, read, and unlock with a passphrase. */

import { getLogger } from "@logtape/logtape";
import { CamelidError } from "../chain/errors.ts";
import {
  createKeystore,
  type KeystoreFile,
  parseKeystore,
  unlockKeystore,
} from "../chain/keystore.ts";
import { askPassphrase, terminalSecretInput } from "./passphrase_prompt.ts";

const log = getLogger(["camelid", "wallet"]);

/** Default keystore path inside a data directory. */
export function walletPath(dataDir: string): string {
  return `${dataDir}/wallet.json`;
}

/** Largest keystore file read (ours are about 400 bytes). */
const MAX_KEYSTORE_BYTES = 64 * 1024;

/** A wallet path that names a directory: `wallet/not-a-file`. */
function notAFile(path: string): CamelidError {
  return new CamelidError(
    "wallet/not-a-file",
    `${path} is a directory, not a wallet file (give --wallet FILE)`,
  );
}

/**
 * Reads and checks a keystore file. Typed errors: `wallet/not-found`, `wallet/not-a-file`,
 * `wallet/unreadable`, `keystore/malformed` (not JSON, too large, wrong shape), `keystore/bad-kdf`.
 */
export async function readKeystore(path: string): Promise<KeystoreFile> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw notAFile(path);
    if (info.size > MAX_KEYSTORE_BYTES) {
      throw new CamelidError(
        "keystore/malformed",
        `${path} is ${info.size} bytes, too large to be a wallet file`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof CamelidError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new CamelidError(
        "wallet/not-found",
        `no wallet at ${path} (create one with "main.ts wallet new")`,
      );
    }
    if (e instanceof Deno.errors.IsADirectory) throw notAFile(path);
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new CamelidError("wallet/unreadable", `cannot read ${path}: permission denied`);
    }
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CamelidError(
      "keystore/malformed",
      `${path} is not valid JSON (damaged wallet file?)`,
    );
  }
  try {
    return parseKeystore(json);
  } catch (e) {
    if (e instanceof CamelidError) {
      throw new CamelidError(e.code, `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** Throws `wallet/exists` (or `wallet/not-a-file`) unless `path` is free for a new wallet. */
export async function assertNoWalletAt(path: string): Promise<void> {
  try {
    const info = await Deno.lstat(path);
    if (info.isDirectory) throw notAFile(path);
    throw new CamelidError(
      "wallet/exists",
      `a wallet already exists at ${path}; refusing to overwrite it`,
    );
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Writes a new keystore at `path`, refusing to overwrite (written to a temp file, then renamed). */
export async function writeNewKeystore(path: string, passphrase: string): Promise<KeystoreFile> {
  await assertNoWalletAt(path);
  const ks = await createKeystore(passphrase);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, JSON.stringify(ks, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, path);
  return ks;
}

/**
 * The passphrase from `CAMELID_PASSPHRASE`, or else asked on a terminal without echo (twice, to
 * confirm, when `confirm` is set: a new wallet).
 */
export function passphraseFromEnvironment(purpose: string, confirm = false): string {
  const env = Deno.env.get("CAMELID_PASSPHRASE");
  if (env !== undefined) return env;
  if (Deno.stdin.isTerminal()) return askPassphrase(terminalSecretInput, purpose, confirm);
  throw new CamelidError(
    "wallet/no-passphrase",
    "set CAMELID_PASSPHRASE (or run on a terminal to be asked)",
  );
}

/** Unlocks the keystore at `path` with the environment's passphrase. */
export async function unlockWalletFile(
  path: string,
): Promise<{ keystore: KeystoreFile; secretKey: Uint8Array }> {
  const keystore = await readKeystore(path);
  const secretKey = await unlockKeystore(keystore, passphraseFromEnvironment(`unlock ${path}`));
  return { keystore, secretKey };
}

/**
 * The node's own wallet in `dataDir`, created when missing. On `dev`, with no CAMELID_PASSPHRASE, it
 * is sealed with an empty passphrase (and says so); elsewhere a passphrase is required.
 */
export async function ensureNodeWallet(dataDir: string, network: string): Promise<KeystoreFile> {
  const path = walletPath(dataDir);
  try {
    return await readKeystore(path);
  } catch (e) {
    if (!(e instanceof CamelidError) || e.code !== "wallet/not-found") throw e;
  }
  let passphrase = Deno.env.get("CAMELID_PASSPHRASE");
  if (passphrase === undefined) {
    if (network !== "dev") {
      throw new CamelidError(
        "wallet/no-passphrase",
        `set CAMELID_PASSPHRASE to create the node wallet on ${network}`,
      );
    }
    passphrase = "";
    log.warn(
      "Created the dev node wallet {path} with an EMPTY passphrase (set CAMELID_PASSPHRASE to choose one)",
      { path },
    );
  }
  return await writeNewKeystore(path, passphrase);
}
