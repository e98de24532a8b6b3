/**
 * ChainFiles: large files on a chain (design §6). `send` streams a file into this writer's blob
 * core (Hyperblobs, one core per writer per chain) with constant memory and appends a FILE entry
 * only once the blob is fully written and the file proved unchanged; `get` downloads a file's
 * blocks from every connected peer that has them, writes them in order to a temporary file
 * beside the target while hashing, checks the hash and renames; `list` shows the files of the
 * chain and how much of each is stored here; `seed` keeps every file of the chain stored and
 * served (for the daemon).
 *
 * Resuming: the blocks a `get` downloaded live in the store, so a `get` that was killed starts
 * again from them; only the temporary file is rewritten, from local blocks.
 */
import fs from 'node:fs'
import path from 'node:path'
import ReadyResource from 'ready-resource'
import Hyperblobs from 'hyperblobs'
import ids from 'hypercore-id-encoding'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { err, isFeedchainError } from '../errors.js'
import { EntryType, decodeFile, encodeFile, type FilePayload, type RawEntry } from '../feed/schema.js'
import { fileError } from './file-errors.js'
import { FileHasher } from './file-hash.js'
import { assemble } from './assemble.js'
import { DownloadWindow, LaneBudget, isDownloadStopped, windowShape } from './download-window.js'
import { fileId, resolveFile, safeFileName } from './file-id.js'
import { openPathSource, streamSource, type FileSource } from './file-source.js'
import { ProgressReporter, type OnFileProgress } from './progress.js'

/**
 * Bytes per blob block, chosen by measurement: `get` of a 192 MiB file between two processes on
 * the loopback testnet (2 cores, two runs each): 64 KiB blocks 43–47 MB/s, 256 KiB 46–47,
 * 1 MiB 55–77 (mostly 70–76), 2 MiB 71–72, 4 MiB 72–74. 1 MiB is where throughput levels off;
 * larger blocks only raise memory (receiver peak RSS 160 MiB at 64 KiB, 240 at 1 MiB, 285 at
 * 4 MiB: more bytes in flight per request). It also costs one Merkle node and one request per
 * MiB instead of sixteen.
 */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024
/** Largest block size `send` accepts (hypercore messages must stay well under 16 MiB frames). */
export const MAX_BLOCK_SIZE = 8 * 1024 * 1024
/** Suffix of the temporary file `get` writes beside the target. */
export const PARTIAL_SUFFIX = '.feedchain-partial'
/** Longest file name recorded, in bytes. */
export const MAX_NAME_BYTES = 4096

/** One entry as ChainFiles reads it from the chain (ChainNode's ChainEntry fits). */
export interface FileChainEntry {
  position: number
  writer: Buffer
  seq: number
  index: number
  final: boolean
  type: string
  data: Buffer
  time: number
}

/** What ChainFiles needs of a chain (ChainNode satisfies it). */
export interface FileChain {
  readonly store: Corestore
  readonly key: Buffer
  readonly writerKey: Buffer
  readonly finalLength: number
  ready (): Promise<void>
  read (opts?: { start?: number, filter?: { types?: ReadonlyArray<'file'> } }): AsyncIterable<FileChainEntry>
  appendEntries (entries: RawEntry[]): Promise<{ length: number, finalLength: number }>
  status (): { isWriter: boolean }
  on (event: 'update', fn: () => void): unknown
  off (event: 'update', fn: () => void): unknown
}

/** What ChainFiles needs of a network: tracking a core so peers that send bad data are banned. */
export interface FileNetwork {
  trackCore (core: Hypercore): () => void
}

/** Options of ChainFiles. */
export interface ChainFilesOptions {
  /** Track every blob core on this network (bans peers whose blocks fail verification). */
  network?: FileNetwork | undefined
  /** Block size of blobs this writer sends, bytes (default DEFAULT_BLOCK_SIZE). */
  blockSize?: number | undefined
  /**
   * Blocks requested per peer at once on blob cores, [min, max] (hypercore scales from min
   * toward max on high-latency links). Default: hypercore's own ([16, 512]). Fewer means less
   * memory in flight (1 MiB each) and a shorter tail when peers are slow.
   */
  inflightRange?: [number, number] | undefined
}

