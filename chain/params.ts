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
    targetSpacing: 120, retargetInterval: 720, coinbaseMaturity: 100, jobs: PUBLIC_JOBS }, 258131),
  test: network({ name: "test", magic: 0xc4a3e1d1, powLimitBits: 0x1f00ffff, defaultPort: 18787,
    targetSpacing: 60, retargetInterval: 120, coinbaseMaturity: 20, jobs: PUBLIC_JOBS }, 62537),
  dev: network({ name: "dev", magic: 0xc4a3e1d2, powLimitBits: 0x207fffff, defaultPort: 8787,
    targetSpacing: 2, retargetInterval: 0, coinbaseMaturity: 5,
    jobs: { inclusionDelay: 1, disputeWindow: 5, defaultExpiry: 20 } }, 0),
};

/** Returns the parameters of `name`, or throws `RangeError` for an unknown network. */
export function networkParams(name: string): NetworkParams {
  if (!Object.hasOwn(TABLE, name)) {
    throw new RangeError(`unknown network "${name}" (expected one of: main, test, dev)`);
  }
  return TABLE[name as NetworkName];
}
