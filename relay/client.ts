/**
 * @module A typed HTTP client of a node's `/v1` API, as wallets and light clients use it: one method
 * per call the clients make, typed answers, and errors that keep their class across HTTP (the node
 * answers `{"error":{"code","message","class"}}`; the client throws that class with that code).
 */

import {
  CamelidError,
  CodedError,
  DecodeError,
  NotFoundError,
  ValidationError,
} from "../chain/errors.ts";
import { fromHex, toHex } from "../chain/bytes.ts";
import type { WalletUtxo } from "../chain/wallet.ts";
import { type Envelope, envelopeFromJson, envelopeToJson } from "./envelope.ts";
import { Misbehaviour, RequestError } from "./errors.ts";

/** Codes of the errors the client raises itself (the node's own codes come back as they were). */
export type NodeClientErrorCode =
  /** The node cannot be reached (connection refused, DNS, reset). */
  | "node/unreachable"
  /** The node answered something that is not the JSON the call expects. */
  | "node/bad-answer";

/** An error of the client itself, not one the node answered. */
export class NodeClientError extends CodedError<NodeClientErrorCode> {}

/** The error classes a node names in its JSON errors, rebuilt on the client side. */
const ERROR_CLASSES: Readonly<Record<string, (code: string, message: string) => CamelidError>> = {
  CamelidError: (code, message) => new CamelidError(code, message),
  DecodeError: (code, message) => new DecodeError(code, message),
  ValidationError: (code, message) => new ValidationError(code, message),
  NotFoundError: (code, message) => new NotFoundError(code, message),
  RequestError: (code, message) => new RequestError(code, message),
  // Misbehaviour points are the node's business; the client sees the violation only.
  Misbehaviour: (code, message) => new Misbehaviour(code, message, 0),
};

/**
 * The typed error of an HTTP error answer: the class the node names (`error.class`), else by status
 * (404 not found, 422 rule broken, any other a refused request), with the node's code and message.
 */
export function errorFromAnswer(status: number, body: unknown): CamelidError {
  const e = (body as { error?: { code?: unknown; message?: unknown; class?: unknown } } | null)
    ?.error;
  const code = typeof e?.code === "string" ? e.code : `http/${status}`;
  const message = typeof e?.message === "string" ? e.message : `HTTP ${status}`;
  const named = typeof e?.class === "string" ? ERROR_CLASSES[e.class] : undefined;
  if (named) return named(code, message);
  if (status === 404) return new NotFoundError(code, message);
  if (status === 422) return new ValidationError(code, message);
  return new RequestError(code, message);
}

/** `GET /v1/status` as the clients read it (a node adds sections such as `compute`). */
export interface StatusAnswer {
  /** Network name. */
  network: string;
  /** Height of the best chain. */
  height: number;
  /** Hash of the best block. */
  tip: string;
  /** Further sections. */
  [section: string]: unknown;
}

/** `GET /v1/txs/:txid`: a transaction in the mempool or on chain. */
export interface TxAnswer {
  /** Txid (hex). */
  txid: string;
  /** Job id (hex; zeros when none). */
  jobId: string;
  /** Outputs. */
  outputs: { n: number; units: string; address: string | null; scriptPubKey: string }[];
  /** Raw transaction (hex). */
  hex: string;
  /** Height of the block holding it; null while in the mempool. */
  height: number | null;
  /** Blocks on top of (and including) its block; 0 in the mempool. */
  confirmations: number;
}

/** A non-delivery claim or its answer recorded on chain for a stake. */
export interface NoticeAnswer {
  /** "claim" or "answer". */
  kind: string;
  /** The transaction holding it. */
  txid: string;
  /** Its block height. */
  height: number;
}

/** `GET /v1/jobs/:id`: a job as the node's job pool sees it, with its stake's notices. */
export interface JobAnswer {
  /** Job id (hex). */
  id: string;
  /** Public state (offered, committed, paid, settled, disputed, expired). */
  state: string;
  /** Claims and answers naming the job's stake. */
  notices: NoticeAnswer[];
  /** Further fields (job, history, escrow, stake, unspent). */
  [field: string]: unknown;
}

/** `GET /v1/peers` as the client reads it: the node's own key and the peers it knows. */
export interface PeersAnswer {
  /** The node itself (its envelope key, hex; null before its network started). */
  self: { key: string | null; url: string };
  /** Open links. */
  links: { key: string; url: string | null }[];
  /** The peer table. */
  table: { url: string; key?: string | null }[];
}

/** `GET /v1/weights` as the client reads it: each node's compute weight from one sprint. */
export interface WeightsAnswer {
  /** The sprint the weights come from. */
  sprint: number;
  /** Sum of the weights. */
  total: number;
  /** One entry per node with a proof: its key, its address (rewards) and its weight. */
  weights: { nodeKey: string; address: string; weight: number; share: number }[];
  /** Whether the sprint's proof window has closed (its weights are final). */
  closed?: boolean;
}