/** A file of the chain. */
export interface FileInfo {
  /** first 16 hex characters of the hash */
  id: string
  name: string
  size: number
  mime: string
  /** blake2b-256 of the content, hex */
  hash: string
  /** writer that sent it, z-base32 */
  author: string
  position: number
  final: boolean
  seq: number
  index: number
  /** the author's wall clock when it was sent, ms */
  time: number
  /** the author's blob core, z-base32 */
  blobsKey: string
  blockOffset: number
  blockLength: number
  byteOffset: number
  byteLength: number
  /** blocks of the file stored in this store */
  storedBlocks: number
  /** bytes of the file stored here (exact when complete, else estimated from the block count) */
  stored: number
  /** every block is stored here */
  complete: boolean
}

/** Options of send. */
export interface SendOptions {
  /** name recorded in the chain (default: the path's base name; required for streams) */
  name?: string | undefined
  /** MIME type recorded (default: guessed from the name's extension, else application/octet-stream) */
  mime?: string | undefined
  signal?: AbortSignal | undefined
  onProgress?: OnFileProgress | undefined
}

/** Options of get. */
export interface GetOptions {
  /** target path, or an existing directory to write `<name>` in (default: `<name>` in the working directory) */
  output?: string | undefined
  signal?: AbortSignal | undefined
  onProgress?: OnFileProgress | undefined
  /** fail with TIMEOUT after this many ms without a new block (default: wait as long as needed) */
  timeout?: number | undefined
}

/** What a get did. */
export interface GetResult {
  /** absolute path of the file written */
  path: string
  file: FileInfo
  /** other entries the query matched (older entries of the name, or re-sends of the content) */
  others: FileInfo[]
  /** bytes of the file downloaded from peers in this run (each block counted once) */
  downloaded: number
  /** bytes of blocks that arrived a second time (a slow request also sent to another peer) */
  duplicates: number
  /** bytes that were already stored when the run started (resumed or own) */
  reused: number
  /** bytes each peer served first in this run, by z-base32 public key (they add up to `downloaded`) */
  sources: Record<string, number>
  /** ms */
  elapsed: number
}

/** Options of seed. */
export interface SeedOptions {
  /** resolve only once every file known now is stored completely */
  wait?: boolean | undefined
  signal?: AbortSignal | undefined
}

interface FileRecord {
  payload: FilePayload
  position: number
  final: boolean
  writer: Buffer
  seq: number
  index: number
  time: number
}

/** Hypercore's clear(start, end): drops local block data, keeps the Merkle tree (not in src/types yet). */
interface ClearableCore { clear (start: number, end: number): Promise<unknown> }

interface OpenCore {
  core: Hypercore
  untrack: () => void
}

/** Large files of one chain. */
export class ChainFiles extends ReadyResource {
  readonly node: FileChain
  readonly blockSize: number
  /** Counters: files sent and got, file ranges being seeded. */
  readonly stats = { sends: 0, gets: 0, seeded: 0 }

  private readonly network: FileNetwork | undefined
  private readonly inflightRange: [number, number] | undefined
  private readonly cores = new Map<string, OpenCore>()
  private readonly coreOpening = new Map<string, Promise<OpenCore>>()
  private own: Hyperblobs | null = null
  private ownOpening: Promise<Hyperblobs> | null = null
  private sendLock: Promise<unknown> = Promise.resolve()
  /** files at final positions, in position order: they never change */
  private finalFiles: FileRecord[] = []
  private scannedFinal = 0
  private scanning: Promise<FileRecord[]> | null = null
  private scanNext: Promise<FileRecord[]> | null = null
  private seeding = false
  private readonly seeded = new Map<string, { destroy (): void, done (): Promise<void> }>()
  /** per blob core (hex key): the lanes its seeded files share */
  private readonly seedBudgets = new Map<string, LaneBudget>()
  private seedTimer: NodeJS.Timeout | null = null
  private seedRun: Promise<void> | null = null
  private readonly onUpdate = (): void => { this.scheduleSeed() }

