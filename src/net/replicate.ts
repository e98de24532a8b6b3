/**
 * What every connection of a Network carries: the store's replication, with its messages sent
 * one by one (unbatch.ts) and the channels taking turns at the send buffer (fair-send.ts).
 * One function, so tests that build a connection by hand replicate exactly as the Network does.
 */
import type Corestore from 'corestore'
import { unbatch } from './unbatch.js'
import { fairSend, type FairStream } from './fair-send.js'

/** A duplex stream Corestore can replicate over (a swarm connection, or a secret-stream). */
export type ReplicationStream = FairStream & { userData?: unknown }

/**
 * Replicate `store` over `conn`. With `batching`, Hypercore's own Protomux batches are kept and
 * nothing is reordered (batches mix channels).
 */
export function replicateOn (store: Corestore, conn: ReplicationStream, opts: { batching?: boolean } = {}): void {
  store.replicate(conn as unknown as Parameters<Corestore['replicate']>[0])
  if (opts.batching === true) return
  if (unbatch(conn)) fairSend(conn)
}
