/**
 * "Caught up": when `join` and `sync` stop waiting. A node is caught up with the chain when
 *
 *   1. it holds the genesis and is connected to at least one peer replicating the chain, for at
 *      least `SETTLE_MS`, that has sent data (right after connecting, a peer's lengths are not
 *      known yet, and lag would read 0);
 *   2. lag is 0: for every writer feed it stores every block any connected peer has;
 *   3. unsent is 0: when a connected peer replicates this user's feed, at least one such peer
 *      holds all of it (so `sync` after offline work returns once the work is on a peer);
 *   4. nothing pending can still become final soon: no entry is pending, or the final length
 *      has reached the length the chain had when 1–3 first held (a busy chain keeps adding
 *      pending entries; those are not waited for), or the final length has not moved for
 *      `QUIET_MS` (what is pending waits for indexers that are not online).
 */
import { err } from '../errors.js'
import type { ChainNode } from '../node.js'
import type { Network } from '../net/network.js'
import type { SyncOptions, SyncProgress, SyncResult } from './chain-api.js'

/** A peer must have been connected this long before its lengths count (ms). */
export const SETTLE_MS = 1000
/** With pending entries that are not becoming final, stop waiting after this long (ms). */
export const QUIET_MS = 2000
/** Re-check at least this often (ms): the windows above expire without an event. */
const TICK_MS = 100
/** Progress is reported on every change, and otherwise at most this often (ms). */
const PROGRESS_MS = 250

/** One sample of a node's sync state. */
export interface SyncSample {
  /** connected peers replicating the chain */
  peers: number
  /** of those, peers connected for at least SETTLE_MS */
  settledPeers: number
  length: number
  finalLength: number
  pending: number
  lag: number
  unsent: number
  writers: number
  /** a string that changes whenever any count does (progress is reported on change) */
  signature: string
}

/** Sample a node (and the network it syncs over) at `now` (ms since the epoch). */
export function sample (node: ChainNode, network: Network | null, now = Date.now(), settle = SETTLE_MS): SyncSample {
  const s = node.status()
  let lag = 0
  const parts: string[] = [String(s.length), String(s.finalLength)]
  for (const w of s.writers) {
    lag += w.lag
    parts.push(`${w.length}:${w.remoteLength}`)
  }
  let unsent = 0
  const own = s.writers.find((w) => w.self)
  if (network !== null && network.opened && network.closing === null && own !== undefined && own.length > 0) {
    const peerKeys = new Set(s.peers.map((p) => p.publicKey))
    let best = -1
    for (const row of network.peers()) {
      if (!peerKeys.has(row.publicKey)) continue
      const c = row.cores.find((x) => x.key === s.writerKey)
      if (c !== undefined) best = Math.max(best, c.remoteContiguousLength)
    }
    if (best >= 0) unsent = Math.max(0, own.length - best)
    parts.push(`u${best}`)
  }
  // a connection that never received a byte is a dead half (see deadConnectionTimeout in src/net/network.ts): not a peer to trust
  const settledPeers = s.peers.filter((p) => now - p.connectedAt >= settle && p.bytesIn > 0).length
  parts.push(`p${s.peers.length}/${settledPeers}`)
  return {
    peers: s.peers.length, settledPeers, length: s.length, finalLength: s.finalLength, pending: s.pending, lag, unsent,
    writers: s.writers.filter((w) => !w.removed).length, signature: parts.join(','),
  }
}

/** Conditions 1–3 of the module comment. */
export function inSync (x: SyncSample): boolean {
  return x.settledPeers >= 1 && x.length >= 1 && x.lag === 0 && x.unsent === 0
}

/**
 * Tracks samples over time and says when the node is caught up (condition 4 needs history).
 * Pure apart from the clock values it is given, so tests can drive it.
 */
export class CatchUp {
  private target = -1
  private finalLength = -1
  private finalAt: number

  constructor (now: number, private readonly quiet = QUIET_MS) {
    this.finalAt = now
  }

  /** Feed a sample taken at `now`; true once caught up. */
  update (x: SyncSample, now: number): boolean {
    if (x.finalLength !== this.finalLength) { this.finalLength = x.finalLength; this.finalAt = now }
    if (!inSync(x)) return false
    if (this.target < 0) this.target = x.length
    return x.pending === 0 || x.finalLength >= this.target || now - this.finalAt >= this.quiet
  }
}

/** Wait until `node` is caught up over `network` (see the module comment). */
export async function waitCaughtUp (node: ChainNode, network: Network, opts: SyncOptions): Promise<SyncResult> {
  const started = Date.now()
  await node.update()
  const tracker = new CatchUp(started)
  return new Promise<SyncResult>((resolve, reject) => {
    let finished = false
    let lastReport = 0
    let lastSig = ''
    const progress = (x: SyncSample, caughtUp: boolean): SyncProgress => ({
      peers: x.peers, length: x.length, finalLength: x.finalLength, pending: x.pending, lag: x.lag, unsent: x.unsent,
      writers: x.writers, caughtUp, elapsed: Date.now() - started,
    })
    const finish = (e: Error | null, r?: SyncResult): void => {
      if (finished) return
      finished = true
      clearInterval(tick)
      node.off('update', check)
      network.off('update', check)
      opts.signal?.removeEventListener('abort', onAbort)
      if (e !== null) reject(e)
      else resolve(r!)
    }
    const check = (): void => {
      if (finished) return
      if (node.closing !== null || network.closing !== null) return finish(err('CLOSED', 'the node closed while syncing'))
      const now = Date.now()
      const x = sample(node, network, now)
      const caughtUp = tracker.update(x, now)
      if (opts.onProgress !== undefined && (caughtUp || x.signature !== lastSig || now - lastReport >= PROGRESS_MS)) {
        lastSig = x.signature
        lastReport = now
        opts.onProgress(progress(x, caughtUp))
      }
      if (caughtUp) {
        const s = node.status()
        return finish(null, { ...progress(x, true), key: s.key, writerKey: s.writerKey, name: s.name, head: s.head })
      }
      if (now - started >= opts.timeout) finish(err('TIMEOUT', timeoutMessage(x, opts.timeout)))
    }
    const onAbort = (): void => finish(err('ABORTED', 'interrupted'))
    const tick = setInterval(check, TICK_MS)
    node.on('update', check)
    network.on('update', check)
    if (opts.signal?.aborted === true) return onAbort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    check()
  })
}

function timeoutMessage (x: SyncSample, timeout: number): string {
  const secs = `${+(timeout / 1000).toFixed(1)} s`
  if (x.peers === 0) return `not caught up after ${secs}: no peer of this chain found`
  const why: string[] = []
  if (x.length === 0) why.push('the chain\'s genesis has not arrived')
  if (x.lag > 0) why.push(`${x.lag} block${x.lag === 1 ? '' : 's'} still to download`)
  if (x.unsent > 0) why.push(`${x.unsent} of this user's block${x.unsent === 1 ? '' : 's'} not on a peer yet`)
  if (x.pending > 0) why.push(`${x.pending} entr${x.pending === 1 ? 'y' : 'ies'} pending`)
  if (why.length === 0) why.push('still changing')
  return `not caught up after ${secs} with ${x.peers} peer${x.peers === 1 ? '' : 's'}: ${why.join(', ')}`
}