  constructor (node: FileChain, opts: ChainFilesOptions = {}) {
    super()
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE
    if (!Number.isInteger(blockSize) || blockSize < 1024 || blockSize > MAX_BLOCK_SIZE) {
      throw err('INVALID_ARGUMENT', `blockSize must be an integer from 1024 to ${MAX_BLOCK_SIZE} bytes`)
    }
    const inflight = opts.inflightRange
    if (inflight !== undefined && !(Array.isArray(inflight) && inflight.length === 2 && inflight.every((n) => Number.isInteger(n) && n > 0) && inflight[0] <= inflight[1])) {
      throw err('INVALID_ARGUMENT', 'inflightRange must be [min, max], positive integers, min <= max')
    }
    this.node = node
    this.network = opts.network
    this.blockSize = blockSize
    this.inflightRange = inflight
  }

  protected override async _open (): Promise<void> {
    await this.node.ready()
    // open (and track) the blob cores already referenced: peers can fetch from them, bad peers get banned
    for (const f of await this.scan()) await this.openCore(f.payload.blobsKey)
  }

  protected override async _close (): Promise<void> {
    this.seeding = false
    this.node.off('update', this.onUpdate)
    if (this.seedTimer !== null) clearTimeout(this.seedTimer)
    this.seedTimer = null
    await this.sendLock.catch(() => {})
    if (this.seedRun !== null) await this.seedRun.catch(() => {})
    for (const d of this.seeded.values()) d.destroy()
    this.seeded.clear()
    this.seedBudgets.clear()
    await Promise.allSettled([...this.coreOpening.values()])
    for (const c of this.cores.values()) {
      c.untrack()
      await c.core.close().catch(() => {})
    }
    this.cores.clear()
    if (this.own !== null) await this.own.close().catch(() => {})
    this.own = null
  }

  // ---------------------------------------------------------------- the chain's files

  /**
   * Every file entry of the chain, oldest first (final prefix, then pending entries), as of a
   * read that starts after this call: one scan runs at a time, and callers arriving during a
   * scan share the next one (the running one may have started before their entry was appended).
   */
  private scan (): Promise<FileRecord[]> {
    if (this.scanning === null) {
      const run = this.scanOnce().finally(() => { if (this.scanning === run) this.scanning = null })
      this.scanning = run
      return run
    }
    this.scanNext ??= this.scanning.catch(() => {}).then(async () => {
      this.scanNext = null
      return this.scan()
    })
    return this.scanNext
  }

  private async scanOnce (): Promise<FileRecord[]> {
    const pending: FileRecord[] = []
    const finalLength = this.node.finalLength
    for await (const e of this.node.read({ start: this.scannedFinal, filter: { types: ['file'] } })) {
      if (e.type !== 'file') continue
      let payload: FilePayload
      try {
        payload = decodeFile(e.data)
      } catch {
        continue // the chain layer already skips malformed entries; never trust twice
      }
      const rec: FileRecord = { payload, position: e.position, final: e.final, writer: e.writer, seq: e.seq, index: e.index, time: e.time }
      // positions below the final length read at the start are final and never move
      if (e.final && e.position < finalLength) this.finalFiles.push(rec)
      else pending.push(rec)
    }
    this.scannedFinal = Math.max(this.scannedFinal, finalLength)
    return [...this.finalFiles, ...pending]
  }

  /** The files of the chain, oldest first, with how much of each is stored here. */
  async list (): Promise<FileInfo[]> {
    if (this.opened === false) await this.ready()
    const recs = await this.scan()
    const out: FileInfo[] = []
    for (const r of recs) out.push(await this.info(r))
    return out
  }

  private async info (r: FileRecord): Promise<FileInfo> {
    const p = r.payload
    const { core } = await this.openCore(p.blobsKey)
    const storedBlocks = await countStored(core, p.blockOffset, p.blockLength)
    const complete = storedBlocks === p.blockLength
    return {
      id: fileId(p.hash),
      name: p.name,
      size: p.size,
      mime: p.mime,
      hash: Buffer.from(p.hash).toString('hex'),
      author: ids.encode(r.writer),
      position: r.position,
      final: r.final,
      seq: r.seq,
      index: r.index,
      time: r.time,
      blobsKey: ids.encode(Buffer.from(p.blobsKey)),
      blockOffset: p.blockOffset,
      blockLength: p.blockLength,
      byteOffset: p.byteOffset,
      byteLength: p.byteLength,
      storedBlocks,
      stored: complete ? p.byteLength : p.blockLength === 0 ? 0 : Math.floor(p.byteLength * storedBlocks / p.blockLength),
      complete,
    }
  }

