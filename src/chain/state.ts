/**
 * The engine's in-memory state: the writer table with each writer's retained blocks. Shared by
 * the engine and the snapshot codec so a restored engine is the same state, not a re-derivation.
 */
import type { Epoch } from './rounds.js'
import type { MemberState } from './membership.js'
import type { MembershipOp } from './types.js'
import type { Clocked } from './vector-clock.js'
import type { WitnessList } from './witness-list.js'

/** Block flag: the block broke a rule or did not decode (ordered as empty). */
export const F_INVALID = 1
/** Block flag: carries a JOIN entry (informational; activation looks at the causal past). */
export const F_JOIN = 2
/** Block flag: valid and not a bare ACK (entries, membership or JOIN): worth acking for. */
export const F_SUBSTANTIVE = 4

/** A membership op with the index of its entry inside the block. */
export type IndexedOp = MembershipOp & { index: number }

/** What the engine keeps of one added block. */
export interface BlockMeta extends Clocked {
  /** Lamport clock computed locally. */
  readonly clock: number
  /** Round in the current epoch, -1 if the block is not an epoch indexer block. */
  round: number
  /** Entries as the block claims them (a skipped block contributes 0). */
  readonly entries: number
  readonly flags: number
  readonly ops: readonly IndexedOp[] | null
  readonly hash: Uint8Array
}

/** One writer: identity, membership and the retained suffix of its feed. */
export interface WriterState extends MemberState {
  readonly key: string
  readonly keyBytes: Uint8Array
  /** Local index: arrival order on this peer, used for array slots only, never for ordering. */
  readonly index: number
  /** Position of the key in sorted key order among known writers (ordering tie-break). */
  rank: number
  /** Blocks `base ..< length`; earlier ones were pruned (see ChainEngine#prune). */
  blocks: BlockMeta[]
  base: number
  length: number
  /** Blocks in the final prefix. */
  ordered: number
  /** Equivocation: blocks at seq >= forkedAt are never added nor ordered. */
  forkedAt: number | null
  /** Substantive blocks in `ordered ..< min(length, forkedAt)`. */
  pending: number
  /** Current epoch: round → seq of this writer's witness of that round. */
  readonly witness: WitnessList
}

/** Everything a snapshot holds. */
export interface CoreState {
  chainKey: Uint8Array
  creator: number
  writers: WriterState[]
  epoch: Epoch
  lastCommitted: number
  finalLength: number
  finalHash: Uint8Array
  halted: string | null
}

const HEX64 = /^[0-9a-f]{64}$/

/** True for a 32-byte key as lowercase hex. */
export function isWriterKey (key: unknown): key is string {
  return typeof key === 'string' && HEX64.test(key)
}

/** 32 bytes of a lowercase hex key. */
export function keyToBytes (key: string): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = parseInt(key.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Lowercase hex of a 32-byte key. */
export function bytesToKey (b: Uint8Array): string {
  let s = ''
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16)
  return s
}
