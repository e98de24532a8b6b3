/**
 * ChainNode: one chain opened on one Corestore. Glues the writer feeds (feed/), the consensus
 * layer (chain/) and the materialized view (view/): it reads new blocks as they arrive, feeds
 * them to the engine in causal order, persists what became final, appends this user's entries
 * and, as an indexer, its acknowledgements.
 */
import { randomBytes } from 'node:crypto'
import ReadyResource from 'ready-resource'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { Duplex } from 'node:stream'
import { ChainEngine } from './chain/engine.js'
import { ChainHasher } from './chain/chain-hash.js'
import type { AckDecision, Segment, WriterKey } from './chain/types.js'
import { err, isFeedchainError } from './errors.js'
import { asBuffer, discoveryKey, formatKey, fromHex, hash, toHex } from './feed/keys.js'
import {
  BLOCK_VERSION, ENTRY_TYPE_NAMES, EntryType, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_ENTRY_SIZE,
  decodeBlock, decodeFile, decodeGenesis, decodeMembership, encodeBlock, encodeGenesis, encodeMembership,
  validEntries, type Block, type RawEntry,
} from './feed/schema.js'
import { WriterFeed, fromBlock, type IngestedBlock } from './feed/writer-feed.js'
import { ChainView } from './view/chain-view.js'
import type { Network, PeerRecord } from './net/network.js'

/** Options of a ChainNode. */
export interface ChainNodeOptions {
  /** Chain key to open or join; omitted: create a new chain with this user as creator. */
  key?: Uint8Array | undefined
  /** Chain name written into GENESIS when creating. */
  name?: string | undefined
  /** Append acknowledgements automatically when this user is an indexer (default true). */
  autoAck?: boolean | undefined
  /** Debounce of a non-urgent ack, ms (default 20). */
  ackDebounce?: number | undefined
  /** How long a vote waits for a missing anchor before acking anyway, ms (default 250). */
  leaderWait?: number | undefined
  /** Delay before writing the view after changes, ms (default 250): fewer, larger view writes. */
  flushDelay?: number | undefined
  /**
   * Network to sync over: the node joins its chain's discovery key and tracks every writer
   * feed for bans. The network must be on the same Corestore; the node does not close it.
   */
  network?: Network | undefined
}

/** Data of one entry: text (UTF-8) or bytes. */
export type EntryData = string | Uint8Array

/** Entry type names as the API and CLI show them. */
export type EntryTypeName = 'data' | 'file' | 'membership' | 'join' | 'genesis'

/** One entry of the chain view. */
export interface ChainEntry {
  position: number
  writer: Buffer
  seq: number
  index: number
  final: boolean
  type: EntryTypeName
  /** raw payload bytes */
  data: Buffer
  /** decoded payload for non-data types */
  value: unknown
  /** writer's wall clock when appended, ms (informational) */
  time: number
  /** lamport clock of the block, as computed locally */
  clock: number
}

/** A writer as status reports it. */
export interface WriterStatus {
  key: string
  indexer: boolean
  pendingIndexer: boolean
  removed: boolean
  /** blocks known */
  length: number
  /** blocks final */
  finalLength: number
  /** most blocks any connected peer has of this feed (0 without a network) */
  remoteLength: number
  /** blocks peers have that this node has not stored yet */
  lag: number
  self: boolean
  forked: boolean
}

/** A connected peer as status reports it. */
export interface PeerStatus {
  publicKey: string
  client: boolean
  connectedAt: number
  bytesIn: number
  bytesOut: number
  /** writer feeds of this chain the peer replicates, with its lengths */
  feeds: Array<{ key: string, remoteLength: number }>
}

/** A snapshot of the node's state. */
export interface ChainStatus {
  key: string
  discoveryKey: string
  name: string
  writerKey: string
  isWriter: boolean
  isIndexer: boolean
  length: number
  finalLength: number
  pending: number
  head: string
  writers: WriterStatus[]
  /** connected peers replicating this chain (empty without a network) */
  peers: PeerStatus[]
  halted: string | null
  warnings: string[]
}

/** One core `verify` audited: what Hypercore's audit (dry run) found in its local storage. */
export interface VerifiedCore {
  /** z-base32 key */
  key: string
  /** a writer feed, the chain view, or a writer's blob core (file contents) */
  kind: 'writer' | 'view' | 'blobs'
  /** the core's length (blocks stored here may be fewer: see `blocks`) */
  length: number
  /** blocks stored here that match their hashes */
  blocks: number
  treeNodes: number
  /** stored blocks that fail their hash (or have no bit) */
  droppedBlocks: number
  /** tree nodes that do not hash to their parent */
  droppedTreeNodes: number
  /** bits set for blocks that are not stored */
  droppedBits: number
  /** tree roots missing */
  corrupt: boolean
  /** the audit could not read the storage (e.g. the database reports corruption) */
  error: string | null
}

/** What `verify` found. */
export interface VerifyReport {
  ok: boolean
  /** one line per problem found */
  problems: string[]
  /** every core audited: writer feeds, the view, blob cores stored here */
  feeds: VerifiedCore[]
  /** final entries whose chain hash was recomputed */
  entries: number
  /** recomputed chain hash of the final prefix, hex */
  head: string
}

/** Which entries `read` keeps besides its position range; every condition given must hold. */
export interface EntryFilter {
  /** only entries of this writer (its 32-byte key) */
  writer?: Uint8Array | undefined
  /** only entries of these types */
  types?: readonly EntryTypeName[] | undefined
  /** only entries whose block was written at or after this wall-clock time, ms (informational: a scan, no index) */
  sinceTime?: number | undefined
}

/** Options of `read`. */
export interface ReadOptions {
  /** first position (default 0) */
  start?: number | undefined
  /** position after the last one (default: the chain's length) */
  end?: number | undefined
  /** newest first */
  reverse?: boolean | undefined
  /** at most this many matching entries, counted from the start (from the end with `reverse`) */
  limit?: number | undefined
  /** only the last `last` matching entries of the range, still oldest first (like `tail -n`) */
  last?: number | undefined
  /** final entries only: stop at the final prefix */
  final?: boolean | undefined
  filter?: EntryFilter | undefined
}

/** Result of an append. */
export interface AppendResult {
  /** chain length (final + pending) after the append */
  length: number
  finalLength: number
  /** blocks written */
  blocks: number
  /** seq of the first block written in this user's feed */
  seq: number
}

