/**
 * `send -` through a daemon: the client's stdin crosses the socket as a stream of chunks.
 *
 * Why a stream and not a spooled temporary file: the daemon reads stdin while it is produced
 * (`pg_dump | feedchain send -` starts storing blocks at once), needs no second copy of the file
 * on disk (a 4 GiB dump would need 4 GiB of free space twice), and leaves nothing to clean up
 * when either side dies. Memory stays constant on both sides: the client keeps at most
 * UPLOAD_WINDOW chunks of UPLOAD_CHUNK_BYTES in flight, and each `files.write` is answered only
 * once ChainFiles has taken its chunk, so a slow disk slows the client's reads of stdin.
 *
 * Flow: `files.send {stdin: true}` → the daemon answers with an event `{type: "upload", upload,
 * chunkBytes, window}` → the client sends `files.write {upload, data}` (base64) in order, then
 * `files.write {upload, end: true}` → `files.send` ends with the file's record. Cancelling the
 * send (or closing the socket) destroys the upload; writes then fail and the client stops.
 */
import crypto from 'node:crypto'
import { err } from '../errors.js'

/** Bytes of stdin per `files.write` (1.33× that as base64 on the wire). */
export const UPLOAD_CHUNK_BYTES = 256 * 1024
/** `files.write` requests a client keeps in flight. */
export const UPLOAD_WINDOW = 4
/** Chunks the daemon queues for one upload before it refuses more (a client ignoring the window). */
const MAX_QUEUED = UPLOAD_WINDOW * 2

interface Queued {
  chunk: Buffer
  taken: () => void
  fail: (e: Error) => void
}

/** The daemon's end of one upload: an async iterable of the chunks the client writes. */
export class Upload implements AsyncIterable<Buffer> {
  /** random id the client names in `files.write` */
  readonly id = crypto.randomBytes(16).toString('hex')
  private readonly queue: Queued[] = []
  private ended = false
  private closed: Error | null = null
  private failure: Error | null = null
  private wake: (() => void) | null = null

  /** Queue a chunk; resolves once the reader has taken it (that is the backpressure). */
  write (chunk: Buffer): Promise<void> {
    if (this.closed !== null) return Promise.reject(this.closed)
    if (this.ended) return Promise.reject(err('INVALID_ARGUMENT', 'write after the end of the upload'))
    if (this.queue.length >= MAX_QUEUED) return Promise.reject(err('INVALID_ARGUMENT', `more than ${MAX_QUEUED} upload writes in flight`))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, taken: resolve, fail: reject })
      this.poke()
    })
  }

  /** No more chunks: the reader ends after the queued ones. */
  end (): void {
    if (this.closed !== null) throw this.closed
    this.ended = true
    this.poke()
  }

  /** Stop: queued and later writes fail; the reader throws `e` (or just ends without one). */
  destroy (e?: Error): void {
    if (this.closed !== null) return
    this.closed = err('ABORTED', 'the send this upload belonged to has ended')
    for (const q of this.queue.splice(0)) q.fail(this.closed)
    if (e !== undefined) this.failure = e
    this.poke()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Buffer> {
    while (true) {
      if (this.closed !== null) {
        if (this.failure !== null) throw this.failure
        return
      }
      const q = this.queue.shift()
      if (q !== undefined) {
        q.taken()
        yield q.chunk
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => { this.wake = resolve })
    }
  }

  private poke (): void {
    const w = this.wake
    this.wake = null
    w?.()
  }
}

/** The uploads of a daemon by id. */
export class Uploads {
  private readonly open = new Map<string, { upload: Upload, signal: AbortSignal, onAbort: () => void }>()

  /** A new upload, stopped and forgotten when `signal` aborts or remove() is called. */
  create (signal: AbortSignal): Upload {
    const upload = new Upload()
    const onAbort = (): void => {
      upload.destroy(err('ABORTED', 'the send was cancelled'))
      this.open.delete(upload.id)
    }
    this.open.set(upload.id, { upload, signal, onAbort })
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    return upload
  }

  /** The upload `id` (INVALID_ARGUMENT if there is none: ended, cancelled or never opened). */
  get (id: unknown): Upload {
    const u = typeof id === 'string' ? this.open.get(id) : undefined
    if (u === undefined) throw err('INVALID_ARGUMENT', 'no such upload (the send ended or was cancelled)')
    return u.upload
  }

  /** Stop an upload and forget it. */
  remove (upload: Upload): void {
    upload.destroy()
    const u = this.open.get(upload.id)
    if (u === undefined) return
    u.signal.removeEventListener('abort', u.onAbort)
    this.open.delete(upload.id)
  }
}