/** `GET /v1/addresses/:address` as the client reads it. */
export interface AddressAnswer {
  /** Confirmed balance (coins). */
  balance: string;
  /** Mature, unspent-in-mempool balance (coins). */
  spendable: string;
  /** Confirmed outputs. */
  utxos: {
    txid: string;
    vout: number;
    units: string;
    mature: boolean;
    spentInMempool: string | null;
    scriptPubKey: string;
  }[];
  /** Unconfirmed outputs paying the address. */
  unconfirmed: { txid: string; vout: number; units: string; scriptPubKey: string }[];
}

/** A message waiting in a key's inbox on the node. */
export interface InboxMessage {
  /** Its place in the inbox (ask for messages after it next time). */
  seq: number;
  /** The signed envelope. */
  envelope: Envelope;
}

/** A node's HTTP API. */
export class NodeClient {
  /** Base URL. */
  readonly url: string;

  /** Talks to the node at `url`. */
  constructor(url: string) {
    this.url = url.replace(/\/$/, "");
  }

  /**
   * GET or POST JSON at `path`; throws the node's typed error on a 4xx/5xx (see
   * {@link errorFromAnswer}) and {@link NodeClientError} when the node cannot be reached.
   */
  async call<T>(path: string, init?: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, init);
    } catch (e) {
      throw new NodeClientError(
        "node/unreachable",
        `cannot reach the node at ${this.url}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const body = await res.json().catch(() => undefined);
    if (!res.ok) throw errorFromAnswer(res.status, body);
    if (body === undefined) {
      throw new NodeClientError("node/bad-answer", `${path}: the node's answer is not JSON`);
    }
    return body as T;
  }

  /** The node's network, height and tip. */
  status(): Promise<StatusAnswer> {
    return this.call<StatusAnswer>("/v1/status");
  }

  /** The node's own key and the peers it knows (links and table). */
  peers(): Promise<PeersAnswer> {
    return this.call<PeersAnswer>("/v1/peers");
  }

  /**
   * The compute weights in force (the latest sprint whose window has closed), or those of
   * `sprint`; `NotFoundError` `sprint/none-closed` before the first window closes.
   */
  weights(sprint?: number, init?: RequestInit): Promise<WeightsAnswer> {
    return this.call<WeightsAnswer>(
      sprint === undefined ? "/v1/weights" : `/v1/weights?sprint=${sprint}`,
      init,
    );
  }

  /** A transaction by txid (mempool or chain); `NotFoundError` `tx/not-found` when unknown. */
  tx(txid: string): Promise<TxAnswer> {
    return this.call<TxAnswer>(`/v1/txs/${txid}`);
  }

  /**
   * Broadcasts a raw transaction; `status` `orphan`: the node holds it until its missing parents
   * come (chain/tx_intake.ts).
   */
  sendTx(bytes: Uint8Array): Promise<{ txid: string; status?: "mempool" | "orphan" }> {
    return this.call("/v1/txs", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: toHex(bytes),
    });
  }

  /** A job as the node's pool sees it; `NotFoundError` `job/not-found` when unknown. */
  job(jobId: string): Promise<JobAnswer> {
    return this.call<JobAnswer>(`/v1/jobs/${jobId}`);
  }

  /** The claims and answers recorded on chain for a job's stake. */
  async jobNotices(jobId: string): Promise<NoticeAnswer[]> {
    return (await this.job(jobId)).notices;
  }

  /** Balance and outputs of an address. */
  address(address: string): Promise<AddressAnswer> {
    return this.call<AddressAnswer>(`/v1/addresses/${address}`);
  }

  /** Outputs a wallet can spend now: mature and not spent in the mempool, plus unconfirmed change. */
  async spendableCoins(address: string): Promise<WalletUtxo[]> {
    const a = await this.address(address);
    return [...a.utxos.filter((u) => u.mature && !u.spentInMempool), ...a.unconfirmed].map((u) => ({
      txid: u.txid,
      vout: u.vout,
      value: BigInt(u.units),
      scriptPubKey: fromHex(u.scriptPubKey),
    }));
  }

  /** Messages to a public key after inbox place `after`, their envelopes decoded and checked. */
  async messages(to: Uint8Array, after = 0): Promise<InboxMessage[]> {
    const got = await this.call<{ messages: (Record<string, unknown> & { seq: number })[] }>(
      `/v1/messages?to=${toHex(to)}&after=${after}`,
    );
    return got.messages.map(({ seq, ...json }) => ({ seq, envelope: envelopeFromJson(json) }));
  }

  /** Posts a signed envelope for the node to deliver and relay. */
  postEnvelope(env: Envelope): Promise<{ id: string; from: string; result: unknown }> {
    return this.call("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(envelopeToJson(env)),
    });
  }
}