  /** Open (once) a blob core by key and track it on the network. */
  private async openCore (key: Uint8Array): Promise<OpenCore> {
    const hex = Buffer.from(key).toString('hex')
    const have = this.cores.get(hex)
    if (have !== undefined) return have
    const inflight = this.coreOpening.get(hex)
    if (inflight !== undefined) return inflight
    const p = (async () => {
      // inflightRange applies when this is the core's first session in the store (corestore passes it on)
      const core = this.node.store.get({ key: Buffer.from(key), ...(this.inflightRange !== undefined ? { inflightRange: this.inflightRange } : {}) } as { key: Buffer })
      await core.ready()
      if (this.closing !== null) {
        await core.close()
        throw err('CLOSED', 'files are closed')
      }
      const untrack = this.network !== undefined ? this.network.trackCore(core) : () => {}
      const c = { core, untrack }
      this.cores.set(hex, c)
      return c
    })()
    this.coreOpening.set(hex, p)
    try {
      return await p
    } finally {
      this.coreOpening.delete(hex)
    }
  }

  /** This writer's blob core for the chain (created on first use). */
  private async ownBlobs (): Promise<Hyperblobs> {
    if (this.own !== null) return this.own
    this.ownOpening ??= (async () => {
      const core = this.node.store.get({ name: 'feedchain/blobs/' + this.node.key.toString('hex') })
      await core.ready()
      const blobs = new Hyperblobs(core, { blockSize: this.blockSize })
      this.own = blobs
      // seed it (and track it) like every other blob core
      await this.openCore(core.key!)
      return blobs
    })()
    return this.ownOpening
  }

  // ---------------------------------------------------------------- send

  /**
   * Send a file: stream it into this writer's blob core, then append its FILE entry. The entry
   * is appended only after every byte is stored, the byte count matches, and (for a path) the
   * file's size, mtime and ctime are what they were before reading. On failure the blocks
   * written so far are cleared locally (their slots in the blob core stay: a core is append-only).
   */
  async send (input: string | AsyncIterable<Uint8Array | string>, opts: SendOptions = {}): Promise<FileInfo> {
    if (this.opened === false) await this.ready()
    if (this.closing !== null) throw err('CLOSED', 'files are closed')
    checkSignal(opts.signal)
    if (opts.name !== undefined) checkName(opts.name)
    if (!this.node.status().isWriter) throw err('NOT_WRITER', 'this user is not a writer of the chain, so it cannot send files')
    const source: FileSource = typeof input === 'string' ? await openPathSource(input) : streamSource(input, null)
    const run = this.sendLock.then(async () => this.sendLocked(source, opts))
    this.sendLock = run.catch(() => {})
    try {
      return await run
    } finally {
      await source.close().catch(() => {})
    }
  }