const MAX_WARNINGS = 100

/** One chain on one store. */
export class ChainNode extends ReadyResource {
  readonly store: Corestore
  key: Buffer = Buffer.alloc(0)
  discoveryKey: Buffer = Buffer.alloc(0)
  writerKey: Buffer = Buffer.alloc(0)
  name = ''
  readonly warnings: string[] = []
  /** Counters: blocks fed to the consensus layer (in total and while opening), invalid blocks. */
  readonly stats = { fed: 0, fedOnOpen: 0, invalid: 0, rebuilds: 0 }

  private readonly opts: ChainNodeOptions
  private engine!: ChainEngine
  private view!: ChainView
  private viewCore: Hypercore | null = null
  private own!: WriterFeed
  private readonly feeds = new Map<WriterKey, WriterFeed>()
  /** decoded blocks waiting for their causal past, per writer, in feed order */
  private readonly queued = new Map<WriterKey, IngestedBlock[]>()
  private readonly downloads: Array<{ destroy (): void }> = []
  private readonly untrack: Array<() => void> = []
  private joined = false
  private ingesting: Promise<void> | null = null
  private ingestAgain = false
  private appendLock: Promise<unknown> = Promise.resolve()
  private flushTimer: NodeJS.Timeout | null = null
  private ackTimer: NodeJS.Timeout | null = null
  private waitTimer: NodeJS.Timeout | null = null
  private joinSent = false
  /** bumped on every change of the consensus state */
  private version = 0
  private countsCache: { version: number, length: number, finalLength: number } | null = null
  /** bumped on every change of the engine's state (blocks added, forks, resets, segments made final) */
  private engineChanges = 0
  /** engineChanges when the engine snapshot in the view was taken (-1: none stored yet) */
  private snapshotAt = -1
  private readonly blockCache = new Map<string, { block: Block | null, entries: RawEntry[] }>()

  constructor (store: Corestore, opts: ChainNodeOptions = {}) {
    super()
    this.store = store
    this.opts = opts
  }

  // ---------------------------------------------------------------- lifecycle

  protected override async _open (): Promise<void> {
    await this.store.ready()
    let genesis: Hypercore
    if (this.opts.key === undefined) {
      genesis = this.store.get({ name: 'feedchain/genesis/' + randomBytes(16).toString('hex') })
      await genesis.ready()
      if (genesis.key === null) throw new Error('genesis core has no key')
      const block: Block = {
        version: BLOCK_VERSION, clock: 1, heads: [], time: Date.now(),
        entries: [{ type: EntryType.GENESIS, payload: encodeGenesis({ name: this.opts.name ?? '', creator: genesis.key }) }],
      }
      await genesis.append(Buffer.from(encodeBlock(block)))
    } else {
      if (this.opts.key.byteLength !== 32) throw err('INVALID_KEY', 'chain key must be 32 bytes')
      genesis = this.store.get({ key: asBuffer(this.opts.key) })
      await genesis.ready()
    }
    if (genesis.key === null || genesis.discoveryKey === null) throw new Error('genesis core has no key')
    this.key = genesis.key
    this.discoveryKey = discoveryKey(this.key)
    const chainHex = toHex(this.key)

    const ownCore = genesis.writable ? genesis : this.store.get({ name: 'feedchain/writer/' + chainHex })
    await ownCore.ready()
    if (ownCore.key === null) throw new Error('writer core has no key')
    this.writerKey = ownCore.key

    this.viewCore = this.store.get({ name: 'feedchain/view/' + chainHex })
    this.view = new ChainView(this.viewCore)
    await this.view.open()

    const snapshot = await this.view.loadSnapshot()
    this.engine = snapshot === null
      ? new ChainEngine({ chainKey: this.key, creator: chainHex, hash })
      : ChainEngine.restore(snapshot, { hash })
    this.view.snapshotSource = () => {
      this.snapshotAt = this.engineChanges
      return this.engine.snapshot()
    }
    // a restored engine is what its snapshot says: nothing to write back unless it changes
    this.snapshotAt = snapshot === null ? -1 : this.engineChanges

    this.addFeed(genesis)
    if (ownCore !== genesis) this.addFeed(ownCore)
    this.own = this.feeds.get(toHex(this.writerKey))!
    for (const w of this.engine.writers()) await this.ensureFeed(w.key)

    await this.ingest()
    this.stats.fedOnOpen = this.stats.fed
    await this.loadName()
    if (this.opts.network !== undefined) {
      // don't hold ready() on the first DHT round trip: discovery keeps going in the background
      this.joined = true
      this.opts.network.join(this.discoveryKey).catch((e) => this.warn('joining the swarm failed: ' + (e as Error).message))
    }
  }

  protected override async _close (): Promise<void> {
    for (const t of [this.flushTimer, this.ackTimer, this.waitTimer]) if (t !== null) clearTimeout(t)
    this.flushTimer = this.ackTimer = this.waitTimer = null
    await this.appendLock.catch(() => {})
    while (this.ingesting !== null) await this.ingesting.catch(() => {})
    for (const d of this.downloads) d.destroy()
    for (const u of this.untrack) u()
    if (this.joined && this.opts.network !== undefined && this.opts.network.closing === null) await this.opts.network.leave(this.discoveryKey).catch(() => {})
    // Write the engine snapshot only if the engine changed since it was restored or last written:
    // read-only commands (log, status, verify) then leave the view core as they found it.
    if (this.engineChanges !== this.snapshotAt || this.view.needsFlush) await this.flush()
    await this.view.close()
    for (const f of this.feeds.values()) await f.core.close()
    if (this.viewCore !== null) await this.viewCore.close()
  }

  /** Replicate every core of the store (all writer feeds of all open chains) over a stream. */
  replicate (isInitiatorOrStream: boolean | Duplex, opts?: Record<string, unknown>): Duplex {
    return this.store.replicate(isInitiatorOrStream, opts)
  }

  // ---------------------------------------------------------------- feeds and ingestion

