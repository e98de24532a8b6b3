/**
 * The materialized chain view, kept in a Hyperbee on the local store (never replicated as a
 * source of truth: it is derived from the writer feeds and can always be rebuilt from them).
 *
 * Keys (all fixed-width hex so byte order = numeric order):
 *   meta                      → { finalLength, finalBlocks, head }
 *   engine                    → consensus-layer snapshot (bytes)
 *   w!<idx:4>                 → writer key (hex) of local writer index idx
 *   s!<position:12>           → run of final blocks starting at that entry position:
 *                               [{ writer idx, seq, entries, hashBefore }] (≤ RUN_BLOCKS blocks)
 *   x!<idx:4>!<chunk:12>      → writer index: for writer idx's final blocks with seq in
 *                               [chunk, chunk + INDEX_CHUNK), pairs (seq, position of first entry)
 *
 * Runs of positions, not one key per entry (design §3): a block of 1,000 entries is one element.
 * Segments, the writer index and the engine snapshot are written in one batch, so a crash
 * leaves the view at a consistent point; the node then re-derives what came after it.
 */
import c from 'compact-encoding'
import Hyperbee from 'hyperbee'
import type Hypercore from 'hypercore'
import type { Segment, WriterKey } from '../chain/types.js'

/** Blocks per run record: bounds the work to locate one position. */
export const RUN_BLOCKS = 256
/** Least time between two engine snapshots written by timed flushes, ms. */
export const SNAPSHOT_INTERVAL = 1000
/** Seqs per writer-index record: one key per 256 blocks, not one per block. */
export const INDEX_CHUNK = 256

/** One final block that contributes entries to the view. */
export interface ViewBlock {
  writer: WriterKey
  seq: number
  /** position of its first entry */
  position: number
  entries: number
  /** chain hash before its first entry */
  hashBefore: Uint8Array
}

/** What the view knows of the final prefix. */
export interface ViewMeta {
  finalLength: number
  finalBlocks: number
  /** hex chain hash after the final prefix */
  head: string
}

interface RunBlock { w: number, seq: number, entries: number, hashBefore: Uint8Array }

const runBlock = {
  preencode (s: c.State, b: RunBlock) { c.uint.preencode(s, b.w); c.uint.preencode(s, b.seq); c.uint.preencode(s, b.entries); c.fixed32.preencode(s, b.hashBefore) },
  encode (s: c.State, b: RunBlock) { c.uint.encode(s, b.w); c.uint.encode(s, b.seq); c.uint.encode(s, b.entries); c.fixed32.encode(s, b.hashBefore) },
  decode (s: c.State): RunBlock { return { w: c.uint.decode(s), seq: c.uint.decode(s), entries: c.uint.decode(s), hashBefore: c.fixed32.decode(s) } },
}
const runEncoding = c.array(runBlock)
const indexEncoding = c.array(c.uint)

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')
const runKey = (position: number): string => 's!' + hex(position, 12)
const writerIndexKey = (w: number, seq: number): string => 'x!' + hex(w, 4) + '!' + hex(seq, 12)

/** The chain view over one Hyperbee. */
export class ChainView {
  readonly bee: Hyperbee<string, Buffer>
  meta: ViewMeta = { finalLength: 0, finalBlocks: 0, head: '' }
  private readonly writers: WriterKey[] = []
  private readonly writerIdx = new Map<WriterKey, number>()
  private newWriters: number[] = []
  /** final blocks not yet written (with entries > 0) */
  private pending: ViewBlock[] = []
  /** the writer-index chunks written by the last flush (the next one usually extends them) */
  private readonly chunkCache = new Map<string, number[]>()
  private readonly forkRecords = new Map<WriterKey, string>()
  private lastSnapshotAt = 0
  private forceSnapshot = false
  private flushing: Promise<void> | null = null
  private dirty = false

  constructor (core: Hypercore) {
    this.bee = new Hyperbee<string, Buffer>(core, { keyEncoding: 'utf-8', valueEncoding: 'binary' })
  }

  /** Load meta and the writer table. */
  async open (): Promise<void> {
    await this.bee.ready()
    const meta = await this.bee.get('meta')
    if (meta !== null) this.meta = JSON.parse(meta.value.toString()) as ViewMeta
    for await (const { key, value } of this.bee.createReadStream({ gte: 'w!', lt: 'w"' })) {
      const idx = parseInt(key.slice(2), 16)
      const k = value.toString()
      this.writers[idx] = k
      this.writerIdx.set(k, idx)
    }
  }

  /** The engine snapshot stored with the view, or null for a new view. */
  async loadSnapshot (): Promise<Uint8Array | null> {
    const node = await this.bee.get('engine')
    return node === null ? null : node.value
  }

  /** Writer key of a local writer index. */
  writerAt (idx: number): WriterKey {
    const k = this.writers[idx]
    if (k === undefined) throw new Error('unknown writer index ' + idx)
    return k
  }

