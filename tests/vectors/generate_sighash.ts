/**
 * @module Regenerates the `signature.sighash` section of tests/vectors/codecs.json from the code
 * (`deno run -A tests/vectors/generate_sighash.ts`, then review the diff). Run only when the
 * signature hash is meant to change.
 */
import { fromHex, toHex } from "../../chain/bytes.ts";
import { publicKeyOf } from "../../chain/keys.ts";
import { hash160 } from "../../chain/hash.ts";
import { payToHashScript } from "../../chain/script.ts";
import {
  decodeTransaction,
  encodeTransaction,
  signatureHash,
  signatureHashPreimage,
  signPayToAddressInput,
  txid,
} from "../../chain/tx.ts";
const path = "tests/vectors/codecs.json";
const vectors = JSON.parse(await Deno.readTextFile(path));
const out = [];
for (
  const [i, sk] of [
    "01".repeat(32),
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
  ].entries()
) {
  const secret = fromHex(sk);
  const script = payToHashScript(hash160(publicKeyOf(secret)));
  const tx = decodeTransaction(fromHex(vectors.transaction.valid[0].hex));
  tx.inputs.push({
    prevout: { txid: new Uint8Array(32).fill(0xcd), vout: 7 },
    scriptSig: new Uint8Array(0),
    sequence: 0xfffffffe,
  });
  tx.inputs[0].scriptSig = new Uint8Array(0);
  const spent = { value: 5_000_000_000n + BigInt(i), scriptPubKey: script };
  const index = i;
  const preimage = signatureHashPreimage(tx, index, spent);
  const digest = signatureHash(tx, index, spent);
  const unsigned = encodeTransaction(tx);
  signPayToAddressInput(tx, index, spent, secret);
  out.push({
    secretKey: sk,
    unsignedTx: toHex(unsigned),
    index,
    spentValue: spent.value.toString(),
    spentScript: toHex(script),
    sighashPreimage: toHex(preimage),
    sighash: toHex(digest),
    signedTx: toHex(encodeTransaction(tx)),
    txid: txid(tx),
  });
}
vectors.signature = { sighash: out };
await Deno.writeTextFile(path, JSON.stringify(vectors, null, 2) + "\n");
