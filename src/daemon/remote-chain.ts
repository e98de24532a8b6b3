/** RemoteChain: the ChainApi through a running daemon (methods in methods.ts). */
import { err } from '../errors.js'
import type { AppendResult, ChainEntry, VerifyReport } from '../node.js'
import type { ChainApi, ChainInfo, FollowOptions, PositionedEntry, ReadRange, StatusReport, SyncOptions, SyncProgress, SyncResult } from './chain-api.js'
import type { DaemonClient } from './client.js'
import { decodeEntry, type WireEntry } from './protocol.js'

/** Margin on top of a sync's own timeout before the client gives up on the daemon (ms). */
const SYNC_MARGIN_MS = 5000

/** One chain of the daemon, addressed by its key. */
export class RemoteChain implements ChainApi {
  readonly key: Buffer
  readonly writerKey: Buffer
  readonly storage: string
  private readonly client: DaemonClient
  private readonly chain: string
  private readonly chainName: string

  constructor (client: DaemonClient, info: ChainInfo & { keyHex: string, writerKeyHex: string }) {
    this.client = client
    this.key = Buffer.from(info.keyHex, 'hex')
    this.writerKey = Buffer.from(info.writerKeyHex, 'hex')
    this.storage = info.storage
    this.chain = info.keyHex
    this.chainName = info.name
  }

  async name (): Promise<string> {
    const info = await this.client.request<ChainInfo>('open', { chain: this.chain })
    return info.name ?? this.chainName
  }

  status (): Promise<StatusReport> {
    return this.client.request<StatusReport>('status', { chain: this.chain })
  }

  append (entries: Array<string | Buffer>): Promise<AppendResult> {
    const wire = entries.map((e) => (typeof e === 'string' ? Buffer.from(e) : e).toString('base64'))
    return this.client.request<AppendResult>('append', { chain: this.chain, entries: wire })
  }

  async * read (range: ReadRange, signal?: AbortSignal): AsyncGenerator<ChainEntry> {
    const params: Record<string, unknown> = { chain: this.chain, ...range }
    for await (const w of this.client.stream<WireEntry>('read', params, signal)) yield decodeEntry(w)
  }

  async get (position: number): Promise<PositionedEntry | null> {
    const w = await this.client.request<WireEntry | null>('get', { chain: this.chain, position })
    if (w === null) return null
    const e = decodeEntry(w)
    return { ...e, hash: e.hash ?? null }
  }

  addWriter (key: Buffer, opts: { indexer: boolean }): Promise<AppendResult> {
    return this.client.request<AppendResult>('writers.add', { chain: this.chain, key: key.toString('hex'), indexer: opts.indexer })
  }

  removeWriter (key: Buffer): Promise<AppendResult> {
    return this.client.request<AppendResult>('writers.remove', { chain: this.chain, key: key.toString('hex') })
  }

  async * follow (opts: FollowOptions): AsyncGenerator<ChainEntry> {
    const { signal: _signal, ...query } = opts
    const params = { chain: this.chain, ...query }
    try {
      for await (const w of this.client.stream<WireEntry>('follow', params, opts.signal)) yield decodeEntry(w)
    } catch (e) {
      if (!opts.signal.aborted) throw e // interrupted: end quietly, like the local path
    }
  }

  verify (): Promise<VerifyReport> {
    return this.client.request<VerifyReport>('verify', { chain: this.chain })
  }

  async sync (opts: SyncOptions): Promise<SyncResult> {
    const ac = new AbortController()
    const onAbort = (): void => ac.abort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    // the daemon times out by itself; this only guards against a daemon that stops answering
    let expired = false
    const guard = setTimeout(() => { expired = true; ac.abort() }, opts.timeout + SYNC_MARGIN_MS)
    try {
      const it = this.client.stream<SyncProgress, SyncResult>('sync', { chain: this.chain, timeout: opts.timeout }, ac.signal)
      while (true) {
        const r = await it.next()
        if (r.done === true) return r.value
        opts.onProgress?.(r.value)
      }
    } catch (e) {
      if (expired) throw err('TIMEOUT', `the daemon did not finish the sync within ${(opts.timeout + SYNC_MARGIN_MS) / 1000} s`)
      throw e
    } finally {
      clearTimeout(guard)
      opts.signal?.removeEventListener('abort', onAbort)
    }
  }
}
