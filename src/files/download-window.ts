/**
 * Downloading a blob's block range through a sliding window counted in stored blocks, so the
 * bytes received but not yet stored stay bounded.
 *
 * Hypercore bounds a peer's requests in flight (16 on a short round trip, more as the measured
 * round trip grows), but a request stops counting once its block arrives, before the block is
 * verified and written: when the store falls behind (a RocksDB flush, the output file's
 * writeback) arrived blocks queue in memory while more are requested. One range over the whole
 * file gives the replicator no reason to wait (docs/architecture.md, "Bytes received but not yet
 * stored").
 *
 * Here at most `lanes` small ranges of `span` blocks are being downloaded at once. A range is
 * done when its blocks are stored; its lane then takes the next blocks not stored yet. Lanes are
 * independent, so a slow block holds back only its own lane, and with one block per lane (the
 * default 1 MiB blocks) the window slides block by block.
 *
 * The window's size follows the connected peers: PEER_BLOCKS blocks per peer and half a peer's
 * worth more, or `windowBytes` if that is more. The replicator gives a newly wanted block to a
 * random peer that has room. With fewer wanted blocks than the peers can hold, each block stored
 * sends the next one to a random peer, and a peer's queue wanders down to empty while others hold
 * more than they need: behind three seeders throttled to 8 MB/s each, a fixed 32-block window
 * downloaded 2.01x as fast as one seeder, against 2.9x with one range over the whole file. When
 * the window covers every peer's room, the only peer with room is the one that just delivered,
 * so each peer keeps its requests full (2.93-3.03x in ten runs). The half peer more is for blocks
 * that arrived and are being stored, so the peer's requests stay full meanwhile.
 *
 * Blocks that no connected peer has must not hold the lanes while other blocks are there to take
 * (a peer that stored only part of the file): a lane that has waited PARK_CHECK_MS and finds
 * that no peer has its blocks parks them (one range over all parked blocks stays open and
 * completes if a peer gets them) and moves on. When a peer connects, the parked blocks go back to the lanes, first in line,
 * rather than all being requested from it at once.
 *
 * The window does not grow with the round trip as hypercore's per-peer limit does: one UDX
 * stream holds at most 4 MiB in flight (libudx's receive window), a quarter of PEER_BLOCKS 1 MiB
 * blocks, so the link binds first. At 100 and 300 ms round trips get ran at 96-102% of one
 * hypercore range download (bench/latency.js).
 *
 * Measured on a 4.5 GiB get from one seeder (receiver peak RSS, MB/s): one range 210-228 MB at
 * 62.5-64.6 (3 runs); a 32-block window 198-222 MB at 66.6-67.9 (3); 24 blocks (this) 168-197 MB
 * at 62.6-68.3 (6), and 167-193 MB at 63.2-67.7 with parking (6); 12 blocks (8 per peer)
 * 170-179 MB at 62.9-65.6 (2) (bench/README.md).
 */
import Hypercore from 'hypercore'

/** Least bytes being fetched or waiting to be stored, about (whole spans of blocks): it sets the span of small blocks. */
export const WINDOW_BYTES = 16 * 1024 * 1024
/**
 * Blocks hypercore lets one peer have in flight on a short round trip (its replicator's
 * DEFAULT_MAX_INFLIGHT[0]). The window holds at least this many per connected peer and half as
 * many more, so every peer can keep its requests full.
 */
export const PEER_BLOCKS = 16
/** Most ranges open at once (hypercore's replicator looks at 64 ranges per pass). */
export const MAX_LANES = 64
/** Fewest ranges open at once, so some block is always wanted while others are being stored. */
export const MIN_LANES = 4
/**
 * How often a lane waiting on its range looks whether any connected peer has those blocks. If
 * none does, the lane parks the range (it stays open, and completes whenever a peer that has the
 * blocks shows up) and moves on, so blocks nobody has cannot hold every lane while other blocks
 * are there to take.
 */
export const PARK_CHECK_MS = 500
/**
 * Blocks a peer tells about per want (hypercore's WANT_BATCH). Once a lane has waited
 * PARK_CHECK_MS on a block of such a batch, the connected peers have said which of its blocks
 * they have, and later lanes park blocks nobody has at once.
 */
export const INFO_BATCH = 4096

/** What a Hypercore range download gives back. */
interface RangeDownload {
  /** true once every block is stored; false if the range was cancelled (destroyed, session closed) */
  done: () => Promise<boolean>
  destroy: () => void
}