  private async sendLocked (source: FileSource, opts: SendOptions): Promise<FileInfo> {
    const name = opts.name ?? source.defaultName
    if (name === null) throw err('INVALID_ARGUMENT', 'a name is required when sending a stream')
    checkName(name)
    const mime = opts.mime ?? guessMime(name)
    const blobs = await this.ownBlobs()
    const core = blobs.core
    const startLength = core.length
    const progress = new ProgressReporter(source.size, opts.onProgress)
    const hasher = new FileHasher()
    const ws = blobs.createWriteStream()
    const closed = new Promise<void>((resolve, reject) => {
      ws.once('error', reject)
      ws.once('close', () => resolve())
    })
    closed.catch(() => {})
    let failure: unknown = null
    const onAbort = (): void => { ws.destroy(abortError(opts.signal)) }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      progress.report({ phase: 'reading', bytes: 0 }, true)
      for await (const block of source.blocks(this.blockSize)) {
        checkSignal(opts.signal)
        hasher.update(block)
        await writeBlock(ws, block)
        progress.report({ phase: 'reading', bytes: hasher.bytes })
      }
      checkSignal(opts.signal)
      ws.end()
      await closed
      checkSignal(opts.signal)
      await source.checkUnchanged(hasher.bytes)
      const id = ws.id
      if (id.byteLength !== hasher.bytes || id.blockOffset !== startLength) {
        throw new Error(`blob write mismatch: ${id.byteLength} bytes at block ${id.blockOffset}, ${hasher.bytes} read from block ${startLength}`)
      }
      const payload: FilePayload = {
        name, size: hasher.bytes, mime, blobsKey: core.key!,
        blockOffset: id.blockOffset, blockLength: id.blockLength, byteOffset: id.byteOffset, byteLength: id.byteLength,
        hash: hasher.digest(),
      }
      progress.total = hasher.bytes
      progress.report({ phase: 'verifying', bytes: hasher.bytes }, true)
      await this.node.appendEntries([{ type: EntryType.FILE, payload: encodeFile(payload) }])
      this.stats.sends++
      progress.report({ phase: 'done', bytes: hasher.bytes }, true)
      const recs = await this.scan()
      const mine = recs.filter((r) => Buffer.from(r.payload.blobsKey).equals(core.key!) && r.payload.blockOffset === payload.blockOffset)
      const rec = mine[mine.length - 1]
      if (rec === undefined) throw new Error('the FILE entry just appended is not in the chain view')
      return await this.info(rec)
    } catch (e) {
      failure = e
      throw opts.signal?.aborted === true && !isFeedchainError(e) ? abortError(opts.signal) : e
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      if (failure !== null) {
        if (!ws.destroyed) ws.destroy()
        await closed.catch(() => {})
        // blocks of a send that did not complete: free their space (orphan slots remain)
        const end = core.length
        if (end > startLength) await (core as Hypercore & ClearableCore).clear(startLength, end).catch(() => {})
      }
    }
  }

  // ---------------------------------------------------------------- get

  /**
   * Download a file by id, id prefix or name (see resolveFile) to `output`, from every connected
   * peer that has its blocks. Writes `.<name>.feedchain-partial` beside the target, checks the
   * hash, then renames: a corrupt or partial file is never left under the target name.
   */
  async get (query: string, opts: GetOptions = {}): Promise<GetResult> {
    if (this.opened === false) await this.ready()
    if (this.closing !== null) throw err('CLOSED', 'files are closed')
    checkSignal(opts.signal)
    const files = await this.list()
    const { file, others } = resolveFile(files, query)
    const rec = (await this.scan()).find((r) => r.position === file.position)
    if (rec === undefined) throw fileError('UNKNOWN_FILE', `file ${file.id} moved while it was looked up; try again`)
    const p = rec.payload
    checkEntry(p, file)
    const target = targetPath(opts.output, file.name)
    const partial = path.join(path.dirname(target), '.' + path.basename(target) + PARTIAL_SUFFIX)

    const { core } = await this.openCore(p.blobsKey)
    const session = core.session()
    await session.ready()
    const start = p.blockOffset
    const end = p.blockOffset + p.blockLength
    const progress = new ProgressReporter(p.byteLength, opts.onProgress)
    const nominal = nominalBlockSize(p)
    const storedAtStart = await countStored(session, start, p.blockLength)
    let stored = storedAtStart === p.blockLength ? p.byteLength : Math.min(p.byteLength, storedAtStart * nominal)
    let downloaded = 0
    let written = 0
    let lastBlockAt = Date.now()
    const sources = new Map<string, number>()
    // a block can arrive twice (a slow request re-sent to another peer): count each block once
    const seen = new Uint8Array(p.blockLength)
    let duplicates = 0
    const ondownload = (index: number, bytes: number, from: { remotePublicKey?: Uint8Array } | null): void => {
      if (index < start || index >= end) return
      if (seen[index - start] === 1) {
        duplicates += bytes
        return
      }
      seen[index - start] = 1
      downloaded += bytes
      stored = Math.min(p.byteLength, stored + bytes)
      lastBlockAt = Date.now()
      const peer = from?.remotePublicKey instanceof Uint8Array ? ids.encode(Buffer.from(from.remotePublicKey)) : 'unknown'
      sources.set(peer, (sources.get(peer) ?? 0) + bytes)
      report(false)
    }
    const report = (force: boolean): void => {
      const phase = stored < p.byteLength ? 'downloading' : 'writing'
      progress.report({ phase, bytes: stored, peers: session.peers.length, sources: sources.size, written }, force)
    }
    session.on('download', ondownload)

    // stopping (abort, idle timeout): close the session, which fails the gets waiting for blocks,
    // and tell assemble, whose writers may be waiting for blocks to arrive
    let stop: Error | null = null
    const stopper = new AbortController()
    const halt = (e: Error): void => {
      if (stop !== null) return
      stop = e
      stopper.abort(e)
      session.close().catch(() => {})
    }
    const onAbort = (): void => { halt(abortError(opts.signal)) }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const idle = opts.timeout === undefined
      ? null
      : setInterval(() => {
        if (Date.now() - lastBlockAt < opts.timeout!) return
        const n = session.peers.length
        const why = n === 0 ? 'no peer that has the file is connected' : `${n} peer${n === 1 ? '' : 's'} with the file connected, none sent a block`
        halt(err('TIMEOUT', `no new block of ${file.name} for ${(opts.timeout! / 1000).toFixed(opts.timeout! < 10_000 ? 1 : 0)} s: ${why} (${Math.floor(stored / Math.max(1, p.byteLength) * 100)}% stored); run get again to resume`))
      }, Math.min(1000, opts.timeout))

    let handle: fs.promises.FileHandle | null = null
    let range: { destroy (): void } | null = null
    try {
      try {
        handle = await fs.promises.open(partial, 'w+') // read back by the hash (assemble.ts)
      } catch (e) {
        throw outputError(partial, e)
      }
      report(true)
      // a sliding window over the range: every peer that has blocks gets requests in parallel,
      // and what is received but not yet stored stays bounded (download-window.ts)
      // the window hands each block it fetches to assemble as it arrives (written from memory)
      let take: ((index: number, block: Buffer) => void) | null = null
      if (storedAtStart < p.blockLength) {
        const w = this.openWindow(session, p, undefined, (index, block) => { take?.(index, block) })
        // the session closing (stop, close) fails assemble's gets too; anything else would leave get waiting
        w.done().catch((e: unknown) => { if (!isSessionClosed(e) && !isDownloadStopped(e)) halt(e instanceof Error ? e : new Error(String(e))) })
        range = w
      }
      const hash = await assemble({
        core: session,
        start,
        length: p.blockLength,
        byteLength: p.byteLength,
        handle,
        signal: stopper.signal,
        onWritten: (bytes) => {
          written = Math.min(p.byteLength, written + bytes) // a blob cut unevenly is rewritten in order
          report(false)
        },
        outputError: (e) => outputError(partial, e),
        arrivals: (t) => { take = t },
      })
      if (stop !== null) throw stop
      progress.report({ phase: 'verifying', bytes: p.byteLength, peers: session.peers.length, sources: sources.size, written }, true)
      try {
        await handle.sync()
        await handle.close()
        handle = null
      } catch (e) {
        throw outputError(partial, e)
      }
      if (!hash.equals(Buffer.from(p.hash))) {
        throw fileError('HASH_MISMATCH', `${file.name}: the downloaded bytes hash to ${hash.toString('hex').slice(0, 16)}…, the chain says ${file.hash.slice(0, 16)}…; the file was not written`)
      }
      try {
        await fs.promises.rename(partial, target)
      } catch (e) {
        throw outputError(target, e)
      }
      this.stats.gets++
      progress.report({ phase: 'done', bytes: p.byteLength, peers: session.peers.length, sources: sources.size, written }, true)
      return {
        path: target,
        file: { ...file, storedBlocks: p.blockLength, stored: p.byteLength, complete: true },
        others,
        downloaded,
        reused: p.byteLength - downloaded,
        duplicates,
        sources: Object.fromEntries(sources),
        elapsed: progress.elapsed,
      }
    } catch (e) {
      if (handle !== null) await handle.close().catch(() => {})
      handle = null
      // never leave a partial file behind: the blocks are in the store, the next run rewrites it cheaply
      await fs.promises.rm(partial, { force: true }).catch(() => {})
      if (stop !== null) throw stop
      if (isSessionClosed(e) && this.closing !== null) throw err('CLOSED', 'files are closed')
      throw e
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      if (idle !== null) clearInterval(idle)
      session.off('download', ondownload)
      range?.destroy()
      await session.close().catch(() => {})
    }
  }

  // ---------------------------------------------------------------- seed

  /**
   * Keep every file of the chain stored here and served: open each blob core referenced by a
   * FILE entry, download the files' block ranges, and keep doing so for files that appear later
   * (until close). With `wait`, resolves once every file known now is stored completely, and
   * rejects with CLOSED if the files are closed first.
   */
  async seed (opts: SeedOptions = {}): Promise<void> {
    if (this.opened === false) await this.ready()
    if (this.closing !== null) throw err('CLOSED', 'files are closed')
    if (!this.seeding) {
      this.seeding = true
      this.node.on('update', this.onUpdate)
    }
    await this.seedOnce()
    if (opts.wait !== true) return
    const all = [...this.seeded.values()].map(async (d) => d.done())
    try {
      await abortable(Promise.all(all), opts.signal)
    } catch (e) {
      // close() stops the downloads: say so rather than with the window's own code
      if (isDownloadStopped(e) || isSessionClosed(e)) throw err('CLOSED', 'files were closed before every file was stored')
      throw e
    }
  }

  private scheduleSeed (): void {
    if (!this.seeding || this.closing !== null || this.seedTimer !== null) return
    // entries arrive in bursts: look for new files at most every 250 ms
    this.seedTimer = setTimeout(() => {
      this.seedTimer = null
      this.seedOnce().catch(() => {})
    }, 250)
  }

  /**
   * The lanes every file of one blob core shares while seeded, so many files of one writer keep
   * one window's bound between them (download-window.ts). A `get` keeps a window of its own: it
   * does not queue behind files being seeded.
   */
  private seedBudget (core: Hypercore, blockSize: number): LaneBudget {
    const hex = Buffer.from(core.key!).toString('hex')
    let budget = this.seedBudgets.get(hex)
    if (budget === undefined) {
      budget = new LaneBudget(() => windowShape(blockSize, core.peers.length, undefined, this.inflightRange?.[0]).lanes)
      this.seedBudgets.set(hex, budget)
    }
    return budget
  }

  /** Download the blob of `p` from `core` through a sliding window (download-window.ts). */
  private openWindow (core: Hypercore, p: FilePayload, budget?: LaneBudget, onBlock?: (index: number, block: Buffer) => void): DownloadWindow {
    return new DownloadWindow(core, { start: p.blockOffset, end: p.blockOffset + p.blockLength, blockSize: nominalBlockSize(p), peerBlocks: this.inflightRange?.[0], budget, onBlock })
  }

  private async seedOnce (): Promise<void> {
    while (this.seedRun !== null) await this.seedRun.catch(() => {})
    const run = (async () => {
      for (const r of await this.scan()) {
        const p = r.payload
        const id = `${Buffer.from(p.blobsKey).toString('hex')}:${p.blockOffset}:${p.blockLength}`
        if (this.seeded.has(id) || this.closing !== null) continue
        const { core } = await this.openCore(p.blobsKey)
        if (p.blockLength === 0 || core.writable) {
          this.seeded.set(id, { destroy () {}, async done () {} })
          continue
        }
        const d = this.openWindow(core, p, this.seedBudget(core, nominalBlockSize(p)))
        this.seeded.set(id, d)
        this.stats.seeded++
      }
    })()
    this.seedRun = run
    try {
      await run
    } finally {
      this.seedRun = null
    }
  }
}

