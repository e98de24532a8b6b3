/**
 * Writing a blob's blocks into a file while they download, and hashing it.
 *
 * Blocks arrive out of order (the download asks every peer for different parts of the range at
 * once), so each block is written at its own offset as soon as it is stored, and the hash trails
 * the contiguous written prefix: from memory when the block is still at hand, else read back from
 * the file (page cache). A block the download window hands over as it arrives (`arrivals`) is
 * written from those bytes; the others (stored before, or arriving while the file is behind) are
 * read back from the store. When the download ends, what is left is hashing the stretch after the
 * first gap from the page cache (~1 GB/s), instead of reading each block back from the store,
 * hashing and writing it in order (~140 MB/s here).
 *
 * Offsets need every block but the last to have the same size, which is how Hyperblobs and
 * `send` cut blobs. A blob cut otherwise is written block after block in order instead.
 */
import type fs from 'node:fs'
import type Hypercore from 'hypercore'
import { fileError } from './file-errors.js'
import { FileHasher } from './file-hash.js'

/** Blocks fetched from the store and written at the same time. */
export const WRITE_CONCURRENCY = 4
/** Written blocks kept in memory for the hash until it reaches them (beyond: read back from the file). */
export const HASH_CACHE_BLOCKS = 8
/**
 * Bytes written to the output file between two fdatasync calls made while it downloads (each in
 * the background, one at a time). Without them the file's dirty pages pile up in the page cache
 * (gigabytes on a large file) until the kernel writes them back in bursts, and every fsync
 * RocksDB makes meanwhile (its log and blob files, at each memtable flush) waits behind a burst:
 * the store stops taking blocks for up to a second, and the download with it
 * (docs/architecture.md, "Writing back the output file as it grows").
 */
export const SYNC_BYTES = 64 * 1024 * 1024

/** What assemble needs. */
export interface AssembleOptions {
  /** a session of the blob core (closing it makes assemble fail: that is how callers stop it) */
  core: Hypercore
  /** first block of the blob */
  start: number
  /** blocks of the blob */
  length: number
  /** bytes of the blob */
  byteLength: number
  /** the output file, open for reading and writing (w+), empty */
  handle: fs.promises.FileHandle
  /** aborted: stop at once with its reason (the caller also closes `core`, failing pending gets) */
  signal: AbortSignal
  /** called with a block's size after it is written */
  onWritten: (bytes: number) => void
  /** turn an error of the output file into the error to throw */
  outputError: (e: unknown) => Error
  /**
   * Registers the function that takes blocks as they arrive (the download window's `onBlock`),
   * and unregisters it (null) when done. A block taken there is written from those bytes; any
   * other block is read back from the store once its 'download' event says it is stored.
   */
  arrivals?: ((take: ((index: number, block: Buffer) => void) | null) => void) | undefined
  /** bytes written between two fdatasync calls of the output file (default SYNC_BYTES) */
  syncBytes?: number | undefined
}

/** Write the blob [start, start + length) into the file; returns its blake2b-256 hash. */
export async function assemble (o: AssembleOptions): Promise<Buffer> {
  o.signal.throwIfAborted()
  if (o.length === 0) return new FileHasher().digest()
  const first = await o.core.get(o.start)
  if (first === null) throw missing(o.start)
  const size = first.byteLength
  const last = o.byteLength - (o.length - 1) * size
  const uniform = size > 0 && last > 0 && last <= size
  if (uniform) {
    const r = await positional(o, first, size, last)
    if (r !== null) return r
    // a block of an unexpected size: start again in order (nothing of the file is kept)
    await o.handle.truncate(0)
  }
  return sequential(o)
}

function missing (index: number): Error {
  return fileError('INVALID_FILE_ENTRY', `block ${index} of the blob is not available`)
}