/** Options of a DownloadWindow. */
export interface WindowOptions {
  /** first block */
  start: number
  /** one past the last block */
  end: number
  /** bytes per block (the blob's nominal block size), to size the window */
  blockSize: number
  /** least bytes in the window (default WINDOW_BYTES) */
  windowBytes?: number | undefined
  /** blocks each peer may have in flight (default PEER_BLOCKS: give the core's inflightRange[0] if set) */
  peerBlocks?: number | undefined
  /** lanes shared with the other windows on the same core (seeding many files), if any */
  budget?: LaneBudget | undefined
  /**
   * Given each block of a lane's range as it arrives: the verified bytes, before anything reads
   * them back from the store (`get` writes them into the output file from here)
   */
  onBlock?: ((index: number, block: Buffer) => void) | undefined
}

/**
 * Lanes shared by every window on one core, so that downloading many files of one writer at
 * once (the daemon seeding) keeps one window's bound instead of one per file. A lane takes a
 * token before it opens a range and gives it back after; tokens go out in the order asked.
 */
export class LaneBudget {
  readonly #capacity: () => number
  readonly #waiting: Array<() => void> = []
  #used = 0

  /** `capacity`: tokens allowed now (it may follow the core's peers; call wake() when it grows) */
  constructor (capacity: () => number) {
    this.#capacity = capacity
  }

  /** Tokens taken now. */
  get used (): number {
    return this.#used
  }

  async acquire (): Promise<void> {
    if (this.#waiting.length === 0 && this.#used < this.#capacity()) {
      this.#used++
      return
    }
    await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
  }

  release (): void {
    this.#used--
    this.wake()
  }

  /** Hand out tokens while there is room (after a release, or when the capacity grew). */
  wake (): void {
    while (this.#waiting.length > 0 && this.#used < this.#capacity()) {
      this.#used++
      this.#waiting.shift()!()
    }
  }
}

/**
 * Ranges open at once and blocks per range, for blocks of `blockSize` bytes and `peers`
 * connected peers: `peerBlocks` blocks per peer and half that more, or `windowBytes` if that is
 * more, within MIN_LANES..MAX_LANES ranges.
 */
export function windowShape (blockSize: number, peers: number, windowBytes = WINDOW_BYTES, peerBlocks = PEER_BLOCKS): { lanes: number, span: number } {
  const base = Math.max(1, Math.floor(windowBytes / Math.max(1, blockSize)))
  const span = Math.max(1, Math.ceil(base / MAX_LANES))
  const blocks = Math.max(base, peerBlocks * Math.max(1, peers) + Math.ceil(peerBlocks / 2))
  const lanes = Math.min(MAX_LANES, Math.max(MIN_LANES, Math.ceil(blocks / span)))
  return { lanes, span }
}

/** The error done() rejects with after destroy(). */
function destroyedError (): Error {
  return Object.assign(new Error('download stopped'), { code: 'DOWNLOAD_STOPPED' })
}

/**
 * Download [start, end) of `core` through a sliding window. Same surface as Hypercore's range
 * download, except that done() rejects (DOWNLOAD_STOPPED) if it was destroyed or the session
 * closed, where a Hypercore range resolves false; destroy() stops it.
 */