// ------------------------------------------------------------------ helpers

/** Bytes per block of a blob as `send` cut it (all but the last block this size); 0 for an empty one. */
function nominalBlockSize (p: FilePayload): number {
  return p.blockLength === 0 ? 0 : Math.ceil(p.byteLength / p.blockLength)
}

function checkSignal (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal)
}

function abortError (signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason
  return isFeedchainError(r) ? r : err('ABORTED', 'aborted')
}

async function abortable<T> (p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p
  checkSignal(signal)
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

function checkName (name: string): void {
  if (typeof name !== 'string' || name.trim().length === 0) throw err('INVALID_ARGUMENT', 'file name is empty')
  if (name.includes('\0')) throw err('INVALID_ARGUMENT', 'file name contains a NUL byte')
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw err('INVALID_ARGUMENT', `file name is longer than ${MAX_NAME_BYTES} bytes`)
}

/** Write one block to a streamx Writable, waiting for 'drain' when its buffer is full. */
async function writeBlock (ws: { write (b: Buffer): boolean, once (ev: string, fn: (...a: unknown[]) => void): unknown, off (ev: string, fn: (...a: unknown[]) => void): unknown, destroyed: boolean }, block: Buffer): Promise<void> {
  if (ws.write(block)) return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { cleanup(); resolve() }
    const fail = (e: unknown): void => { cleanup(); reject(e instanceof Error ? e : new Error(String(e))) }
    const closed = (): void => { cleanup(); reject(err('ABORTED', 'blob write stream closed')) }
    const cleanup = (): void => { ws.off('drain', done); ws.off('error', fail); ws.off('close', closed) }
    ws.once('drain', done)
    ws.once('error', fail)
    ws.once('close', closed)
  })
}

