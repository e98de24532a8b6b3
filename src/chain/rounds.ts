/**
 * Epochs, derived rounds, anchor rounds and leaders (design §4, corrected rule).
 *
 * An epoch has an indexer set `I` (local writer indexes sorted by writer key), `n = |I|`,
 * quorum `q = floor(n/2) + 1` and a cut (per writer, the first seq that belongs to the epoch).
 * Anchors sit on every round when n = 1 and on even rounds otherwise; the leader of anchor round
 * r is `I[(r / step) mod n]`.
 */

/** One ordering epoch. */
export interface Epoch {
  /** Epoch number, 0 for the chain's first. */
  readonly no: number
  /** Indexers as local writer indexes, sorted by writer key. */
  readonly set: readonly number[]
  readonly n: number
  readonly q: number
  /** Distance between anchor rounds: 1 when n = 1, else 2. */
  readonly step: number
  /** Per local writer index, the first seq in the epoch (writers past the end: 0). */
  readonly cut: Int32Array
}

/** Crash-fault quorum of n indexers. */
export function quorum (n: number): number {
  return Math.floor(n / 2) + 1
}

/** Builds an epoch from an indexer set already sorted by key. */
export function makeEpoch (no: number, sortedSet: readonly number[], cut: Int32Array): Epoch {
  const n = sortedSet.length
  return { no, set: sortedSet, n, q: quorum(n), step: n === 1 ? 1 : 2, cut }
}

/** First seq of writer `w` that belongs to the epoch. */
export function cutOf (e: Epoch, w: number): number {
  return w < e.cut.length ? (e.cut[w] as number) : 0
}

/** True if round r carries an anchor. */
export function isAnchorRound (e: Epoch, r: number): boolean {
  return r >= 0 && r % e.step === 0
}

/** Local index of the leader of anchor round r. */
export function leaderOf (e: Epoch, r: number): number {
  return e.set[Math.floor(r / e.step) % e.n] as number
}

/**
 * Round of a block of an epoch indexer, from the rounds of the latest epoch block of each
 * indexer in its past. `latestRound(i)` returns that round, or -1 if indexer i has no epoch block
 * in the past (for the block's own writer: its own previous block).
 *
 * Rounds never decrease along a feed, so an indexer's latest block in the past carries the
 * highest round of that indexer there, and "has a round-m block in the past" is "latest is m".
 */
export function roundFrom (e: Epoch, latestRound: (i: number) => number): number {
  let m = -1
  let count = 0
  for (const i of e.set) {
    const r = latestRound(i)
    if (r > m) {
      m = r
      count = 1
    } else if (r === m && r >= 0) {
      count++
    }
  }
  if (m < 0) return 0
  return count >= e.q ? m + 1 : m
}