/** In order: one block after the other (with a few fetched ahead). */
async function sequential (o: AssembleOptions): Promise<Buffer> {
  const hasher = new FileHasher()
  const end = o.start + o.length
  const pending: Array<Promise<Buffer | null>> = []
  const writeBack = new WriteBack(o)
  let next = o.start
  let position = 0
  try {
    for (let i = o.start; i < end; i++) {
      while (pending.length < HASH_CACHE_BLOCKS && next < end) {
        const req = o.core.get(next++)
        req.catch(() => {})
        pending.push(req)
      }
      const block = await pending.shift()!
      if (block === null) throw missing(i)
      hasher.update(block)
      await writeAt(o, block, position)
      writeBack.wrote(block.byteLength)
      position += block.byteLength
      o.onWritten(block.byteLength)
    }
  } finally {
    await Promise.allSettled(pending)
    await writeBack.idle()
  }
  if (writeBack.error !== null) throw writeBack.error
  if (position !== o.byteLength) throw fileError('INVALID_FILE_ENTRY', `the blob's blocks hold ${position} bytes, its entry says ${o.byteLength}`)
  return hasher.digest()
}

/**
 * Out of order: write each stored block at its offset; hash the contiguous prefix. Returns null
 * if a block's size does not fit the uniform layout.
 */
async function positional (o: AssembleOptions, first: Buffer, size: number, lastSize: number): Promise<Buffer | null> {
  const { core, start, length } = o
  const end = start + length
  /** per block: 0 unknown, 1 queued, 3 being written, 2 written */
  const state = new Uint8Array(length)
  const queue: number[] = []
  const cache = new Map<number, Buffer>()
  const hasher = new FileHasher()
  let hashed = start
  let writtenCount = 0
  let failure: unknown = null
  let nonUniform = false
  let wake: (() => void) | null = null
  /** writes of blocks taken as they arrived, awaited before returning */
  const writes = new Set<Promise<void>>()
  const writeBack = new WriteBack(o)
  const signal = (): void => {
    const w = wake
    wake = null
    if (w !== null) w()
  }
  const waitSignal = async (): Promise<void> => new Promise<void>((resolve) => {
    const prev = wake
    wake = () => { if (prev !== null) prev(); resolve() }
  })
  const enqueue = (index: number): void => {
    const k = index - start
    if (k < 0 || k >= length || state[k] !== 0) return
    state[k] = 1
    queue.push(index)
    signal()
  }
  // with arrivals, a block's 'download' event comes just before its bytes reach take() (the
  // replicator emits it as it resolves the waiting get): queued at once, a writer would read the
  // block back from the store first; a turn later, take() has it (and enqueue skips it)
  const ondownload = o.arrivals === undefined
    ? (index: number): void => { enqueue(index) }
    : (index: number): void => { setImmediate(enqueue, index) }
  core.on('download', ondownload)

  const fail = (e: unknown): void => {
    if (failure === null) failure = e
    signal()
  }
  // workers waiting for blocks to arrive wake up only through signal(): stopping must reach them
  const onabort = (): void => { fail(o.signal.reason) }
  o.signal.addEventListener('abort', onabort, { once: true })
  if (o.signal.aborted) onabort()

  const place = async (index: number, block: Buffer): Promise<void> => {
    const k = index - start
    // the first block can also arrive through a 'download' event: write each block once
    if (state[k]! >= 2) return
    state[k] = 3
    const want = index === end - 1 ? lastSize : size
    if (block.byteLength !== want) {
      nonUniform = true
      throw new Error('non-uniform block size')
    }
    await writeAt(o, block, k * size)
    state[k] = 2
    writtenCount++
    writeBack.wrote(block.byteLength)
    if (cache.size < HASH_CACHE_BLOCKS || index === hashed) cache.set(index, block)
    o.onWritten(block.byteLength)
    signal()
  }

  // a block taken as it arrives is held until its write ends. The download window bounds the
  // blocks not stored yet, not those not written yet: when the output file falls behind, at
  // most WRITE_CONCURRENCY are held, and the others are read back once their 'download' event
  // comes, as without arrivals
  const take = (index: number, block: Buffer): void => {
    const k = index - start
    if (k < 0 || k >= length || state[k]! >= 2 || failure !== null || writes.size >= WRITE_CONCURRENCY) return
    const w = place(index, block).catch(fail) // settles, never rejects
    writes.add(w)
    w.then(() => { writes.delete(w) })
  }

  const worker = async (): Promise<void> => {
    while (failure === null && writtenCount < length) {
      const index = queue.shift()
      if (index === undefined) {
        await waitSignal()
        continue
      }
      if (state[index - start]! >= 2) continue
      const block = await core.get(index)
      if (block === null) throw missing(index)
      await place(index, block)
    }
  }

  const hashLoop = async (): Promise<void> => {
    const buf = Buffer.allocUnsafe(size)
    while (failure === null && hashed < end) {
      const k = hashed - start
      if (state[k] !== 2) {
        await waitSignal()
        continue
      }
      let block = cache.get(hashed)
      cache.delete(hashed)
      if (block === undefined) {
        const len = hashed === end - 1 ? lastSize : size
        let off = 0
        while (off < len) {
          const { bytesRead } = await o.handle.read(buf, off, len - off, k * size + off)
          if (bytesRead === 0) throw new Error(`output file is shorter than written (block ${hashed})`)
          off += bytesRead
        }
        block = buf.subarray(0, len)
      }
      hasher.update(block)
      hashed++
    }
  }

  try {
    await place(start, first)
    for (let i = start + 1; i < end; i++) if (await core.has(i)) enqueue(i)
    o.arrivals?.(take)
    const tasks = [hashLoop()]
    for (let i = 0; i < WRITE_CONCURRENCY; i++) tasks.push(worker())
    for (const t of tasks) t.catch(fail)
    // every task ends once everything is written and hashed, or at the first failure (a get
    // waits only for stored blocks, so none is left hanging)
    await Promise.allSettled(tasks)
  } catch (e) {
    fail(e)
  } finally {
    o.arrivals?.(null)
    core.off('download', ondownload)
    o.signal.removeEventListener('abort', onabort)
    await Promise.allSettled(writes)
    await writeBack.idle()
    if (writeBack.error !== null) fail(writeBack.error)
  }
  if (o.signal.aborted) throw o.signal.reason
  if (nonUniform) return null
  if (failure !== null) throw failure
  return hasher.digest()
}