async function writeAll (handle: fs.promises.FileHandle, block: Buffer): Promise<void> {
  let off = 0
  while (off < block.byteLength) {
    const { bytesWritten } = await handle.write(block, off, block.byteLength - off)
    off += bytesWritten
  }
}

/** How many of the blocks [start, start + length) `core` has stored. */
async function countStored (core: Hypercore, start: number, length: number): Promise<number> {
  if (length === 0) return 0
  if (await core.has(start, start + length)) return length
  let n = 0
  for (let i = start; i < start + length; i++) if (await core.has(i)) n++
  return n
}

function checkEntry (p: FilePayload, f: FileInfo): void {
  const bad = p.byteLength !== p.size || (p.blockLength === 0) !== (p.byteLength === 0) || p.blockLength > p.byteLength ||
    !Number.isSafeInteger(p.blockOffset + p.blockLength)
  if (bad) throw fileError('INVALID_FILE_ENTRY', `file ${f.id} (${f.name}) has an impossible blob location: ${p.blockLength} blocks, ${p.byteLength} bytes, size ${p.size}`)
}

/** The absolute path `get` writes: `output`, `<output>/<name>` for a directory, or `./<name>`. */
function targetPath (output: string | undefined, name: string): string {
  const safe = safeFileName(name)
  const fallback = safe ?? 'feedchain-file'
  if (output === undefined || output === '') return path.resolve(fallback)
  const abs = path.resolve(output)
  let isDir = output.endsWith('/') || output.endsWith(path.sep)
  try {
    if (fs.statSync(abs).isDirectory()) isDir = true
  } catch {}
  return isDir ? path.join(abs, fallback) : abs
}

