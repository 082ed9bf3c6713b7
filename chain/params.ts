/** @module Network parameter table: `main`, `test` and `dev` (dev shrinks minutes to seconds). */

/** Names of the networks a node can join. */
export type NetworkName = "main" | "test" | "dev";

/** Consensus and policy parameters of one network. */
export interface NetworkParams {
  /** Network name. */
  readonly name: NetworkName;
  /** 4-byte magic that starts every envelope on this network (u32, little-endian on the wire). */
  readonly magic: number;
  /** Highest (easiest) target, as compact bits. */
  readonly powLimitBits: number;
  /** Target seconds between blocks. */
  readonly targetSpacing: number;
  /** Blocks between difficulty retargets; 0 disables retargeting (dev). */
  readonly retargetInterval: number;
  /** Blocks before a coinbase output may be spent. */
  readonly coinbaseMaturity: number;
  /** Blocks between subsidy halvings. */
  readonly halvingInterval: number;
  /** Largest allowed distance of a block time into the future, seconds. */
  readonly maxFutureBlockTime: number;
  /** Genesis block header fields (the genesis coinbase pays to an unspendable script). */
  readonly genesis: { readonly time: number; readonly bits: number; readonly nonce: number };
  /** Job timings, in blocks (escrow expiry default, inclusion delay, dispute window). */
  readonly jobs: {
    readonly inclusionDelay: number;
    readonly disputeWindow: number;
    readonly defaultExpiry: number;
  };
  /** Default HTTP port of a node. */
  readonly defaultPort: number;
  /** Sprint proof of compute (chain/sprint.ts, docs/protocol.md "Compute weight"). */
  readonly sprint: SprintParams;
  /** Least value of a user report's bond, base units (chain/report_rules.ts). */
  readonly reportFee: bigint;
  /**
   * Blocks after the accused held reward's epoch end during which only the client may spend a
   * report's bond (on its validators' votes); from then on the executor may take it.
   */
  readonly reportWindow: number;
}

/** Shape of the seeded sprint transformer (a llama-architecture model, f32 weights). */
export interface SprintModelShape {
  /** Vocabulary size: input token range and the length of the output vector. */
  readonly vocab: number;
  /** Embedding width. */
  readonly embd: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads (key/value heads equal). */
  readonly heads: number;
  /** Feed-forward width. */
  readonly ff: number;
  /** Input sequence length per nonce. */
  readonly seqLen: number;
}

/** Sprint parameters: timing, model, difficulty and the statistical validation rule. */
export interface SprintParams {
  /** Blocks between sprint starts; sprint k starts at height k * interval (k >= 1). */
  readonly interval: number;
  /** Blocks after the start in which a proof may be included (heights start+1 .. start+window). */
  readonly window: number;
  /** The seeded model's shape. */
  readonly model: SprintModelShape;
  /** Distance threshold: a nonce whose distance to the target is below it is a proof nonce. */
  readonly threshold: number;
  /** Expected nonces tried per proof nonce at that threshold (documentation and calibration). */
  readonly odds: number;
  /** Most nonces in one proof. */
  readonly maxNonces: number;
  /** Nonces of a proof re-run by a validator. */
  readonly sampleSize: number;
  /** Honest mismatch rate p0 (float noise of other backends near the threshold), a fraction. */
  readonly honestMismatch: { readonly num: number; readonly den: number };
  /** Level of the binomial test: a proof is rejected when P(X >= mismatches | p0) < alpha. */
  readonly alpha: { readonly num: number; readonly den: number };
}

/** 1 coin in base units. */
export const COIN = 100_000_000n;
/** Upper bound of any amount and of any sum of amounts (21 million coins, as Bitcoin). */
export const MAX_MONEY = 21_000_000n * COIN;
/** Block subsidy before the first halving: 50 coins. */
export const INITIAL_SUBSIDY = 50n * COIN;
/** Largest serialized block, bytes. */
export const MAX_BLOCK_SIZE = 1_000_000;
/** Largest serialized transaction, bytes. */
export const MAX_TX_SIZE = 100_000;
/** Number of blocks whose median time a new block must exceed. */
export const MEDIAN_TIME_SPAN = 11;

