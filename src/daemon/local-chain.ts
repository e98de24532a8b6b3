/**
 * LocalChain: the ChainApi over a ChainNode in this process. The CLI uses it when no daemon
 * runs; the daemon uses it to serve requests, so both paths share this code.
 */
import { err } from '../errors.js'
import type { AppendResult, ChainEntry, ChainNode, VerifyReport } from '../node.js'
import type { Network } from '../net/network.js'
import type { Storage } from '../storage.js'
import type { ChainApi, FollowOptions, PositionedEntry, ReadRange, StatusReport, SyncOptions, SyncResult } from './chain-api.js'
import { entryFilter, followFiltered } from './follow-filter.js'
import { waitCaughtUp } from './sync.js'

/** A chain opened in this process. It does not own the node, the storage or the network. */
export class LocalChain implements ChainApi {
  readonly node: ChainNode
  readonly storage: string
  private readonly store: Storage
  private readonly network: Network | null
  private resolvedName: string | null = null

  constructor (node: ChainNode, storage: Storage, network: Network | null) {
    this.node = node
    this.store = storage
    this.storage = storage.dir
    this.network = network
  }

  get key (): Buffer { return this.node.key }
  get writerKey (): Buffer { return this.node.writerKey }

  /**
   * The chain's name. ChainNode reads it from the genesis only when it opens, so a chain joined
   * in this session has none until reopened: read it from the genesis entry then.
   */
  async name (): Promise<string> {
    if (this.node.name !== '' || this.resolvedName !== null) return this.node.name || (this.resolvedName ?? '')
    if (this.node.finalLength === 0) return ''
    const g = await this.node.get(0)
    const v = g?.type === 'genesis' ? g.value as { name?: unknown } | null : null
    this.resolvedName = typeof v?.name === 'string' ? v.name : ''
    return this.resolvedName
  }

  async status (): Promise<StatusReport> {
    const s = this.node.status()
    const chains = (await this.store.chains()).length
    const net = this.network
    const bans = net !== null && net.opened && net.closing === null ? net.banned() : []
    return { ...s, name: await this.name(), storage: this.storage, chains, bans }
  }

  async append (entries: Array<string | Buffer>): Promise<AppendResult> {
    return this.node.append(entries.length === 1 ? entries[0]! : entries)
  }

  async * read (range: ReadRange, signal?: AbortSignal): AsyncGenerator<ChainEntry> {
    const opts = { start: range.start, end: range.end, last: range.last, final: range.final, filter: entryFilter(range) }
    for await (const e of this.node.read(opts)) {
      if (signal?.aborted === true) return
      yield e
    }
  }

  async get (position: number): Promise<PositionedEntry | null> {
    return this.node.get(position)
  }

  async addWriter (key: Buffer, opts: { indexer: boolean }): Promise<AppendResult> {
    return this.node.addWriter(key, opts)
  }

  async removeWriter (key: Buffer): Promise<AppendResult> {
    return this.node.removeWriter(key)
  }

  follow (opts: FollowOptions): AsyncIterable<ChainEntry> {
    return followFiltered(this.node, opts)
  }

  async verify (): Promise<VerifyReport> {
    return this.node.verify()
  }

  async sync (opts: SyncOptions): Promise<SyncResult> {
    if (this.network === null) throw err('CLOSED', 'no network to sync over')
    const r = await waitCaughtUp(this.node, this.network, opts)
    return { ...r, name: await this.name() }
  }
}
