/** @module Mining worker: runs the WASM SHA-256d kernel over nonce ranges sent by the pool. */

import { createMiner } from "../verifier-wasm/mining.ts";

/** A search request from the pool. */
interface SearchRequest {
  id: number;
  header: Uint8Array;
  target: Uint8Array;
  start: number;
  count: number;
}

const miner = await createMiner();
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SearchRequest>) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  const { id, header, target, start, count } = e.data;
  try {
    scope.postMessage({ id, nonce: miner.searchNonces(header, target, start, count) });
  } catch (err) {
    scope.postMessage({ id, error: (err as Error).message });
  }
};
scope.postMessage({ ready: true });
