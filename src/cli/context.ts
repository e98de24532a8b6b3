/**
 * What a command runs against: the output, an abort signal (Ctrl-C, broken pipe), and the storage
 * and chain node, opened on demand so a command can validate its input before anything on disk is
 * touched. Later this is where a daemon client plugs in. Closes what it opened, in reverse order.
 */
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { ChainNode, FeedchainError, Storage, formatKey } from '../index.js'
import type { ChainNodeOptions, ChainRecord } from '../index.js'
import type { Output } from './output.js'

/** Options of a Context. */
export interface ContextOptions {
  out: Output
  /** storage directory, already resolved (see resolveStorageDir) */
  storageDir: string
  /** aborted on SIGINT/SIGTERM or when stdout breaks */
  signal: AbortSignal
  /** where `append -` reads entries */
  stdin: Readable & { isTTY?: boolean }
}

/** An opened chain: the storage, its registry record and the node. */
export interface OpenChain {
  storage: Storage
  record: ChainRecord
  node: ChainNode
}

/**
 * The storage directory: `--storage`, else FEEDCHAIN_STORAGE, else ~/.feedchain. A leading `~/`
 * is expanded (it survives quoting in an environment variable). Pure: touches no file.
 */
export function resolveStorageDir (flag: string | undefined, env: NodeJS.ProcessEnv): string {
  let dir = flag
  if (dir === undefined) dir = env.FEEDCHAIN_STORAGE !== undefined && env.FEEDCHAIN_STORAGE !== '' ? env.FEEDCHAIN_STORAGE : path.join(os.homedir(), '.feedchain')
  if (dir.trim() === '') throw new FeedchainError('INVALID_ARGUMENT', 'storage path is empty')
  if (dir === '~' || dir.startsWith('~/')) dir = path.join(os.homedir(), dir.slice(1))
  return path.resolve(dir)
}

/** The runtime of one CLI command. */
export class Context {
  readonly out: Output
  readonly storageDir: string
  readonly signal: AbortSignal
  readonly stdin: Readable & { isTTY?: boolean }
  private storage: Storage | null = null
  private readonly nodes: ChainNode[] = []
  private closing: Promise<void> | null = null

  constructor (opts: ContextOptions) {
    this.out = opts.out
    this.storageDir = opts.storageDir
    this.signal = opts.signal
    this.stdin = opts.stdin
  }

  /** True once the command should stop (signal or broken stdout). */
  get aborted (): boolean {
    return this.signal.aborted
  }

  /** Open the storage (once). `create` makes the directory if missing (init only). */
  async openStorage (opts: { create: boolean }): Promise<Storage> {
    if (this.storage !== null) return this.storage
    this.checkOpen()
    const s = await Storage.open(this.storageDir, { create: opts.create })
    if (this.closing !== null) { await s.close(); throw this.closedError() }
    this.storage = s
    this.checkOpen()
    return s
  }

  /** Open a ChainNode on the storage and track it for close. */
  async openNode (opts: ChainNodeOptions): Promise<ChainNode> {
    const storage = await this.openStorage({ create: false })
    this.checkOpen()
    const node = new ChainNode(storage.store, opts)
    this.nodes.push(node)
    await node.ready()
    this.checkOpen() // interrupted while opening: stop before the command starts its work
    return node
  }

  /**
   * Open the chain a command acts on: the one with key `chainKey`, or the first (oldest) in the
   * registry. NO_CHAIN if the storage has none, UNKNOWN_CHAIN if `chainKey` is not in it.
   */
  async openChain (chainKey: Buffer | null): Promise<OpenChain> {
    const storage = await this.openStorage({ create: false })
    let record: ChainRecord | null
    if (chainKey !== null) {
      record = await storage.chain(chainKey.toString('hex'))
      if (record === null) throw new FeedchainError('UNKNOWN_CHAIN', `this storage does not follow chain ${formatKey(chainKey)} (see \`feedchain status\` for the chains it has)`)
    } else {
      record = (await storage.chains())[0] ?? null
      if (record === null) throw new FeedchainError('NO_CHAIN')
    }
    const node = await this.openNode({ key: Buffer.from(record.key, 'hex') })
    return { storage, record, node }
  }

  /** Close every node, then the storage (releasing its lock). Idempotent. */
  close (): Promise<void> {
    if (this.closing === null) this.closing = this.closeAll()
    return this.closing
  }

  private async closeAll (): Promise<void> {
    let first: unknown = null
    for (const node of this.nodes.splice(0).reverse()) {
      try { await node.close() } catch (e) { first ??= e }
    }
    if (this.storage !== null) {
      try { await this.storage.close() } catch (e) { first ??= e }
      this.storage = null
    }
    if (first !== null) throw first
  }

  private checkOpen (): void {
    if (this.closing !== null || this.signal.aborted) throw this.closedError()
  }

  private closedError (): FeedchainError {
    return new FeedchainError('ABORTED', 'interrupted')
  }
}