  private indexOf (key: WriterKey): number {
    let idx = this.writerIdx.get(key)
    if (idx === undefined) {
      idx = this.writers.length
      this.writers.push(key)
      this.writerIdx.set(key, idx)
      this.newWriters.push(idx)
    }
    return idx
  }

  /**
   * Where the engine snapshot comes from: read at the start of every flush, together with the
   * queued segments, so the two are always written consistently.
   */
  snapshotSource: (() => Uint8Array) | null = null

  /** Queue the blocks of newly final segments; `head` is the hex chain hash after them. */
  apply (segments: Segment[], head: string): void {
    let applied = false
    for (const seg of segments) {
      // never record a position twice: after a restart from an older snapshot (or a rebuild)
      // the engine re-derives segments this view already holds
      if (seg.end < this.meta.finalLength || (seg.end === this.meta.finalLength && seg.end > seg.start)) continue
      for (const b of seg.blocks) {
        if (b.entries > 0 && b.position < this.meta.finalLength) continue
        this.meta.finalBlocks++
        if (b.entries === 0) continue
        this.pending.push({ writer: b.writer, seq: b.seq, position: b.position, entries: b.entries, hashBefore: b.hashBefore })
      }
      this.meta.finalLength = seg.end
      applied = true
    }
    if (applied) this.meta.head = head
    this.dirty = true
  }

  /** Mark the view as needing a write (the engine state changed); `snapshot`: write the engine state too. */
  markDirty (snapshot = false): void {
    this.dirty = true
    if (snapshot) this.forceSnapshot = true
  }

  /** True if there is anything not yet written. */
  get needsFlush (): boolean {
    return this.dirty
  }

  /** Write everything queued, in one atomic batch. Concurrent calls share one write. */
  async flush (): Promise<void> {
    while (this.flushing !== null) await this.flushing
    if (!this.dirty) return
    const blocks = this.pending
    const newWriters = this.newWriters
    this.flushing = this._flush(blocks, newWriters)
    try {
      await this.flushing
    } catch (e) {
      // nothing was written: keep the queued blocks for the next attempt
      this.pending = blocks.concat(this.pending)
      this.newWriters = newWriters.concat(this.newWriters)
      this.dirty = true
      throw e
    } finally {
      this.flushing = null
    }
  }

