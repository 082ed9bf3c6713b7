import assert from "node:assert/strict";
import { encrypt } from "eciesjs";
import { decryptWithSharedPoint, proveSharedPoint, verifySharedPoint } from "./dleq.ts";
import { generateSecretKey, publicKeyOf } from "./keys.ts";
import { toHex } from "./bytes.ts";

Deno.test("a DLEQ proof reveals the ECIES shared point so anyone can decrypt, and only for the right key", async () => {
  const client = generateSecretKey();
  const pub = publicKeyOf(client);
  const message = new TextEncoder().encode('{"outputTokens":[1,2,3],"finishReason":"stop"}');
  const ct = encrypt(toHex(pub), message);
  const E = ct.subarray(0, 65);
  const { shared, proof } = proveSharedPoint(client, E);
  assert.ok(verifySharedPoint(pub, E, shared, proof));
  assert.deepEqual(await decryptWithSharedPoint(ct, shared), message);
  const other = publicKeyOf(generateSecretKey());
  assert.equal(verifySharedPoint(other, E, shared, proof), false, "wrong public key");
  const badShared = proveSharedPoint(generateSecretKey(), E).shared;
  assert.equal(verifySharedPoint(pub, E, badShared, proof), false, "wrong shared point");
  const tampered = proof.slice();
  tampered[97] ^= 1;
  assert.equal(verifySharedPoint(pub, E, shared, tampered), false, "tampered proof");
  const garbled = ct.slice();
  garbled[ct.length - 1] ^= 1;
  assert.equal(
    await decryptWithSharedPoint(garbled, shared),
    null,
    "a ciphertext that does not authenticate",
  );
  assert.equal(verifySharedPoint(pub, E, shared, new Uint8Array(98)), false);
});