  private addFeed (core: Hypercore): WriterFeed {
    const feed = new WriterFeed(core)
    const existing = this.feeds.get(feed.hex)
    if (existing !== undefined) return existing
    this.feeds.set(feed.hex, feed)
    this.queued.set(feed.hex, [])
    const wake = (): void => { this.scheduleIngest() }
    // this user's own appends are fed directly by writeBlocks; only other feeds need waking
    if (!core.writable) {
      core.on('append', wake)
      core.on('download', wake)
    }
    core.on('conflict', (length: number, fork: number, proof: unknown) => { this.onFork(feed.hex, length, fork, proof) })
    // Hypercore closes every session of a feed once it proves a fork; keep reading the blocks
    // that were ordered before it through a fresh session
    core.once('close', () => { if (this.closing === null) this.reopenFeed(feed).catch(() => {}) })
    if (!core.writable) this.downloads.push(core.download({ start: 0, end: -1 }))
    if (this.opts.network !== undefined) this.untrack.push(this.opts.network.trackCore(core))
    return feed
  }

  /** Open (and start downloading) the feed of a writer, if not open yet. */
  private async ensureFeed (writer: WriterKey): Promise<WriterFeed> {
    const have = this.feeds.get(writer)
    if (have !== undefined) return have
    const core = this.store.get({ key: fromHex(writer) })
    await core.ready()
    if (this.closing !== null) { await core.close(); throw err('CLOSED') }
    return this.addFeed(core)
  }

  private onFork (writer: WriterKey, length: number, fork: number, proof: unknown): void {
    this.warn(`writer ${formatKey(fromHex(writer))} forked its feed at length ${length}: its entries past the fork are not ordered`)
    this.engine.markForked(writer, length)
    this.engineChanges++
    this.view.recordFork(writer, { length, fork, detectedAt: Date.now(), proof })
    this.afterChange()
  }

  private async reopenFeed (feed: WriterFeed): Promise<void> {
    const core = this.store.get({ key: fromHex(feed.hex) })
    await core.ready()
    if (this.closing !== null) { await core.close(); return }
    feed.replaceCore(core)
  }

  /** Proofs of forked writer feeds kept in the view. */
  async forks (): Promise<Array<{ writer: string, length: number, fork: number, detectedAt: number, proof: unknown }>> {
    if (this.opened === false) await this.ready()
    return (await this.view.forks()).map((f) => ({ ...f, writer: formatKey(fromHex(f.writer)) }))
  }

  private scheduleIngest (): void {
    if (this.closing !== null) return
    if (this.ingesting !== null) { this.ingestAgain = true; return }
    this.ingesting = this.runIngest()
  }

  private async runIngest (): Promise<void> {
    try {
      do {
        this.ingestAgain = false
        await this.ingestOnce()
      } while (this.ingestAgain && this.closing === null)
      // a joiner learns the chain's name once the genesis block arrives
      if (!this.nameLoaded && this.closing === null) await this.loadName()
    } catch (e) {
      if (this.closing === null && !isFeedchainError(e, 'CLOSED')) this.warn('ingest failed: ' + (e instanceof Error ? e.message : String(e)))
    } finally {
      this.ingesting = null
    }
  }

  /** Read, decode and feed every locally stored block not yet in the engine; wait for it. */
  private async ingest (): Promise<void> {
    while (this.ingesting !== null) await this.ingesting
    this.ingesting = this.runIngest()
    await this.ingesting
  }

  private async ingestOnce (): Promise<void> {
    // 1. read what is stored beyond what the engine and the queues hold
    for (const feed of [...this.feeds.values()]) {
      const q = this.queued.get(feed.hex)!
      // drop what the engine got meanwhile (this user's own appends are fed by writeBlocks)
      while (q.length > 0 && q[0]!.input.seq < this.engine.length(feed.hex)) q.shift()
      const from = q.length > 0 ? q[q.length - 1]!.input.seq + 1 : this.engine.length(feed.hex)
      const to = feed.available
      if (to <= from) continue
      const bytes = await feed.readRange(from, to)
      bytes.forEach((b, i) => {
        const ib = feed.ingest(from + i, b)
        if (ib.problem !== null) this.warn(`block ${from + i} of writer ${formatKey(fromHex(feed.hex))} is invalid and skipped: ${ib.problem}`)
        for (const s of ib.skipped) this.warn(`entry ${s.index} of block ${from + i} of writer ${formatKey(fromHex(feed.hex))} skipped: ${s.reason}`)
        q.push(ib)
      })
    }
    // 2. feed in causal order until nothing more can go in
    let progress = true
    while (progress) {
      progress = false
      for (const [writer, q] of this.queued) {
        while (q.length > 0) {
          const ib = q[0]!
          if (ib.input.seq < this.engine.length(writer)) { q.shift(); continue }
          if (!this.engine.canAdd(ib.input)) {
            for (const p of ib.pins) if (!this.feeds.has(p.writer)) await this.ensureFeed(p.writer)
            break
          }
          if (!(await this.pinsMatch(ib))) break
          q.shift()
          try {
            this.engine.add(ib.input)
            this.engineChanges++
          } catch (e) {
            if (!isFeedchainError(e, 'REBUILD_NEEDED')) throw e
            // a block links below what the restored snapshot kept: replay the feeds from scratch
            await this.resetEngine(e.message)
            return
          }
          this.stats.fed++
          if (ib.input.invalid === true) this.stats.invalid++
          progress = true
        }
        if (q.length === 0 && this.engine.length(writer) < (this.feeds.get(writer)?.available ?? 0)) this.ingestAgain = true
      }
    }
    this.afterChange()
  }

  /**
   * Rebuild the consensus state by replaying every feed from its first block. The final order
   * is a pure function of the blocks, so the view (already written) is re-derived unchanged;
   * positions it holds are not written again. Returns the final length and head afterwards.
   */
  async rebuild (): Promise<{ finalLength: number, head: string }> {
    if (this.opened === false) await this.ready()
    await this.serial(async () => {
      while (this.ingesting !== null) await this.ingesting
      await this.resetEngine('requested')
      await this.ingest()
    })
    return { finalLength: this.engine.finalLength, head: toHex(this.engine.finalHash) }
  }

  private async resetEngine (reason: string): Promise<void> {
    this.warn('rebuilding the consensus state from the feeds: ' + reason)
    this.stats.rebuilds++
    this.engine = new ChainEngine({ chainKey: this.key, creator: toHex(this.key), hash })
    this.engineChanges++
    for (const q of this.queued.values()) q.length = 0
    for (const f of await this.view.forks()) this.engine.markForked(f.writer, f.length)
    this.ingestAgain = true
  }

