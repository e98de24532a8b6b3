/**
 * Membership transitions as the final prefix applies them (design §4, Membership).
 *
 * Writer membership changes at the op's final position (later blocks of the same segment see
 * it). Indexer changes collect in a working set during one anchor's segment; the engine compares
 * it with the epoch's set afterwards and cuts a new epoch if it differs. An added indexer is
 * only a candidate until a final block of its own has the adding block in its past (its JOIN).
 */
import type { MembershipOp } from './types.js'

/** A block named by local writer index and seq. */
export interface BlockRef {
  readonly w: number
  readonly seq: number
}

/** Membership fields of one writer (mutated in place by the transitions below). */
export interface MemberState {
  /** Writer at the current end of the final prefix. */
  member: boolean
  /** Was a member and got removed. */
  removed: boolean
  /** Ever a member (listed by `writers()`). */
  listed: boolean
  /** Final position of the entry that (last) added it; -1 for the creator. */
  addedAt: number
  /** Added as an indexer, not yet effective: the MEMBERSHIP block that added it. */
  candidate: BlockRef | null
}

/** A fresh non-member. */
export function nonMember (): MemberState {
  return { member: false, removed: false, listed: false, addedAt: -1, candidate: null }
}

/**
 * Applies one valid op (its block is final, not skipped, authored by an epoch indexer).
 * `working` is the indexer set being built for the next epoch; `t` the target's index.
 */
export function applyOp (working: Set<number>, t: number, target: MemberState, op: MembershipOp, position: number, source: BlockRef): void {
  if (op.op === 'add') {
    if (!target.member) {
      target.member = true
      target.removed = false
      target.listed = true
      target.addedAt = position
    }
    // re-adding a pending candidate moves its JOIN requirement to the newer op (as the reference)
    if (op.indexer && !working.has(t)) target.candidate = source
    return
  }
  if (working.has(t)) {
    if (working.size === 1) return // the last indexer can't be removed: the op is ignored
    working.delete(t)
  }
  target.candidate = null
  if (target.member) {
    target.member = false
    target.removed = true
  }
}

/**
 * JOIN activation: a final, non-skipped block of a candidate that has the adding block in its
 * past makes the candidate an indexer of the next epoch. `sees(ref)` tests ref ∈ past(block).
 */
export function maybeActivate (working: Set<number>, w: number, s: MemberState, sees: (ref: BlockRef) => boolean): void {
  if (s.candidate === null || !sees(s.candidate)) return
  s.candidate = null
  working.add(w)
}

/** True if the two indexer sets hold the same writers. */
export function sameSet (a: ReadonlySet<number>, b: readonly number[]): boolean {
  if (a.size !== b.length) return false
  for (const x of b) if (!a.has(x)) return false
  return true
}