function outputError (file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOSPC': case 'EDQUOT':
      return fileError('DISK_FULL', `no space left writing ${file}; the downloaded blocks are kept, run get again once there is room`, e)
    case 'ENOENT': case 'ENOTDIR':
      return fileError('OUTPUT_UNWRITABLE', `cannot write ${file}: the directory does not exist`, e)
    case 'EACCES': case 'EPERM': case 'EROFS':
      return fileError('OUTPUT_UNWRITABLE', `cannot write ${file}: permission denied`, e)
    case 'EISDIR':
      return fileError('OUTPUT_UNWRITABLE', `cannot write ${file}: it is a directory`, e)
    default:
      if (code !== undefined) return fileError('OUTPUT_UNWRITABLE', `cannot write ${file}: ${(e as Error).message}`, e)
      return e instanceof Error ? e : new Error(String(e))
  }
}

function isSessionClosed (e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return code === 'SESSION_CLOSED' || code === 'REQUEST_CANCELLED'
}

const MIME: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', json: 'application/json', html: 'text/html', htm: 'text/html',
  css: 'text/css', js: 'text/javascript', xml: 'application/xml', pdf: 'application/pdf', zip: 'application/zip',
  gz: 'application/gzip', tar: 'application/x-tar', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg',
  gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp', mp3: 'audio/mpeg', mp4: 'video/mp4', webm: 'video/webm',
  wasm: 'application/wasm',
}

/** A MIME type from a file name's extension (application/octet-stream when unknown). */
export function guessMime (name: string): string {
  const ext = path.extname(name).slice(1).toLowerCase()
  return MIME[ext] ?? 'application/octet-stream'
}