export class DownloadWindow {
  /** blocks per range */
  readonly span: number
  readonly #core: Hypercore
  readonly #end: number
  readonly #blockSize: number
  readonly #windowBytes: number | undefined
  readonly #peerBlocks: number | undefined
  readonly #budget: LaneBudget | undefined
  readonly #onBlock: ((index: number, block: Buffer) => void) | undefined
  /** per open lane range with onBlock: the requests of the gets waiting for its blocks */
  readonly #takes = new Set<unknown[]>()
  readonly #active = new Set<RangeDownload>()
  /** blocks [start, end) parked: no connected peer had them when last looked */
  #parked: Array<[number, number]> = []
  /**
   * One range over every parked block, from the lowest to the highest: it completes when a peer
   * gets them. One range, not one per parked span: hypercore's replicator looks at 64 random
   * ranges per pass, and a lane's range could go unseen among hundreds of parked ones.
   */
  #parkRange: { range: RangeDownload, start: number, end: number } | null = null
  /** blocks [start, end) to take again before new ones (unparked when a peer connected) */
  readonly #requeue: Array<[number, number]> = []
  /** batches (INFO_BATCH blocks) whose availability the connected peers have told */
  readonly #known = new Set<number>()
  readonly #done: Promise<void>
  #resolve: () => void = () => {}
  #reject: (e: Error) => void = () => {}
  #next: number
  #lanes = 0
  #running = 0
  #failure: Error | null = null
  #destroyed = false
  #settled = false
  readonly #onpeers = (): void => { this.#resize() }
  readonly #onpeeradd = (): void => {
    this.#known.clear() // a new peer has said nothing yet
    this.#unpark()
    this.#resize()
  }

  constructor (core: Hypercore, opts: WindowOptions) {
    this.#core = core
    this.#next = opts.start
    this.#end = opts.end
    this.#blockSize = opts.blockSize
    this.#windowBytes = opts.windowBytes
    this.#peerBlocks = opts.peerBlocks
    this.#budget = opts.budget
    this.#onBlock = opts.onBlock
    this.span = windowShape(opts.blockSize, 1, opts.windowBytes, opts.peerBlocks).span
    this.#done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.#done.catch(() => {}) // a caller that never asks for done() must not see an unhandled rejection
    core.on('peer-add', this.#onpeeradd)
    core.on('peer-remove', this.#onpeers)
    this.#resize()
    this.#maybeSettle()
  }

  /** Ranges allowed open at once now (it follows the number of connected peers). */
  get lanes (): number {
    return this.#lanes
  }

  /** Ranges open now (the one over parked blocks included). */
  get active (): number {
    return this.#active.size
  }

  /** Spans of blocks parked: no connected peer had them when last looked. */
  get parked (): number {
    return this.#parked.length
  }

  /** Resolves when every block of the range is stored. */
  async done (): Promise<void> {
    return this.#done
  }

  /** Stop downloading (done() rejects with DOWNLOAD_STOPPED). */
  destroy (): void {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const r of this.#active) r.destroy()
    for (const t of this.#takes) Hypercore.destroyRequests(t)
    this.#takes.clear()
  }

  #resize (): void {
    this.#lanes = windowShape(this.#blockSize, this.#core.peers.length, this.#windowBytes, this.#peerBlocks).lanes
    // lanes beyond the new count end after their current range (#lane checks)
    while (this.#running < this.#lanes && !this.#destroyed && this.#hasWork()) this.#spawn()
    this.#budget?.wake() // the peers changed: the shared capacity may have grown
  }

  #spawn (): void {
    this.#running++
    this.#lane().then(() => { this.#maybeSettle() }, (e: unknown) => { this.#fail(e) })
  }

  #fail (e: unknown): void {
    if (this.#failure === null) this.#failure = e instanceof Error ? e : new Error(String(e))
    this.destroy() // one lane failing (the session closed) stops the others
    this.#maybeSettle()
  }

  #hasWork (): boolean {
    return this.#requeue.length > 0 || this.#next < this.#end
  }

  /** Settle once no lane runs and no parked range is open. */
  #maybeSettle (): void {
    if (this.#settled || this.#running > 0) return
    if (!this.#destroyed && (this.#parked.length > 0 || this.#hasWork())) return
    this.#settled = true
    this.#core.off('peer-add', this.#onpeeradd)
    this.#core.off('peer-remove', this.#onpeers)
    if (this.#failure !== null) this.#reject(this.#failure)
    else if (this.#destroyed) this.#reject(destroyedError())
    else this.#resolve()
  }

  async #lane (): Promise<void> {
    try {
      while (!this.#destroyed && this.#hasWork()) {
        // fewer peers than when this lane started: leave (lanes >= MIN_LANES, so never the last)
        if (this.#running > this.#lanes) return
        const budget = this.#budget
        if (budget !== undefined) await budget.acquire()
        try {
          if (this.#destroyed || !this.#hasWork()) break
          let next = this.#requeue.shift()
          if (next === undefined) {
            next = [this.#next, Math.min(this.#end, this.#next + this.span)]
            this.#next = next[1]
          }
          await this.#download(next[0], next[1])
        } finally {
          budget?.release()
        }
      }
    } finally {
      this.#running-- // here, not in #spawn: the next lane's check above must see it at once
    }
  }

  async #download (start: number, end: number): Promise<void> {
    // stored already (a resumed download): no range to open
    if (await this.#core.has(start, end)) return
    if (this.#destroyed) return
    const range: RangeDownload = this.#core.download({ start, end })
    this.#active.add(range)
    const take = this.#take(start, end)
    // a cancelled range resolves false (hypercore's RangeRequest), not with an error
    const finished = range.done().finally(() => {
      this.#active.delete(range)
      if (take !== null) this.#takes.delete(take)
    })
    finished.catch(() => {}) // awaited below or by #park; a lane that left early must not leave it unhandled
    if (this.#isKnown(start, end) && await this.#nobodyHas(start, end)) {
      this.#park(range, start, end, take)
      return
    }
    for (;;) {
      let timer: NodeJS.Timeout | null = null
      const tick = new Promise<null>((resolve) => { timer = setTimeout(resolve, PARK_CHECK_MS, null) })
      const ok = await Promise.race([finished, tick])
      if (timer !== null) clearTimeout(timer)
      if (ok !== null) {
        if (!ok) throw destroyedError()
        return
      }
      if (this.#destroyed) throw destroyedError()
      if (this.#core.peers.length > 0) this.#markKnown(start, end)
      if (await this.#nobodyHas(start, end)) {
        this.#park(range, start, end, take)
        return
      }
    }
  }

  /**
   * With onBlock: a get waiting for each block of the lane's range [start, end). The range's
   * requests are in flight by now (the replicator sends them as the range opens), so the gets
   * add none; hypercore's replicator answers a waiting get with the block it verified, and
   * onBlock has the bytes without reading them back from the store. Returns the gets' requests
   * (cancelled if the range is parked), or null without onBlock.
   */
  #take (start: number, end: number): unknown[] | null {
    const onBlock = this.#onBlock
    if (onBlock === undefined) return null
    const requests: unknown[] = []
    for (let i = start; i < end; i++) {
      // a block stored already is read back (as without onBlock); a cancelled get rejects
      this.#core.get(i, { activeRequests: requests }).then((block) => {
        if (block !== null && !this.#destroyed) onBlock(i, block)
      }, () => {})
    }
    this.#takes.add(requests)
    return requests
  }

  #isKnown (start: number, end: number): boolean {
    for (let b = Math.floor(start / INFO_BATCH); b <= Math.floor((end - 1) / INFO_BATCH); b++) if (!this.#known.has(b)) return false
    return true
  }

  #markKnown (start: number, end: number): void {
    for (let b = Math.floor(start / INFO_BATCH); b <= Math.floor((end - 1) / INFO_BATCH); b++) this.#known.add(b)
  }

  /**
   * True if peers are connected, some block of [start, end) is missing here, and no peer has
   * any of the missing ones. A block that reads as stored while its range has not completed yet
   * is still being written (the store is behind): its lane keeps waiting, or the window would
   * grow exactly when it must not.
   */
  async #nobodyHas (start: number, end: number): Promise<boolean> {
    const peers = this.#core.peers
    if (peers.length === 0) return false // nobody to ask yet: keep the lane, a peer may connect
    let missing = false
    for (let i = start; i < end; i++) {
      if (await this.#core.has(i)) continue
      missing = true
      if (peers.some((p) => i < p.remoteContiguousLength || p.remoteBitfield?.get(i) === true)) return false
    }
    return missing
  }

  /**
   * Park the lane's blocks [start, end): the range over parked blocks takes them over. Its gets
   * are cancelled: waiting, they would keep the blocks wanted at a get's priority, one by one.
   */
  #park (range: RangeDownload, start: number, end: number, take: unknown[] | null): void {
    if (take !== null) {
      this.#takes.delete(take)
      Hypercore.destroyRequests(take) // also a get still looking in the store, which has not asked yet
    }
    this.#parked.push([start, end])
    const cur = this.#parkRange
    const lo = Math.min(start, cur?.start ?? start)
    const hi = Math.max(end, cur?.end ?? end)
    // the new range first, then the old ones go: the blocks' wants stay referenced throughout
    if (cur === null || lo < cur.start || hi > cur.end) this.#openParkRange(lo, hi)
    range.destroy()
    if (cur !== null && cur !== this.#parkRange) cur.range.destroy()
  }

  /**
   * Open the range over parked blocks [lo, hi). It also covers blocks stored already (skipped)
   * and blocks lanes are fetching (the same requests, not new ones): every block below the
   * highest one a lane has taken is one of these three, so it asks for nothing beyond the
   * parked blocks.
   */
  #openParkRange (lo: number, hi: number): void {
    const range: RangeDownload = this.#core.download({ start: lo, end: hi })
    const entry = { range, start: lo, end: hi }
    this.#parkRange = entry
    this.#active.add(range)
    range.done().then((ok) => {
      this.#active.delete(range)
      if (this.#parkRange !== entry) return // replaced by a wider one, or unparked
      this.#parkRange = null
      if (!ok) {
        if (!this.#destroyed) this.#fail(destroyedError()) // cancelled under us: the session closed
        return
      }
      this.#parked = [] // every block in it is stored
      this.#maybeSettle()
    }, (e: unknown) => {
      this.#active.delete(range)
      if (this.#parkRange === entry) this.#fail(e)
    })
  }

  /**
   * A peer connected: it may have the parked blocks. Hand them back to the lanes (first in
   * line) instead of letting them all be requested at once, which would lose the window's bound.
   */
  #unpark (): void {
    if (this.#destroyed || this.#parkRange === null) return
    const cur = this.#parkRange
    this.#parkRange = null
    cur.range.destroy()
    // in order: lanes take the lowest first, so a new range over parked blocks never reaches a
    // requeued block no lane has taken yet
    this.#requeue.push(...this.#parked)
    this.#requeue.sort((a, b) => a[0] - b[0])
    this.#parked = []
  }
}

/** Whether `e` is the rejection of a DownloadWindow that was destroyed. */
export function isDownloadStopped (e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'DOWNLOAD_STOPPED'
}