  private async pinsMatch (ib: IngestedBlock): Promise<boolean> {
    for (const p of ib.pins) {
      const feed = this.feeds.get(p.writer)
      if (feed === undefined) return false
      const h = feed.cachedHash(p.length - 1) ?? await feed.blockHash(p.length - 1)
      if (h === null) return false
      if (!asBuffer(h).equals(asBuffer(p.hash))) {
        this.warn(`block ${ib.input.seq} of writer ${formatKey(fromHex(ib.input.writer))} pins a different block ${p.length - 1} of writer ${formatKey(fromHex(p.writer))} than this node has: one of them forked; not ordering it`)
        return false
      }
    }
    return true
  }

  /** Run the commit rule, queue final segments for the view, schedule flush and acks. */
  private afterChange (): void {
    this.version++
    const segments = this.engine.process()
    if (segments.length > 0) this.engineChanges++
    for (const w of this.engine.drainWarnings()) {
      const who = `block ${w.seq} of writer ${formatKey(fromHex(w.writer))}`
      this.warn(w.kind === 'clock-mismatch' ? `${who} claims clock ${w.claimed}, computed ${w.computed} (the computed one is used)` : `${who} is invalid and skipped: ${w.reason}`)
    }
    if (segments.length > 0) {
      this.view.apply(segments, toHex(this.engine.finalHash))
      this.onSegments(segments)
    }
    this.scheduleFlush()
    this.scheduleAck()
    this.emit('update')
  }

  private onSegments (segments: Segment[]): void {
    for (const s of segments) this.emit('final', s)
    // writers added in the final prefix: open and download their feeds (design §4: replicate and
    // link a writer only once its addition is final here)
    for (const w of this.engine.writers()) {
      if (!w.removed && !this.feeds.has(w.key)) this.ensureFeed(w.key).then(() => this.scheduleIngest(), () => {})
    }
  }

