/**
 * @module The light client's public entry, bundled into `dist/client.mjs` for Node and browsers
 * (`verifier-wasm/build_bundle.ts`): the job client, the node's HTTP client and subscription, the
 * model's checked metadata and tokenizer, chat prompts, and the verifier core. No FFI, no file
 * access.
 */

export {
  refundAtExpiry,
  refundEscrow,
  submitJob,
  type SubmitOptions,
  type SubmitResult,
} from "./job_client.ts";
export { JobFailedError } from "./job_failure.ts";
export { JobClientError } from "./errors.ts";
export { jobRecordOf } from "./job_record.ts";
export { NodeClient } from "../relay/client.ts";
export { Subscription } from "./subscription.ts";
export { fetchModelMetadata, tokenizerForModel } from "./model_metadata.ts";
export { answerText, messagesPrompt, textPrompt } from "./prompt.ts";
export { type ChatMessage, chatPrompt } from "./chat_template.ts";
export { Tokenizer } from "./tokenizer/mod.ts";
export { addressFromPublicKey, generateSecretKey, publicKeyOf } from "../chain/keys.ts";
export { fromHex, toHex } from "../chain/bytes.ts";
export { type Verdict, verify } from "../verifier-wasm/mod.ts";
