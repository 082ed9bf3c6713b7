/** @module The ledger's public surface: encoding, keys and addresses, transactions, blocks, state. */

export {
  addressFromPublicKey,
  decodeAddress,
  generateSecretKey,
  publicKeyOf,
  signDigest,
  signPreimage,
  verifySignature,
} from "./keys.ts";
export {
  decodeTransaction,
  encodeTransaction,
  isCoinbase,
  signatureHash,
  signPayToAddressInput,
  txid,
} from "./tx.ts";
export type { OutPoint, Transaction, TxInput, TxOutput } from "./tx.ts";
export {
  blockHash,
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  genesisBlock,
  merkleRoot,
} from "./block.ts";
export type { Block, BlockHeader } from "./block.ts";
export { ChainNode } from "./node.ts";
export { networkParams } from "./params.ts";
export type { NetworkName, NetworkParams } from "./params.ts";
export { CamelidError, DecodeError, NotFoundError, ValidationError } from "./errors.ts";
export { formatCoins, parseCoins } from "./amount.ts";
export { fromHex, toHex } from "./bytes.ts";
export { payToAddressScript, scriptAddress } from "./script.ts";