  private async _flush (blocks: ViewBlock[], newWriters: number[]): Promise<void> {
    // The snapshot can lag the runs (a restart re-derives the segments after it, and apply()
    // skips positions already written), so a large one is written at most once per
    // SNAPSHOT_INTERVAL; explicit flushes always write it (the node's close() flushes only
    // if the engine changed, see ChainNode._close).
    const now = Date.now()
    const takeSnapshot = this.snapshotSource !== null && (this.forceSnapshot || now - this.lastSnapshotAt >= SNAPSHOT_INTERVAL)
    const snapshot = takeSnapshot ? this.snapshotSource!() : null
    if (takeSnapshot) { this.lastSnapshotAt = now; this.forceSnapshot = false }
    const meta = { ...this.meta }
    this.pending = []
    this.newWriters = []
    this.dirty = false

    const batch = this.bee.batch()
    // runs: fill up the last stored run first so lookups stay bounded and runs stay dense
    let i = 0
    if (blocks.length > 0) {
      const first = blocks[0]!
      const last = await this.bee.peek({ lt: runKey(first.position), gte: 's!', reverse: true })
      if (last !== null) {
        const run = c.decode(runEncoding, last.value)
        const lastRunEnd = parseInt(last.key.slice(2), 16) + run.reduce((n, b) => n + b.entries, 0)
        if (lastRunEnd === first.position && run.length < RUN_BLOCKS) {
          while (run.length < RUN_BLOCKS && i < blocks.length) run.push(this.toRun(blocks[i++]!))
          await batch.put(last.key, Buffer.from(c.encode(runEncoding, run)))
        }
      }
    }
    while (i < blocks.length) {
      const start = blocks[i]!.position
      const run: RunBlock[] = []
      while (run.length < RUN_BLOCKS && i < blocks.length) run.push(this.toRun(blocks[i++]!))
      await batch.put(runKey(start), Buffer.from(c.encode(runEncoding, run)))
    }
    // writer index: append (seq, position) pairs to each touched chunk, one put per chunk
    const chunks = new Map<string, number[]>()
    for (const b of blocks) {
      const k = writerIndexKey(this.indexOf(b.writer), b.seq - (b.seq % INDEX_CHUNK))
      let list = chunks.get(k)
      if (list === undefined) {
        const cached = this.chunkCache.get(k)
        if (cached !== undefined) {
          list = cached.slice()
        } else {
          const node = await this.bee.get(k)
          list = node === null ? [] : c.decode(indexEncoding, node.value)
        }
        chunks.set(k, list)
      }
      list.push(b.seq, b.position)
    }
    for (const [k, list] of chunks) await batch.put(k, Buffer.from(c.encode(indexEncoding, list)))
    for (const idx of newWriters.concat(this.newWriters)) await batch.put('w!' + hex(idx, 4), Buffer.from(this.writerAt(idx)))
    this.newWriters = []
    const forks = [...this.forkRecords]
    for (const [w, rec] of forks) await batch.put('f!' + w, Buffer.from(rec))
    if (snapshot !== null) await batch.put('engine', Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength))
    await batch.put('meta', Buffer.from(JSON.stringify(meta)))
    await batch.flush()
    for (const [w, rec] of forks) if (this.forkRecords.get(w) === rec) this.forkRecords.delete(w)
    this.chunkCache.clear()
    for (const [k, list] of chunks) this.chunkCache.set(k, list)
  }

  private toRun (b: ViewBlock): RunBlock {
    return { w: this.indexOf(b.writer), seq: b.seq, entries: b.entries, hashBefore: b.hashBefore }
  }

  /** The final block holding entry `position`, or null past the flushed final prefix. */
  async locate (position: number): Promise<ViewBlock | null> {
    if (position < 0) return null
    const node = await this.bee.peek({ lte: runKey(position), gte: 's!', reverse: true })
    if (node === null) return null
    let p = parseInt(node.key.slice(2), 16)
    for (const b of c.decode(runEncoding, node.value)) {
      if (position < p + b.entries) return { writer: this.writerAt(b.w), seq: b.seq, position: p, entries: b.entries, hashBefore: b.hashBefore }
      p += b.entries
    }
    return null
  }

  /** Final blocks overlapping positions [start, end), in order (or reversed). */
  async * blocks (start: number, end: number, reverse = false): AsyncGenerator<ViewBlock> {
    if (end <= start) return
    const first = await this.bee.peek({ lte: runKey(start), gte: 's!', reverse: true })
    const from = first === null ? 's!' : first.key
    const range = reverse ? { gte: from, lt: runKey(end), reverse: true } : { gte: from, lt: runKey(end) }
    for await (const node of this.bee.createReadStream(range)) {
      const run: ViewBlock[] = []
      let p = parseInt(node.key.slice(2), 16)
      for (const b of c.decode(runEncoding, node.value)) {
        if (p + b.entries > start && p < end) run.push({ writer: this.writerAt(b.w), seq: b.seq, position: p, entries: b.entries, hashBefore: b.hashBefore })
        p += b.entries
      }
      if (reverse) run.reverse()
      yield * run
    }
  }

  /** Position of the first entry of a final block of `writer`, or null. */
  async positionOf (writer: WriterKey, seq: number): Promise<number | null> {
    for await (const b of this.writerBlocks(writer, seq)) return b.seq === seq ? b.position : null
    return null
  }

  /**
   * Final blocks of one writer (those with entries) with their positions, in feed order from
   * block `fromSeq` on, or with `reverse` newest first down to `fromSeq`. Reads the writer index
   * only (one key per INDEX_CHUNK blocks), never the runs of other writers' blocks.
   */
  async * writerBlocks (writer: WriterKey, fromSeq = 0, reverse = false): AsyncGenerator<{ seq: number, position: number }> {
    const idx = this.writerIdx.get(writer)
    if (idx === undefined) return
    const from = writerIndexKey(idx, fromSeq - (fromSeq % INDEX_CHUNK))
    for await (const node of this.bee.createReadStream({ gte: from, lt: writerIndexKey(idx + 1, 0), reverse })) {
      const list = c.decode(indexEncoding, node.value)
      if (!reverse) {
        for (let i = 0; i + 1 < list.length; i += 2) {
          if (list[i]! >= fromSeq) yield { seq: list[i]!, position: list[i + 1]! }
        }
        continue
      }
      for (let i = list.length - 2; i >= 0; i -= 2) {
        if (list[i]! < fromSeq) return
        yield { seq: list[i]!, position: list[i + 1]! }
      }
    }
  }

  /** Keep the proof that a writer forked its feed (`f!<writer>`), written with the next flush. */
  recordFork (writer: WriterKey, info: { length: number, fork: number, detectedAt: number, proof: unknown }): void {
    this.forkRecords.set(writer, JSON.stringify({ writer, ...info }, (_k, v: unknown) => {
      if (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) return Buffer.from((v as { data: number[] }).data).toString('hex')
      return v
    }))
    this.dirty = true
  }

  /** Every fork proof stored. */
  async forks (): Promise<Array<{ writer: WriterKey, length: number, fork: number, detectedAt: number, proof: unknown }>> {
    await this.flush()
    const out = []
    for await (const { value } of this.bee.createReadStream({ gte: 'f!', lt: 'f"' })) out.push(JSON.parse(value.toString()))
    return out
  }

  /** Close the bee (the core is closed by whoever opened it). */
  async close (): Promise<void> {
    await this.flush()
    await this.bee.close()
  }
}