/**
 * Starts an fdatasync of the output file each SYNC_BYTES written, in the background and one at a
 * time, so its dirty pages go to disk as the download goes. A failed one is thrown by the next
 * wrote() and kept in `error`.
 */
class WriteBack {
  /** the first fdatasync that failed, as the output error to throw */
  error: Error | null = null
  readonly #o: AssembleOptions
  readonly #every: number
  #unsynced = 0
  #syncing: Promise<void> | null = null

  constructor (o: AssembleOptions) {
    this.#o = o
    this.#every = o.syncBytes ?? SYNC_BYTES
  }

  /** `bytes` more were written */
  wrote (bytes: number): void {
    if (this.error !== null) throw this.error
    this.#unsynced += bytes
    if (this.#unsynced < this.#every || this.#syncing !== null) return
    this.#unsynced = 0
    this.#syncing = this.#o.handle.datasync().then(() => {
      this.#syncing = null
    }, (e: unknown) => {
      this.#syncing = null
      this.error ??= this.#o.outputError(e)
    })
  }

  /** waits for the fdatasync under way (never rejects) */
  async idle (): Promise<void> {
    await this.#syncing
  }
}

async function writeAt (o: AssembleOptions, block: Buffer, position: number): Promise<void> {
  let off = 0
  try {
    while (off < block.byteLength) {
      const { bytesWritten } = await o.handle.write(block, off, block.byteLength - off, position + off)
      off += bytesWritten
    }
  } catch (e) {
    throw o.outputError(e)
  }
}
