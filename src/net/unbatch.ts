/**
 * Replication messages go out one by one, not in Protomux batches.
 *
 * Hypercore's replicator corks a connection's Protomux while it answers the requests it has
 * queued, so every block it reads in the meantime joins one batch: one secret-stream message of
 * up to 8 MiB (Protomux's MAX_BATCH), copied once more to build it, sent when the last request is
 * answered. With 1 MiB file blocks that means:
 * - the receiver holds a whole batch before it can decrypt and verify its first block: the peaks
 *   of Buffers in flight behind a large transfer's RSS spikes (docs/architecture.md, "Memory on
 *   large transfers");
 * - the sender ignores the stream's backpressure while corked: `protomux.drained` is only
 *   updated when the batch goes out, so it answers every queued request at once;
 * - throttled or slow links take blocks in 8 MiB lumps.
 * Sent one by one, each block goes out as soon as it is read, and `drained` stops the replicator
 * when the stream is full. Batching only saves per-message framing, which small messages pay:
 * bench/catch-up.js (100,000 small entries) measured no difference (docs/architecture.md,
 * "Replication messages one by one").
 *
 * Done by replacing cork/uncork on the connection's Protomux: batches are only a grouping of
 * messages that are sent in order either way, so not batching never changes what is sent. A
 * batch already open when this runs is still sent, at its first uncork.
 */

/** The part of a Protomux this touches. */
interface Corkable {
  isProtomux?: boolean
  corked: number
  cork: () => void
  uncork: () => void
}

/**
 * Make the Protomux that replicates over `conn` (its `userData`, set by `store.replicate(conn)`)
 * send each message at once. Returns false, changing nothing, if `conn` carries no Protomux.
 */
export function unbatch (conn: { userData?: unknown }): boolean {
  const mux = conn.userData as Corkable | null | undefined
  if (mux === null || mux === undefined || mux.isProtomux !== true || typeof mux.cork !== 'function' || typeof mux.uncork !== 'function') return false
  const uncork = mux.uncork.bind(mux)
  mux.cork = () => {}
  // a batch opened before this ran goes out at the next uncork, whoever calls it
  mux.uncork = () => { if (mux.corked > 0) { mux.corked = 1; uncork() } }
  return true
}
