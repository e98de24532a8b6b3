/**
 * LocalFiles: the FilesApi over a ChainFiles in this process. The CLI uses it when no daemon
 * runs; the daemon uses it to serve its file methods, so both paths share this code.
 */
import { isFeedchainError } from '../errors.js'
import type { ChainFiles, FileInfo, GetResult } from '../files/chain-files.js'
import { fileError, fileErrorReason } from '../files/file-errors.js'
import { resolveFile } from '../files/file-id.js'
import type { ChainNode } from '../node.js'
import type { Network } from '../net/network.js'
import type { FilesApi, FilesGetOptions, FilesSendOptions, SendSource } from './files-api.js'
import { waitCaughtUp } from './sync.js'

/** A chain's files opened in this process. Owns the ChainFiles only if `owned` (closed by close()). */
export class LocalFiles implements FilesApi {
  readonly files: ChainFiles
  readonly node: ChainNode
  private readonly network: Network | null
  private readonly owned: boolean

  constructor (files: ChainFiles, node: ChainNode, network: Network | null, opts: { owned: boolean }) {
    this.files = files
    this.node = node
    this.network = network
    this.owned = opts.owned
  }

  async list (): Promise<FileInfo[]> {
    return this.files.list()
  }

  async send (source: SendSource, opts: FilesSendOptions): Promise<FileInfo> {
    const input = 'path' in source ? source.path : source.stream
    return this.files.send(input, { name: opts.name, mime: opts.mime, signal: opts.signal, onProgress: opts.onProgress })
  }

  async get (query: string, opts: FilesGetOptions): Promise<GetResult> {
    await this.find(query, opts)
    return this.files.get(query, { output: opts.output, signal: opts.signal, timeout: opts.timeout, onProgress: opts.onProgress })
  }

  /**
   * Make sure `query` names a file, syncing with the chain's peers first if its entry is not
   * here yet: UNKNOWN_FILE once caught up (or after the timeout) without it.
   */
  private async find (query: string, opts: FilesGetOptions): Promise<void> {
    try {
      resolveFile(await this.files.list(), query)
      return
    } catch (e) {
      if (fileErrorReason(e) !== 'UNKNOWN_FILE' || this.network === null) throw e
    }
    opts.onSyncing?.()
    try {
      await waitCaughtUp(this.node, this.network, { timeout: opts.timeout, signal: opts.signal })
    } catch (e) {
      if (!isFeedchainError(e, 'TIMEOUT')) throw e
      try {
        resolveFile(await this.files.list(), query)
        return
      } catch {}
      throw fileError('UNKNOWN_FILE', `no file ${JSON.stringify(query)} in this chain, and not caught up with its peers within ${Math.round(opts.timeout / 1000)} s (${this.node.peers().length} connected)`)
    }
    resolveFile(await this.files.list(), query)
  }

  async close (): Promise<void> {
    if (this.owned) await this.files.close()
  }
}
