/**
 * What a command runs against: the output, an abort signal (Ctrl-C, broken pipe), and the chain
 * it acts on, opened on demand so a command can validate its input before anything on disk is
 * touched. When a daemon serves the storage (its socket answers), chains are reached through it;
 * otherwise the storage is opened here, with a Network only for commands that need one. Closes
 * what it opened, in reverse order.
 *
 * The storage, chain and network modules are loaded when first opened (library.ts): a command
 * that goes through a daemon, or fails validation, never loads them.
 */
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { FeedchainError, isFeedchainError } from '../errors.js'
import type { ChainNode, ChainNodeOptions } from '../node.js'
import type { Network } from '../net/network.js'
import type { ChainRecord, Storage } from '../storage.js'
import type { ChainApi, ChainInfo } from '../daemon/chain-api.js'
import { chainInfo, createChain, findChain, joinChain } from '../daemon/chains.js'
import { probeDaemon, removeStaleSocket, type DaemonClient } from '../daemon/client.js'
import { LocalChain } from '../daemon/local-chain.js'
import { createNetwork, describeNetConfig, type NetConfig } from '../daemon/net-config.js'
import { DAEMON_EXIT_WAIT_MS, LOCK_RETRY_MAX_MS, LOCK_RETRY_MIN_MS, daemonLeaving, removeStalePidFile } from '../daemon/pid-file.js'
import { RemoteChain } from '../daemon/remote-chain.js'
import { loadNode, loadStorage } from './library.js'
import type { Output } from './output.js'

/**
 * After STORE_LOCKED, how long to look for the socket of a daemon that is just starting (and to
 * try the store again), ms; DAEMON_EXIT_WAIT_MS instead while the lock's holder is a daemon on its
 * way out (daemon/pid-file.ts).
 */
export const DAEMON_START_WAIT_MS = 1000

/** Options of a Context. */
export interface ContextOptions {
  out: Output
  /** storage directory, already resolved (see resolveStorageDir) */
  storageDir: string
  /** aborted on SIGINT/SIGTERM or when stdout breaks */
  signal: AbortSignal
  /** where `append -` reads entries */
  stdin: Readable & { isTTY?: boolean }
  /** network settings, already validated */
  net?: NetConfig | undefined
  /** the CLI's version (the daemon reports it) */
  version?: string | undefined
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
  readonly net: NetConfig
  readonly version: string
  private storage: Storage | null = null
  private network: Network | null = null
  private readonly nodes: ChainNode[] = []
  private closing: Promise<void> | null = null
  private probed = false
  private client: DaemonClient | null = null
  private staleSocket: string | null = null

  constructor (opts: ContextOptions) {
    this.out = opts.out
    this.storageDir = opts.storageDir
    this.signal = opts.signal
    this.stdin = opts.stdin
    this.net = opts.net ?? {}
    this.version = opts.version ?? '0.0.0'
  }

  /** True once the command should stop (signal or broken stdout). */
  get aborted (): boolean {
    return this.signal.aborted
  }

  /** Open the storage (once). `create` makes the directory if missing (init only). */
  async openStorage (opts: { create: boolean }): Promise<Storage> {
    if (this.storage !== null) return this.storage
    this.checkOpen()
    const { Storage } = await loadStorage()
    loadNode().catch(() => {}) // in parallel with the open; openNode awaits it (and sees any error)
    const s = await Storage.open(this.storageDir, { create: opts.create })
    if (this.closing !== null) { await s.close(); throw this.closedError() }
    this.storage = s
    // we hold the lock, so no daemon runs: a socket file found earlier, and a pid file, are stale
    if (this.staleSocket !== null) removeStaleSocket(this.staleSocket)
    removeStalePidFile(this.storageDir)
    this.checkOpen()
    return s
  }

  /**
   * The running daemon serving this storage, or null. A socket file nobody listens on (a daemon
   * killed with -9) is remembered and removed once this process holds the storage lock.
   */
  async daemon (): Promise<DaemonClient | null> {
    if (this.probed) return this.client
    this.checkOpen()
    this.probed = true
    const p = await probeDaemon(this.storageDir)
    if (p.state === 'running') this.client = p.client
    else if (p.state === 'stale') this.staleSocket = p.path
    return this.client
  }

  /** The Network of this process (created on first use, closed with the context). */
  async openNetwork (): Promise<Network> {
    if (this.network !== null) return this.network
    const storage = await this.openStorage({ create: false })
    this.checkOpen()
    // say so whenever a command goes to the public network: an unset bootstrap is easy to miss
    if (this.net.bootstrap === undefined) this.out.info(this.out.ce.dim(`network: ${describeNetConfig(this.net)} (--bootstrap or $FEEDCHAIN_BOOTSTRAP for a private one)`))
    const network = await createNetwork(storage.store, this.net)
    if (this.network !== null) return this.network // a concurrent call got there first (an unopened Network holds nothing)
    this.network = network
    await network.ready()
    this.checkOpen()
    return network
  }

