/** RemoteFiles: the FilesApi through a running daemon (methods in file-methods.ts). */
import type { FileInfo, GetResult } from '../files/chain-files.js'
import type { FileProgress } from '../files/progress.js'
import type { DaemonClient } from './client.js'
import type { FilesApi, FilesGetOptions, FilesSendOptions, SendSource } from './files-api.js'

/**
 * After Ctrl-C, how long to wait for the daemon to finish cancelling a transfer (a get removes its
 * temporary file, a send clears its blocks) before the command exits anyway, ms. Below the
 * CLI's grace period (cli/index.ts CLOSE_GRACE_MS), after which the socket is closed, which
 * cancels too.
 */
export const CANCEL_SETTLE_MS = 900

/** A stream event of the file methods. */
type FileEvent =
  | ({ type: 'progress' } & FileProgress)
  | { type: 'syncing' }
  | { type: 'upload', upload: string, chunkBytes: number, window: number }

/** One chain's files in the daemon (`chain`: hex key, or null for the storage's first chain). */
export class RemoteFiles implements FilesApi {
  private readonly client: DaemonClient
  private readonly chain: string | null

  constructor (client: DaemonClient, chain: Buffer | null) {
    this.client = client
    this.chain = chain === null ? null : chain.toString('hex')
  }

  list (): Promise<FileInfo[]> {
    return this.client.request<FileInfo[]>('files.list', this.params({}))
  }

  async send (source: SendSource, opts: FilesSendOptions): Promise<FileInfo> {
    const params = this.params({ name: opts.name, mime: opts.mime, ...('path' in source ? { path: source.path } : { stdin: true }) })
    if ('path' in source) return this.run<FileInfo>('files.send', params, opts)
    // stdin: pump it to the daemon once it has opened the upload (see upload.ts)
    const ac = new AbortController()
    const onAbort = (): void => ac.abort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) ac.abort()
    let readError: unknown = null
    let pump: Promise<void> | null = null
    const input = source.stream
    try {
      return await this.run<FileInfo>('files.send', params, { ...opts, signal: ac.signal }, (ev) => {
        if (ev.type !== 'upload' || pump !== null) return
        pump = this.upload(input, ev, () => ac.signal.aborted).catch((e: unknown) => {
          if (!(e instanceof StdinError)) return // the send ended first: its own result or error counts
          readError = e.cause
          ac.abort() // cancel the send on the daemon (it clears the blocks written so far)
        })
      })
    } catch (e) {
      if (readError !== null) throw readError
      throw e
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      // the send is over: stop reading stdin (the direct path closes its input the same way)
      const d = input as { destroy?: () => void }
      if (pump !== null && typeof d.destroy === 'function') d.destroy()
    }
  }

  get (query: string, opts: FilesGetOptions): Promise<GetResult> {
    return this.run<GetResult>('files.get', this.params({ query, output: opts.output, timeout: opts.timeout }), opts)
  }

  async close (): Promise<void> {} // the connection belongs to the Context

  /** A streaming file call: progress and syncing events to the callbacks, the result returned. */
  private async run<T> (method: string, params: Record<string, unknown>, opts: { signal?: AbortSignal | undefined, onProgress?: ((p: FileProgress) => void) | undefined, onSyncing?: (() => void) | undefined }, onEvent?: (ev: FileEvent) => void): Promise<T> {
    const it = this.client.stream<FileEvent, T>(method, params, opts.signal, { settleMs: CANCEL_SETTLE_MS })
    while (true) {
      const r = await it.next()
      if (r.done === true) return r.value
      const ev = r.value
      if (ev.type === 'progress') {
        const { type: _type, ...p } = ev
        opts.onProgress?.(p)
      } else if (ev.type === 'syncing') {
        opts.onSyncing?.()
      }
      onEvent?.(ev)
    }
  }

  /**
   * Send `input` to the upload `ev.upload` in chunks of at most `ev.chunkBytes`, `ev.window`
   * writes in flight, then end it. A failure reading `input` is a StdinError; a failed write
   * (the send ended on the daemon) just stops the pump.
   */
  private async upload (input: AsyncIterable<Uint8Array | string>, ev: { upload: string, chunkBytes: number, window: number }, stopped: () => boolean): Promise<void> {
    const chunkBytes = Math.max(1024, ev.chunkBytes)
    const window = Math.max(1, ev.window)
    const inflight: Array<Promise<unknown>> = []
    const write = async (data: Buffer): Promise<void> => {
      const p = this.client.request('files.write', { upload: ev.upload, data: data.toString('base64') })
      p.catch(() => {}) // awaited below, maybe after it failed: not an unhandled rejection
      inflight.push(p)
      if (inflight.length >= window) await inflight.shift()
    }
    const it = input[Symbol.asyncIterator]()
    while (!stopped()) {
      let r: IteratorResult<Uint8Array | string>
      try {
        r = await it.next()
      } catch (e) {
        throw new StdinError(e)
      }
      if (r.done === true) break
      const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
      for (let off = 0; off < chunk.byteLength; off += chunkBytes) await write(chunk.subarray(off, off + chunkBytes))
    }
    if (stopped()) return
    await Promise.all(inflight.splice(0))
    await this.client.request('files.write', { upload: ev.upload, end: true })
  }

  private params (p: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = this.chain === null ? {} : { chain: this.chain }
    for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v
    return out
  }
}

/** Reading the input of a send failed (not the daemon). */
class StdinError extends Error {
  constructor (cause: unknown) {
    super('reading the input failed', { cause })
  }
}