  private scheduleFlush (): void {
    if (this.flushTimer !== null || this.closing !== null) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      this.view.flush().catch((e) => { if (this.closing === null) this.warn('writing the view failed: ' + (e as Error).message) })
    }, this.opts.flushDelay ?? 250)
    this.flushTimer.unref()
  }

  /** Persist the view (final segments and engine state) now. */
  async flush (): Promise<void> {
    if (this.flushTimer !== null) { clearTimeout(this.flushTimer); this.flushTimer = null }
    this.view.markDirty(true)
    await this.view.flush()
  }

  private warn (msg: string): void {
    if (this.warnings.length >= MAX_WARNINGS) this.warnings.shift()
    this.warnings.push(msg)
    this.emit('warning', msg)
  }

  private nameLoaded = false
  private async loadName (): Promise<void> {
    const g = this.feeds.get(toHex(this.key))
    if (g === undefined || g.available === 0) return
    this.nameLoaded = true
    const b = await g.core.get(0, { wait: false })
    if (b === null) return
    const d = decodeBlock(b)
    if ('error' in d) return
    const e = d.block.entries[0]
    if (e?.type === EntryType.GENESIS) {
      try { this.name = decodeGenesis(e.payload).name } catch {}
    }
  }

  // ---------------------------------------------------------------- acks

  private scheduleAck (): void {
    if (this.opts.autoAck === false || this.closing !== null) return
    const me = toHex(this.writerKey)
    if (this.engine.needsJoin(me) && !this.joinSent) {
      this.joinSent = true
      this.serial(() => this.writeBlocks([[{ type: EntryType.JOIN, payload: Buffer.alloc(0) }]])).catch((e) => this.warn('JOIN failed: ' + (e as Error).message))
      return
    }
    if (!this.engine.isIndexer(me)) return
    const d: AckDecision = this.engine.ackDecision(me)
    if (d.kind === 'none') return
    if (d.kind === 'now') {
      if (this.ackTimer !== null) { clearTimeout(this.ackTimer); this.ackTimer = null }
      this.sendAck()
    } else if (d.kind === 'debounce') {
      if (this.ackTimer === null) this.ackTimer = setTimeout(() => { this.ackTimer = null; this.sendAck() }, this.opts.ackDebounce ?? 20)
    } else if (this.waitTimer === null) {
      this.waitTimer = setTimeout(() => { this.waitTimer = null; this.sendAck(true) }, this.opts.leaderWait ?? 250)
    }
  }

  private ackQueued = false
  private sendAck (force = false): void {
    if (this.ackQueued || this.closing !== null) return
    this.ackQueued = true
    this.serial(async () => {
      this.ackQueued = false
      const d = this.engine.ackDecision(toHex(this.writerKey))
      if (d.kind === 'none') return
      if (d.kind === 'wait-anchor' && !force) { this.scheduleAck(); return }
      await this.writeBlocks([[]])
    }).catch((e) => { if (this.closing === null) this.warn('ack failed: ' + (e as Error).message) })
  }

  // ---------------------------------------------------------------- writing

  private serial<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.appendLock.then(fn)
    this.appendLock = p.catch(() => {})
    return p
  }

  /**
   * Append blocks (each a list of entries; an empty list is an ACK block) to this user's feed
   * in one atomic Hypercore append, then feed them to the engine. Runs under the append lock.
   */
  private async writeBlocks (blocks: RawEntry[][]): Promise<{ seq: number }> {
    if (this.closing !== null) throw err('CLOSED')
    const me = toHex(this.writerKey)
    // own blocks stored but not yet fed (only after a restart mid-ingest): feed them first, so
    // heads and clock follow them
    if (this.own.core.length !== this.engine.length(me)) await this.ingest()
    const next = this.engine.nextBlock(me)
    const time = Date.now()
    const encoded: Buffer[] = []
    const decoded: Block[] = []
    blocks.forEach((entries, i) => {
      const heads = i === 0
        ? next.heads.map((h) => {
          const feed = this.feeds.get(h.writer)
          const pin = feed?.cachedHash(h.length - 1)
          if (pin === undefined) throw new Error(`no hash for head ${h.writer.slice(0, 8)}@${h.length}`)
          return { writer: fromHex(h.writer), length: h.length, hash: pin }
        })
        : []
      const block: Block = { version: BLOCK_VERSION, clock: next.clock + i, heads, time, entries }
      decoded.push(block)
      encoded.push(Buffer.from(encodeBlock(block)))
    })
    const seq = this.own.core.length
    await this.own.core.append(encoded)
    decoded.forEach((block, i) => {
      const ib = fromBlock(me, seq + i, hash([encoded[i]!]), block)
      this.own.remember(seq + i, ib.input.hash)
      this.engine.add(ib.input)
      this.engineChanges++
    })
    this.afterChange()
    return { seq }
  }

  /** Hash pins need the hashes of linked blocks in memory; load any that were evicted. */
  private async warmPins (): Promise<void> {
    const next = this.engine.nextBlock(toHex(this.writerKey))
    for (const h of next.heads) {
      const feed = this.feeds.get(h.writer) ?? await this.ensureFeed(h.writer)
      if (feed.cachedHash(h.length - 1) === undefined) await feed.blockHash(h.length - 1)
    }
  }

  /** Append one entry or a batch (cut into blocks of ≤ 1,000 entries / 256 KiB). */
  async append (data: EntryData | EntryData[]): Promise<AppendResult> {
    const list = Array.isArray(data) ? data : [data]
    if (list.length === 0) throw err('EMPTY_ENTRY', 'nothing to append')
    const payloads = list.map((d, i) => {
      const b = typeof d === 'string' ? Buffer.from(d) : asBuffer(d)
      if (b.byteLength === 0) throw err('EMPTY_ENTRY', list.length > 1 ? `entry ${i} is empty` : 'entry is empty')
      if (b.byteLength > MAX_ENTRY_SIZE) throw err('ENTRY_TOO_LARGE', `entry${list.length > 1 ? ' ' + i : ''} is ${b.byteLength} bytes; the limit is ${MAX_ENTRY_SIZE} (use \`feedchain send\` for files)`)
      return b
    })
    return this.appendEntries(payloads.map((payload) => ({ type: EntryType.DATA, payload })))
  }

  /** Append raw entries of any type (used by membership and files). */
  async appendEntries (entries: RawEntry[]): Promise<AppendResult> {
    if (this.opened === false) await this.ready()
    const blocks = cutBlocks(entries)
    const { seq } = await this.serial(async () => {
      await this.warmPins()
      return this.writeBlocks(blocks)
    })
    const s = this.counts()
    return { length: s.length, finalLength: s.finalLength, blocks: blocks.length, seq }
  }

  /** Add a writer (an indexer if `indexer`); this user must be an indexer. */
  async addWriter (key: Uint8Array, opts: { indexer?: boolean } = {}): Promise<AppendResult> {
    if (this.opened === false) await this.ready()
    if (key.byteLength !== 32) throw err('INVALID_KEY', 'writer key must be 32 bytes')
    const me = toHex(this.writerKey)
    if (!this.engine.isIndexer(me)) throw err('NOT_INDEXER', 'only an indexer can add writers, and this user is not one')
    const k = toHex(key)
    const info = this.engine.writers().find((w) => w.key === k && !w.removed)
    if (info !== undefined && (info.indexer || info.pendingIndexer || opts.indexer !== true)) throw err('ALREADY_WRITER', `${formatKey(key)} is already a ${info.indexer ? 'indexer' : 'writer'}`)
    return this.appendEntries([{ type: EntryType.MEMBERSHIP, payload: encodeMembership({ op: 'add', key, indexer: opts.indexer === true }) }])
  }

  /** Remove a writer; this user must be an indexer; the last indexer can't be removed. */
  async removeWriter (key: Uint8Array): Promise<AppendResult> {
    if (this.opened === false) await this.ready()
    if (key.byteLength !== 32) throw err('INVALID_KEY', 'writer key must be 32 bytes')
    const me = toHex(this.writerKey)
    if (!this.engine.isIndexer(me)) throw err('NOT_INDEXER', 'only an indexer can remove writers, and this user is not one')
    const k = toHex(key)
    const info = this.engine.writers().find((w) => w.key === k && !w.removed)
    if (info === undefined) throw err('NOT_A_MEMBER', `${formatKey(key)} is not a writer of this chain`)
    if (info.indexer && this.engine.indexers().length <= 1) throw err('LAST_INDEXER', 'the last indexer cannot be removed')
    return this.appendEntries([{ type: EntryType.MEMBERSHIP, payload: encodeMembership({ op: 'remove', key, indexer: false }) }])
  }

  /** Wait until everything stored locally has been fed to the consensus layer. */
  async update (): Promise<void> {
    if (this.opened === false) await this.ready()
    await this.ingest()
  }

  // ---------------------------------------------------------------- reading

  private counts (): { length: number, finalLength: number } {
    // the tail is O(pending blocks): compute it once per change, not once per status() call
    if (this.countsCache === null || this.countsCache.version !== this.version) {
      let pending = 0
      for (const t of this.engine.tail()) pending += t.entries
      this.countsCache = { version: this.version, length: this.engine.finalLength + pending, finalLength: this.engine.finalLength }
    }
    return { length: this.countsCache.length, finalLength: this.countsCache.finalLength }
  }

  /** Current state: lengths, head hash, writers. */
  status (): ChainStatus {
    const me = toHex(this.writerKey)
    const { length, finalLength } = this.counts()
    const peers = this.peerTable()
    const remote = new Map<string, number>()
    for (const p of peers) for (const f of p.feeds) remote.set(f.key, Math.max(remote.get(f.key) ?? 0, f.remoteLength))
    const writers = this.engine.writers().map((w) => {
      const key = formatKey(fromHex(w.key))
      const local = Math.max(w.length, this.feeds.get(w.key)?.core.length ?? 0)
      const remoteLength = remote.get(key) ?? 0
      return {
        key,
        indexer: w.indexer,
        pendingIndexer: w.pendingIndexer,
        removed: w.removed,
        length: local,
        finalLength: w.finalLength,
        remoteLength,
        lag: Math.max(0, remoteLength - (this.feeds.get(w.key)?.available ?? w.length)),
        self: w.key === me,
        forked: w.forkedAt !== null,
      }
    })
    return {
      key: formatKey(this.key),
      discoveryKey: this.discoveryKey.toString('hex'),
      name: this.name,
      writerKey: formatKey(this.writerKey),
      isWriter: this.engine.isMember(me),
      isIndexer: this.engine.isIndexer(me),
      length,
      finalLength,
      pending: length - finalLength,
      head: toHex(this.engine.finalHash),
      writers,
      peers,
      halted: this.engine.halted,
      warnings: this.warnings.slice(-10),
    }
  }

  private peerTable (): PeerStatus[] {
    const net = this.opts.network
    if (net === undefined || net.opened === false || net.closing !== null) return []
    const cores = [...this.feeds.values()].map((f) => f.core)
    const topic = formatKey(this.discoveryKey)
    return net.peers({ cores })
      .filter((p: PeerRecord) => p.topics.includes(topic) || p.cores.length > 0)
      .map((p: PeerRecord) => ({
        publicKey: p.publicKey,
        client: p.client,
        connectedAt: p.connectedAt,
        bytesIn: p.bytesIn,
        bytesOut: p.bytesOut,
        feeds: p.cores.map((c) => ({ key: c.key, remoteLength: c.remoteLength })),
      }))
  }

  /**
   * Audit every core of the chain stored here — writer feeds, the view, and the blob cores its
   * FILE entries point to — with Hypercore's audit in dry-run mode (tree and blocks checked
   * against their hashes, nothing repaired), and recompute the chain hash over the final prefix
   * from the blocks themselves, comparing it with the view at every block and at the end.
   * Problems are reported, not thrown; read-only apart from writing the view's pending state.
   */
  async verify (opts: { signal?: AbortSignal, onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyReport> {
    if (this.opened === false) await this.ready()
    await this.view.flush() // what became final is in the view (the engine snapshot need not be)
    const problems: string[] = []
    const feeds: VerifiedCore[] = []
    const audit = async (core: Hypercore, kind: VerifiedCore['kind'], label: string): Promise<void> => {
      opts.signal?.throwIfAborted()
      const row = await auditCore(core, kind)
      feeds.push(row)
      if (row.error !== null) problems.push(`${label}: could not be read: ${row.error}`)
      else if (row.corrupt || row.droppedBlocks > 0 || row.droppedTreeNodes > 0 || row.droppedBits > 0) {
        problems.push(`${label}: ${row.droppedBlocks} block${row.droppedBlocks === 1 ? '' : 's'} and ${row.droppedTreeNodes} tree node${row.droppedTreeNodes === 1 ? '' : 's'} fail their hashes, ` +
          `${row.droppedBits} stored bit${row.droppedBits === 1 ? '' : 's'} without a block${row.corrupt ? ', tree roots missing' : ''}`)
      }
    }
    for (const f of [...this.feeds.values()]) await audit(f.core, 'writer', `writer feed ${formatKey(fromHex(f.hex))}`)
    if (this.viewCore !== null) await audit(this.viewCore, 'view', 'chain view')

    // the chain hash over the final prefix, from the stored blocks; FILE entries name the blob cores
    const blobs = new Map<string, WriterKey>()
    const noteFiles = (writer: WriterKey, bytes: Uint8Array): void => {
      const d = decodeBlock(bytes)
      if ('error' in d) return
      for (const e of validEntries(d.block).entries) {
        if (e.type !== EntryType.FILE) continue
        try { blobs.set(toHex(decodeFile(e.payload).blobsKey), writer) } catch {}
      }
    }
    const total = this.view.meta.finalLength
    const audited = problems.length
    const hasher = new ChainHasher(hash)
    let h: Uint8Array = hash([this.key])
    let expect = 0
    let hashing = true
    let last: { writer: WriterKey, seq: number } | null = null
    for await (const b of this.view.blocks(0, total)) {
      opts.signal?.throwIfAborted()
      if (hashing && b.position !== expect) { problems.push(`chain view: block ${formatKey(fromHex(b.writer))}#${b.seq} at position ${b.position}, expected ${expect}`); hashing = false }
      if (hashing && !asBuffer(b.hashBefore).equals(asBuffer(h))) {
        problems.push(last === null
          ? `chain view: the chain hash stored before position ${b.position} is not the chain's first hash`
          : `chain hash after block ${formatKey(fromHex(last.writer))}#${last.seq} (position ${b.position - 1}) differs from the view's: that block's stored bytes or the view is corrupt`)
        hashing = false
      }
      const feed = this.feeds.get(b.writer) ?? await this.ensureFeed(b.writer)
      let bytes: Buffer | null
      try {
        bytes = await feed.core.get(b.seq, { wait: false })
      } catch (e) {
        // the database's own checksums failed (e.g. "Blob CRC mismatch")
        problems.push(`block ${b.seq} of writer ${formatKey(fromHex(b.writer))} could not be read: ${(e as Error).message}`)
        hashing = false
        continue
      }
      if (bytes === null) {
        if (hashing) problems.push(`block ${b.seq} of writer ${formatKey(fromHex(b.writer))} is final but not stored here`)
        hashing = false
        continue
      }
      noteFiles(b.writer, bytes)
      if (hashing) {
        h = hasher.fold(h, fromHex(b.writer), b.seq, hash([bytes]), b.entries)
        expect = b.position + b.entries
        last = b
      }
      opts.onProgress?.(b.position + b.entries, total)
    }
    const head = toHex(h)
    const walked = problems.length === audited // the head checks only mean something after a clean walk
    if (walked && expect !== total) problems.push(`chain view ends at position ${expect}, its final length is ${total}`)
    // a view that never finalized anything (joined, not synced yet) stores no head at all
    else if (walked && !(total === 0 && this.view.meta.head === '') && head !== this.view.meta.head) problems.push(`recomputed head ${head.slice(0, 16)}… differs from the view's ${this.view.meta.head.slice(0, 16)}…`)
    else if (walked && head !== toHex(this.engine.finalHash) && this.engine.finalLength === total) problems.push(`recomputed head ${head.slice(0, 16)}… differs from the consensus state's ${toHex(this.engine.finalHash).slice(0, 16)}…`)
    for (const t of this.engine.tail()) {
      if (t.entries === 0) continue
      const bytes = await this.feeds.get(t.writer)?.core.get(t.seq, { wait: false }).catch(() => null) // a read error was reported by the audit
      if (bytes !== null && bytes !== undefined) noteFiles(t.writer, bytes)
    }

    // blob cores: only those stored here (a file never fetched has no core to audit)
    for (const [blobHex, writer] of blobs) {
      opts.signal?.throwIfAborted()
      const label = `blob core ${formatKey(fromHex(blobHex))} (files of writer ${formatKey(fromHex(writer))})`
      // ask the storage, not Corestore with createIfMissing: false: Corestore shares one opening
      // per core, so that option would make a concurrent open of the same core (the daemon's
      // files seeding it, a get) fail with STORAGE_EMPTY too
      if (!(await this.store.storage.hasCore(discoveryKey(fromHex(blobHex))))) continue
      const core = this.store.get({ key: fromHex(blobHex) })
      try {
        await core.ready()
      } catch (e) {
        await core.close().catch(() => {})
        problems.push(`${label}: could not be opened: ${(e as Error).message}`)
        continue
      }
      try {
        await audit(core, 'blobs', label)
      } finally {
        await core.close().catch(() => {})
      }
    }
    return { ok: problems.length === 0, problems, feeds, entries: expect, head }
  }

  /** Connected peers replicating this chain. */
  peers (): PeerStatus[] {
    return this.peerTable()
  }

  /** Number of entries, final and pending. */
  get length (): number { return this.counts().length }
  /** Number of final entries. */
  get finalLength (): number { return this.engine.finalLength }
  /** Hex chain hash of the final prefix. */
  get head (): string { return toHex(this.engine.finalHash) }

  /**
   * Entries in [start, end): the final prefix first, then the pending tail (marked final:false).
   * `final: true` stops at the final prefix. `filter` keeps only matching entries; `limit` and
   * `last` count matching entries. A writer filter reads that writer's blocks through the view's
   * writer index; type and time filters read every block of the range (there is no index for
   * them). Streams; does not collect the chain in memory.
   */
  async * read (opts: ReadOptions = {}): AsyncGenerator<ChainEntry> {
    if (this.opened === false) await this.ready()
    await this.view.flush() // the runs, not a forced engine snapshot: reads can be frequent (log -f)
    const finalLength = this.view.meta.finalLength
    const tail = opts.final === true ? [] : this.engine.tail().filter((t) => t.entries > 0 && t.position >= finalLength)
    const total = opts.final === true ? finalLength : finalLength + tail.reduce((n, t) => n + t.entries, 0)
    const filter = compileFilter(opts.filter)
    const reverse = opts.reverse === true
    let start = Math.max(0, opts.start ?? 0)
    let end = Math.min(total, opts.end ?? total)
    if (opts.last !== undefined) {
      if (opts.last <= 0) return
      start = filter === null ? Math.max(start, end - opts.last) : await this.startOfLast(opts.last, { start, end, finalLength, tail, filter }, filter)
    }
    const limit = opts.limit ?? Infinity
    if (filter === null) {
      // without a filter every position matches: narrow the range instead of counting
      if (reverse) start = Math.max(start, end - limit)
      else end = Math.min(end, start + limit)
    }
    if (end <= start || limit <= 0) return

    let count = 0
    for await (const b of this.blockRefs({ start, end, finalLength, tail, filter }, reverse)) {
      const entries = await this.blockEntries(b.writer, b.seq)
      if (filter !== null && !filter.block(entries.block)) continue
      const from = Math.max(start, b.position) - b.position
      const to = Math.min(end, b.position + b.entries) - b.position
      for (let k = 0; k < to - from; k++) {
        const i = reverse ? to - 1 - k : from + k
        if (filter !== null && !filter.entry(entries.entries[i])) continue
        yield this.toEntry(b.writer, b.seq, i, b.position + i, b.final, entries)
        if (++count >= limit) return
      }
    }
  }

  /** The position from which `read` yields the last `n` entries that match `filter` in a range. */
  private async startOfLast (n: number, range: ReadRange, filter: CompiledFilter): Promise<number> {
    let count = 0
    for await (const b of this.blockRefs(range, true)) {
      const entries = await this.blockEntries(b.writer, b.seq)
      if (!filter.block(entries.block)) continue
      const from = Math.max(range.start, b.position) - b.position
      const to = Math.min(range.end, b.position + b.entries) - b.position
      for (let i = to - 1; i >= from; i--) {
        if (filter.entry(entries.entries[i]) && ++count >= n) return b.position + i
      }
    }
    return range.start
  }

  /**
   * The blocks holding entries of [start, end) in chain order (or reversed): final ones from the
   * view's runs — or, with a writer filter, from that writer's index — then the pending tail.
   */
  private async * blockRefs (range: ReadRange, reverse: boolean): AsyncGenerator<BlockRef> {
    const { start, end, finalLength, tail, filter } = range
    const writer = filter?.writer ?? null
    const pending = tail
      .filter((t) => t.position + t.entries > start && t.position < end && (writer === null || t.writer === writer))
      .map((t) => ({ writer: t.writer, seq: t.seq, position: t.position, entries: t.entries, final: false }))
    if (reverse) {
      yield * pending.reverse()
      yield * this.finalBlockRefs(start, Math.min(end, finalLength), writer, true)
    } else {
      yield * this.finalBlockRefs(start, Math.min(end, finalLength), writer, false)
      yield * pending
    }
  }

  private async * finalBlockRefs (start: number, end: number, writer: WriterKey | null, reverse: boolean): AsyncGenerator<BlockRef> {
    if (end <= start) return
    if (writer === null) {
      for await (const b of this.view.blocks(start, end, reverse)) yield { writer: b.writer, seq: b.seq, position: b.position, entries: b.entries, final: true }
      return
    }
    // the index gives (seq, position); the entry count comes from the block itself (cached for the read)
    const ref = async (x: { seq: number, position: number }): Promise<BlockRef> =>
      ({ writer, seq: x.seq, position: x.position, entries: (await this.blockEntries(writer, x.seq)).entries.length, final: true })
    if (reverse) {
      for await (const x of this.view.writerBlocks(writer, 0, true)) {
        if (x.position >= end) continue
        const r = await ref(x)
        if (r.position + r.entries <= start) return
        yield r
      }
      return
    }
    // forward: a block that starts before `start` may still reach into the range; only the
    // last such block can, so hold it until the first block at or after `start`
    let before: { seq: number, position: number } | null = null
    for await (const x of this.view.writerBlocks(writer, 0)) {
      if (x.position < start) { before = x; continue }
      if (before !== null) {
        const r = await ref(before)
        before = null
        if (r.position + r.entries > start) yield r
      }
      if (x.position >= end) return
      yield await ref(x)
    }
    if (before !== null) {
      const r = await ref(before)
      if (r.position + r.entries > start) yield r
    }
  }

  /** One entry by position, with the chain hash after it (null while it is pending). */
  async get (position: number): Promise<(ChainEntry & { hash: string | null }) | null> {
    if (this.opened === false) await this.ready()
    if (!Number.isInteger(position) || position < 0) return null
    await this.view.flush()
    if (position < this.view.meta.finalLength) {
      const b = await this.view.locate(position)
      if (b === null) return null
      const entries = await this.blockEntries(b.writer, b.seq)
      const index = position - b.position
      const blockHash = (await this.feeds.get(b.writer)?.blockHash(b.seq)) ?? null
      const h = blockHash === null ? null : new ChainHasher(hash).fold(b.hashBefore, fromHex(b.writer), b.seq, blockHash, index + 1)
      return { ...this.toEntry(b.writer, b.seq, index, position, true, entries), hash: h === null ? null : toHex(h) }
    }
    for await (const e of this.read({ start: position, end: position + 1 })) return { ...e, hash: null }
    return null
  }

  private async blockEntries (writer: WriterKey, seq: number): Promise<{ block: Block | null, entries: RawEntry[] }> {
    const id = writer + ':' + seq
    const hit = this.blockCache.get(id)
    if (hit !== undefined) return hit
    const feed = this.feeds.get(writer) ?? await this.ensureFeed(writer)
    const bytes = await feed.core.get(seq, { wait: false })
    const d = bytes === null ? null : decodeBlock(bytes)
    const out = d === null || 'error' in d ? { block: null, entries: [] } : { block: d.block, entries: validEntries(d.block).entries }
    this.blockCache.set(id, out)
    if (this.blockCache.size > 64) this.blockCache.delete(this.blockCache.keys().next().value!)
    return out
  }

  private toEntry (writer: WriterKey, seq: number, index: number, position: number, final: boolean, b: { block: Block | null, entries: RawEntry[] }): ChainEntry {
    const e = b.entries[index]
    const type = (ENTRY_TYPE_NAMES[e?.type ?? 0] ?? 'data') as EntryTypeName
    const data = e === undefined ? Buffer.alloc(0) : asBuffer(e.payload)
    let value: unknown = null
    try {
      if (e?.type === EntryType.MEMBERSHIP) { const m = decodeMembership(data); value = { op: m.op, key: formatKey(m.key), indexer: m.indexer } }
      if (e?.type === EntryType.GENESIS) { const g = decodeGenesis(data); value = { name: g.name, creator: formatKey(g.creator) } }
      if (e?.type === EntryType.FILE) { const f = decodeFile(data); value = { ...f, blobsKey: formatKey(f.blobsKey), hash: toHex(f.hash) } }
    } catch {}
    return {
      position, writer: fromHex(writer), seq, index, final, type, data, value,
      time: b.block?.time ?? 0,
      clock: b.block?.clock ?? 0,
    }
  }
}

/** Cut entries into blocks of at most MAX_BATCH_ENTRIES entries and MAX_BATCH_BYTES bytes. */
export function cutBlocks (entries: RawEntry[]): RawEntry[][] {
  const out: RawEntry[][] = []
  let cur: RawEntry[] = []
  let bytes = 0
  for (const e of entries) {
    if (cur.length > 0 && (cur.length >= MAX_BATCH_ENTRIES || bytes + e.payload.byteLength > MAX_BATCH_BYTES)) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(e)
    bytes += e.payload.byteLength
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** A block holding entries of a read, with where they sit in the chain. */
interface BlockRef { writer: WriterKey, seq: number, position: number, entries: number, final: boolean }

/** What one read covers: its range, the final length and pending tail it started from, its filter. */
interface ReadRange {
  start: number
  end: number
  finalLength: number
  tail: Array<{ writer: WriterKey, seq: number, entries: number, position: number }>
  filter: CompiledFilter | null
}

/** An EntryFilter as read applies it: per block (writer, time) and per entry (type). */
interface CompiledFilter {
  writer: WriterKey | null
  block: (b: Block | null) => boolean
  entry: (e: RawEntry | undefined) => boolean
}

const TYPE_CODES: Record<EntryTypeName, number> = { data: EntryType.DATA, file: EntryType.FILE, membership: EntryType.MEMBERSHIP, join: EntryType.JOIN, genesis: EntryType.GENESIS }

function compileFilter (f: EntryFilter | undefined): CompiledFilter | null {
  if (f === undefined) return null
  const writer = f.writer === undefined ? null : toHex(f.writer)
  const types = f.types === undefined ? null : new Set(f.types.map((t) => {
    const code = TYPE_CODES[t]
    if (code === undefined) throw err('INVALID_ARGUMENT', `unknown entry type "${String(t)}" (${Object.keys(TYPE_CODES).join(', ')})`)
    return code
  }))
  const since = f.sinceTime ?? null
  if (writer === null && types === null && since === null) return null
  return {
    writer,
    block: since === null ? () => true : (b) => (b?.time ?? 0) >= since,
    // an entry that did not decode reads as data (see toEntry)
    entry: types === null ? () => true : (e) => types.has(e === undefined || ENTRY_TYPE_NAMES[e.type] === undefined ? EntryType.DATA : e.type),
  }
}

/** Hypercore's audit in dry-run mode on one core; a storage error becomes the row's `error`. */
async function auditCore (core: Hypercore, kind: VerifiedCore['kind']): Promise<VerifiedCore> {
  const row: VerifiedCore = {
    key: core.key === null ? '' : formatKey(core.key), kind, length: core.length,
    blocks: 0, treeNodes: 0, droppedBlocks: 0, droppedTreeNodes: 0, droppedBits: 0, corrupt: false, error: null,
  }
  // the audit lives on Hypercore's internal core object (not on sessions) in 11.37
  const inner = (core as unknown as { core?: { audit?: (o: { dryRun: boolean }) => Promise<Record<string, number | boolean> | null> } }).core
  if (inner?.audit === undefined) return { ...row, error: 'this Hypercore has no audit' }
  try {
    const st = await inner.audit({ dryRun: true })
    if (st === null) return { ...row, corrupt: true }
    row.blocks = Number(st.blocks ?? 0)
    row.treeNodes = Number(st.treeNodes ?? 0)
    row.droppedBlocks = Number(st.droppedBlocks ?? 0)
    row.droppedTreeNodes = Number(st.droppedTreeNodes ?? 0)
    row.droppedBits = Number(st.droppedBits ?? 0)
    row.corrupt = st.corrupt === true
  } catch (e) {
    row.error = e instanceof Error ? e.message : String(e)
  }
  return row
}