  /**
   * The chain a command acts on (`key`, or the storage's first): through the daemon if one runs,
   * else opened here; `network` joins the swarm too (only without a daemon: the daemon is online).
   */
  async chain (key: Buffer | null, opts: { network?: boolean } = {}): Promise<ChainApi> {
    return this.viaDaemon<ChainApi>(
      async (client) => this.remoteChain(client, key),
      async () => {
        const { storage, node, network } = await this.openChain(key, opts)
        return new LocalChain(node, storage, network)
      },
    )
  }

  /** Create the storage's chain (init): in the daemon if one runs, which then seeds it. */
  async initChain (name: string | undefined): Promise<ChainInfo> {
    return this.viaDaemon(
      async (client) => client.request<ChainInfo>('init', name === undefined ? {} : { name }),
      async () => {
        const storage = await this.openStorage({ create: true })
        const node = await createChain(storage, (o) => this.openNode(o), name)
        return chainInfo(node, storage)
      },
    )
  }

  /** Follow a chain (join): in the daemon if one runs, else here, with a Network to sync over. */
  async joinChain (key: Buffer): Promise<{ chain: ChainApi, info: ChainInfo, joined: boolean }> {
    return this.viaDaemon<{ chain: ChainApi, info: ChainInfo, joined: boolean }>(
      async (client) => {
        const r = await client.request<ChainInfo & { joined: boolean }>('join', { key: key.toString('hex') })
        const chain = await this.remoteChain(client, key)
        return { chain, info: { key: r.key, writerKey: r.writerKey, name: r.name, storage: r.storage }, joined: r.joined }
      },
      async () => {
        const storage = await this.openStorage({ create: true })
        const network = await this.openNetwork()
        const { node, joined } = await joinChain(storage, (o) => this.openNode({ ...o, network }), key)
        return { chain: new LocalChain(node, storage, network), info: chainInfo(node, storage), joined }
      },
    )
  }

  /**
   * Run `remote` against the daemon if one serves the storage, else `local`. If `local` finds the
   * store locked, see whileLocked.
   */
  async viaDaemon<T> (remote: (client: DaemonClient) => Promise<T>, local: () => Promise<T>): Promise<T> {
    const client = await this.daemon()
    if (client !== null) return remote(client)
    try {
      return await local()
    } catch (e) {
      if (!isFeedchainError(e, 'STORE_LOCKED') || this.storage !== null) throw e
      return this.whileLocked(remote, local, e)
    }
  }

  /**
   * The store is locked and no daemon answered. Poll, with a short backoff: the socket, for a
   * daemon that is starting (it takes the lock, then listens) — then go through it; and the store,
   * for a lock about to be released — a daemon stopping, or killed with -9 and still being torn
   * down (its socket stops answering a moment before its lock is freed). Give up with STORE_LOCKED
   * after DAEMON_START_WAIT_MS, or DAEMON_EXIT_WAIT_MS while the daemon's pid file names a process
   * that still exists; a live process holding the store that is not a daemon (a second command, a
   * program using the library) fails after the shorter wait.
   */
  private async whileLocked<T> (remote: (client: DaemonClient) => Promise<T>, local: () => Promise<T>, locked: unknown): Promise<T> {
    const start = Date.now()
    let delay = LOCK_RETRY_MIN_MS
    while (!this.signal.aborted) {
      const leaving = daemonLeaving(this.storageDir)
      if (Date.now() - start >= (leaving ? DAEMON_EXIT_WAIT_MS : DAEMON_START_WAIT_MS)) break
      await sleep(delay)
      delay = Math.min(delay * 2, LOCK_RETRY_MAX_MS)
      const p = await probeDaemon(this.storageDir)
      if (p.state === 'running') {
        this.client = p.client
        return remote(p.client)
      }
      if (p.state === 'stale') this.staleSocket = p.path
      try {
        return await local()
      } catch (e) {
        if (!isFeedchainError(e, 'STORE_LOCKED') || this.storage !== null) throw e
        locked = e
      }
    }
    throw locked
  }

  private async remoteChain (client: DaemonClient, key: Buffer | null): Promise<RemoteChain> {
    const info = await client.request<ChainInfo & { keyHex: string, writerKeyHex: string }>('open', key === null ? {} : { chain: key.toString('hex') })
    return new RemoteChain(client, info)
  }

  /** Open a ChainNode on the storage and track it for close. */
  async openNode (opts: ChainNodeOptions): Promise<ChainNode> {
    const storage = await this.openStorage({ create: false })
    this.checkOpen()
    const { ChainNode } = await loadNode()
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
  async openChain (chainKey: Buffer | null, opts: { network?: boolean } = {}): Promise<OpenChain & { network: Network | null }> {
    const storage = await this.openStorage({ create: false })
    const record = await findChain(storage, chainKey)
    const network = opts.network === true ? await this.openNetwork() : null
    const node = await this.openNode({ key: Buffer.from(record.key, 'hex'), network: network ?? undefined })
    return { storage, record, node, network }
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
    if (this.network !== null) {
      try { await this.network.close() } catch (e) { first ??= e }
      this.network = null
    }
    if (this.client !== null) {
      this.client.close()
      this.client = null
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