/** Unix time of every network's genesis block. */
const GENESIS_TIME = 1764000000;
/** Job timings of the public networks (dev shortens the window and the expiry). */
const PUBLIC_JOBS = { inclusionDelay: 1, disputeWindow: 30, defaultExpiry: 60 } as const;

/** Sprint statistics shared by every network: p0 = 1/100, alpha = 1/10,000. */
const SPRINT_TEST = {
  honestMismatch: { num: 1, den: 100 },
  alpha: { num: 1, den: 10_000 },
} as const;
/**
 * Sprint of the public networks: a 4-block, 2,048-token model, 1 nonce in 900 a proof. The
 * threshold is sqrt(2 - 2 z / sqrt(n - 1)) with z the normal 1 - 1/900 quantile and n the vocabulary
 * (see docs/protocol.md, "Compute weight").
 */
const PUBLIC_SPRINT_MODEL = { vocab: 2048, embd: 128, layers: 4, heads: 4, ff: 384, seqLen: 16 };
const PUBLIC_SPRINT = {
  model: PUBLIC_SPRINT_MODEL,
  threshold: 1.3655715,
  odds: 900,
  maxNonces: 2048,
  sampleSize: 64,
  ...SPRINT_TEST,
} as const;

/** What differs between networks; the rest is shared and genesis is mined at the easiest target. */
type NetworkSpecifics = Omit<NetworkParams, "genesis" | "halvingInterval" | "maxFutureBlockTime">;

/** A network from its specifics and its genesis nonce. */
function network(p: NetworkSpecifics, genesisNonce: number): NetworkParams {
  return {
    ...p,
    halvingInterval: 1_000_000,
    maxFutureBlockTime: 2 * 60 * 60,
    genesis: { time: GENESIS_TIME, bits: p.powLimitBits, nonce: genesisNonce },
  };
}

// deno-fmt-ignore
const TABLE: Record<NetworkName, NetworkParams> = {
  main: network({ name: "main", magic: 0xc4a3e1d0, powLimitBits: 0x1e0fffff, defaultPort: 8787,
    targetSpacing: 120, retargetInterval: 720, coinbaseMaturity: 100, jobs: PUBLIC_JOBS,
    sprint: { interval: 720, window: 15, ...PUBLIC_SPRINT }, reportFee: 100_000n,
    reportWindow: 720 }, 258131),
  test: network({ name: "test", magic: 0xc4a3e1d1, powLimitBits: 0x1f00ffff, defaultPort: 18787,
    targetSpacing: 60, retargetInterval: 120, coinbaseMaturity: 20, jobs: PUBLIC_JOBS,
    sprint: { interval: 120, window: 10, ...PUBLIC_SPRINT }, reportFee: 100_000n,
    reportWindow: 120 }, 62537),
  dev: network({ name: "dev", magic: 0xc4a3e1d2, powLimitBits: 0x207fffff, defaultPort: 8787,
    targetSpacing: 2, retargetInterval: 0, coinbaseMaturity: 5,
    jobs: { inclusionDelay: 1, disputeWindow: 5, defaultExpiry: 20 },
    sprint: { interval: 10, window: 4, model: { vocab: 128, embd: 32, layers: 2, heads: 2, ff: 64,
      seqLen: 8 }, threshold: 1.3144343, odds: 16, maxNonces: 1024, sampleSize: 16,
      ...SPRINT_TEST }, reportFee: 10_000n, reportWindow: 10 }, 0),
};

/** Returns the parameters of `name`, or throws `RangeError` for an unknown network. */
export function networkParams(name: string): NetworkParams {
  if (!Object.hasOwn(TABLE, name)) {
    throw new RangeError(`unknown network "${name}" (expected one of: main, test, dev)`);
  }
  return TABLE[name as NetworkName];
}
