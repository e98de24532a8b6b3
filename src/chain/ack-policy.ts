/**
 * The indexer ack policy (design §4, Acks) as a pure decision over facts the engine computes:
 * the corrected policy of the reference simulation (`fixedFastWait`): only evaluable blocks
 * count, an ACK that would open a new round for the indexer goes out at once, other ACKs are
 * debounced, and a vote-round witness waits for a missing anchor whose leader is active.
 */
import type { AckDecision, WriterKey } from './types.js'

/** What the engine knows when an indexer asks whether to ack. */
export interface AckFacts {
  /** The asker is an indexer of the current epoch (and finalization is not halted). */
  readonly indexer: boolean
  /** (b) an added, valid, non-ACK block of a member is not final yet. */
  readonly pending: boolean
  /** (a) the next block would link something not in past⁺(own latest block). */
  readonly knowsNew: boolean
  /** The next block would be the asker's witness of a new round. */
  readonly newWitness: boolean
  /** Round the next block would get. */
  readonly round: number
  /**
   * If that witness would vote for anchor round `round - 1`: the anchor's leader when the anchor
   * is missing here and the leader was active in the last two rounds, else null.
   */
  readonly missingLeader: WriterKey | null
}

/** The ack decision for one indexer. */
export function decideAck (f: AckFacts): AckDecision {
  if (!f.indexer || !f.pending || !f.knowsNew) return { kind: 'none' }
  if (!f.newWitness) return { kind: 'debounce' }
  if (f.missingLeader !== null) return { kind: 'wait-anchor', leader: f.missingLeader, round: f.round - 1 }
  return { kind: 'now' }
}
