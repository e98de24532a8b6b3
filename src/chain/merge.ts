/**
 * k-way merge of per-writer runs into the chain's block order `(clock, writer key, seq)`.
 *
 * Each run is a contiguous slice of one writer's feed. Clocks strictly increase along a feed
 * (a block's clock is 1 + the clock of its own previous block at least), so each run is already
 * sorted and the merge costs O(total · log runs) instead of a full sort. Writer key order is
 * given as a precomputed `rank` (position of the key in sorted key order), never a local index.
 */

/** One run: `items[from..to)` of a writer whose key has rank `rank`. */
export interface Run<T extends { readonly clock: number }> {
  readonly items: readonly T[]
  readonly from: number
  readonly to: number
  readonly rank: number
}

/** Calls `visit` for every item of every run in `(clock, rank, position)` order. */
export function mergeRuns<T extends { readonly clock: number }> (runs: ReadonlyArray<Run<T>>, visit: (item: T) => void): void {
  const live = runs.filter((r) => r.to > r.from)
  if (live.length === 0) return
  if (live.length === 1) {
    // fast path: a single writer (solo chains, or one writer catching up)
    const r = live[0] as Run<T>
    for (let i = r.from; i < r.to; i++) visit(r.items[i] as T)
    return
  }
  // binary min-heap of cursors keyed by (clock of the cursor's item, rank)
  const heap: Array<{ run: Run<T>, i: number, clock: number }> = live.map((run) => ({ run, i: run.from, clock: (run.items[run.from] as T).clock }))
  const less = (a: { run: Run<T>, clock: number }, b: { run: Run<T>, clock: number }): boolean =>
    a.clock < b.clock || (a.clock === b.clock && a.run.rank < b.run.rank)
  const down = (k: number): void => {
    const n = heap.length
    for (;;) {
      const l = 2 * k + 1
      if (l >= n) return
      const r = l + 1
      const m = r < n && less(heap[r]!, heap[l]!) ? r : l
      if (!less(heap[m]!, heap[k]!)) return
      const t = heap[m]!
      heap[m] = heap[k]!
      heap[k] = t
      k = m
    }
  }
  for (let k = (heap.length >> 1) - 1; k >= 0; k--) down(k)
  while (heap.length > 0) {
    const top = heap[0]!
    visit(top.run.items[top.i] as T)
    top.i++
    if (top.i < top.run.to) {
      top.clock = (top.run.items[top.i] as T).clock
    } else {
      const last = heap.pop()!
      if (heap.length === 0) break
      heap[0] = last
    }
    down(0)
  }
}
