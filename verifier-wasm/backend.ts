/**
 * @module The prefill backend interface every RASTiC verifier backend implements (the WASM kernel,
 * onnxruntime-web, llama.cpp over FFI): one forward pass over a token sequence returning the
 * next-token logits at chosen sequence indices.
 */

/** A model loaded into some runtime, able to run one causal prefill pass. */
export interface PrefillBackend {
  /** Short backend name used in verdicts and calibration tables: "wasm", "onnx" or "llama". */
  readonly name: string;
  /** Vocabulary size: the length of every logits row. */
  readonly vocabSize: number;
  /**
   * Runs one prefill over `tokens` (token i at position i) and returns, for each index in
   * `positions`, the logits predicting the token that follows `tokens[index]`.
   */
  logitsAt(tokens: readonly number[], positions: readonly number[]): Promise<Float32Array[]>;
  /** Releases the runtime's resources; the backend is unusable afterwards. */
  dispose?(): void | Promise<void>;
}
