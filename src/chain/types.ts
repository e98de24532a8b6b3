/**
 * Types of the consensus layer. The layer is pure: it is fed blocks in causal order and emits
 * final segments; it never does I/O, never reads the clock and never starts a timer.
 */

/** A writer, named by its 32-byte Hypercore key as lowercase hex (byte order = string order). */
export type WriterKey = string

/** A causal link: `length` blocks of `writer`'s feed are in the past of the linking block. */
export interface Head {
  writer: WriterKey
  length: number
}

/** A membership change carried by a MEMBERSHIP entry. */
export type MembershipOp =
  | { op: 'add', key: WriterKey, indexer: boolean }
  | { op: 'remove', key: WriterKey }

/**
 * What the consensus layer needs of one block. The feed layer has already checked the signature
 * and the hash pins of `heads`, and decoded the block (a block that did not decode arrives with
 * `heads: []`, `entries: 0`, `invalid: true`).
 */
export interface BlockInput {
  writer: WriterKey
  seq: number
  /** Links to other writers' blocks (never to `writer` itself: the own previous block is implied). */
  heads: Head[]
  /** Number of entries that count in the chain view (non-ACK entries). 0 for an ACK block. */
  entries: number
  /** MEMBERSHIP ops of this block's entries, in entry order, with the entry index of each. */
  membership: Array<MembershipOp & { index: number }>
  /** True if the block carries a JOIN entry (an added indexer announcing itself). */
  join: boolean
  /** 32-byte hash of the encoded block; folded into the chain hash. */
  hash: Uint8Array
  /** Clock the writer stored in the block, compared against the locally computed one. */
  claimedClock?: number
  /** Block did not decode or broke a rule: ordered as an empty block, its entries skipped. */
  invalid?: boolean
}

/** Why a block's entries were left out of the chain view although the block was ordered. */
export type SkipReason = 'not-member' | 'invalid' | null

/** One block at its final place. */
export interface FinalBlock {
  writer: WriterKey
  seq: number
  /** Position of the block's first entry in the chain view. */
  position: number
  /** Entries this block contributes to the view (0 for ACKs and skipped blocks). */
  entries: number
  /** Chain hash before this block's first entry. */
  hashBefore: Uint8Array
  skipped: SkipReason
}

/** The blocks one committed anchor makes final, in order. */
export interface Segment {
  epoch: number
  round: number
  anchor: { writer: WriterKey, seq: number }
  blocks: FinalBlock[]
  /** Position of the first entry of the segment, and one past the last. */
  start: number
  end: number
  /** Chain hash after the segment. */
  hash: Uint8Array
}

/** The ack policy's answer for an indexer (design §4, Acks); the node turns it into timers. */
export type AckDecision =
  | { kind: 'none' }
  /** append an ACK now: it would be this indexer's witness of a new round */
  | { kind: 'now' }
  /** append an ACK after a short debounce (tens of ms), then ask again */
  | { kind: 'debounce' }
  /** the ACK would vote for an anchor this node lacks: wait up to ~2 round trips, then ack */
  | { kind: 'wait-anchor', leader: WriterKey, round: number }

/** A writer as the final prefix knows it. */
export interface WriterInfo {
  key: WriterKey
  indexer: boolean
  /** Added as an indexer but not yet effective (its JOIN is not final yet). */
  pendingIndexer: boolean
  removed: boolean
  /** Final position of the entry that added it (-1 for the creator). */
  addedAt: number
  /** Number of this writer's blocks in the final prefix. */
  finalLength: number
  /** Number of this writer's blocks fed to the engine (final and tentative). */
  length: number
  /** Feed forked: proof kept by the node, nothing past `forkedAt` is ordered. */
  forkedAt: number | null
}

/** Injected hash: blake2b-256 over the concatenation of `parts`. */
export type HashFn = (parts: Uint8Array[]) => Uint8Array

/** Something odd about an added block, for the node to report; warnings never affect the order. */
export type EngineWarning =
  /** The clock stored in the block differs from the one computed locally (the local one is used). */
  | { kind: 'clock-mismatch', writer: WriterKey, seq: number, claimed: number, computed: number }
  /** The block broke a linking or encoding rule and is ordered as an empty, skipped block. */
  | { kind: 'invalid-block', writer: WriterKey, seq: number, reason: string }
