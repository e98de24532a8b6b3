/**
 * Daemon: the long-running owner of a storage directory. It holds the store's lock, runs one
 * Network, opens a ChainNode (joined to the swarm) for every chain in the registry and for every
 * chain created or joined while it runs, with its ChainFiles seeding every file of the chain
 * (design §6: a daemon keeps every file it follows stored and served, like the feeds), and
 * serves the CLI over a Unix socket in the storage directory (protocol.ts, methods.ts,
 * file-methods.ts). Close order: socket server, files and nodes (newest first), network,
 * storage, pid file, socket file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import ReadyResource from 'ready-resource'
import { err, isFeedchainError } from '../errors.js'
import { formatKey } from '../feed/keys.js'
import { ChainFiles, type ChainFilesOptions } from '../files/chain-files.js'
import { ChainNode, type ChainNodeOptions } from '../node.js'
import type { Network, NetworkOptions, PeerRecord } from '../net/network.js'
import { Storage } from '../storage.js'
import type { ChainInfo } from './chain-api.js'
import { chainInfo, createChain, findChain, joinChain } from './chains.js'
import { removeStaleSocket } from './client.js'
import { registerFileMethods } from './file-methods.js'
import { LocalChain } from './local-chain.js'
import { LocalFiles } from './local-files.js'
import { registerMethods } from './methods.js'
import { checkNetConfig, createNetwork } from './net-config.js'
import { DAEMON_EXIT_WAIT_MS, LOCK_RETRY_MAX_MS, LOCK_RETRY_MIN_MS, daemonLeaving, removePidFile, writePidFile } from './pid-file.js'
import { MAX_SOCKET_PATH_BYTES, socketPath } from './protocol.js'
import { RpcServer } from './server.js'

/** Options of a Daemon. */
export interface DaemonOptions {
  /** the storage directory (created if missing) */
  storageDir: string
  /** DHT bootstrap nodes (`host:port,...`); default: the public HyperDHT */
  bootstrap?: string | undefined
  /** address the DHT binds to (default: 127.0.0.1 when every bootstrap node is on loopback) */
  host?: string | undefined
  /** further Network options (timings, limits) */
  network?: Omit<NetworkOptions, 'bootstrap' | 'host' | 'dht'> | undefined
  /** options for every ChainNode (not key, name or network) */
  node?: Omit<ChainNodeOptions, 'key' | 'name' | 'network'> | undefined
  /** options for every chain's ChainFiles (not network) */
  files?: Omit<ChainFilesOptions, 'network'> | undefined
  /** version reported by `hello` */
  version?: string | undefined
}

/** Something the daemon reports as it happens (the CLI prints these). */
export type DaemonEvent =
  | { type: 'chain', key: string, name: string, created: boolean }
  | { type: 'peer-add', publicKey: string }
  | { type: 'peer-remove', publicKey: string }
  | { type: 'strike', publicKey: string, reason: string, count: number }
  | { type: 'ban', publicKey: string, reason: string }
  | { type: 'warning', chain: string, message: string }

/** A snapshot for the live status line. */
export interface DaemonSnapshot {
  peers: number
  bans: number
  /** encrypted bytes in / out over the open connections */
  bytesIn: number
  bytesOut: number
  chains: Array<{ key: string, name: string, length: number, finalLength: number, pending: number, peers: number, lag: number }>
}

/** The daemon. Emits 'event' (DaemonEvent) and 'update' (something changed; for the status line). */
export class Daemon extends ReadyResource {
  readonly storageDir: string
  readonly socket: string
  readonly version: string
  readonly server = new RpcServer()
  private readonly opts: DaemonOptions
  private storageRef: Storage | null = null
  private networkRef: Network | null = null
  private listening = false
  /** open chains by hex key, in the order they were opened */
  private readonly chains = new Map<string, LocalChain>()
  /** their files, by the same keys (seeding from the moment the chain opens) */
  private readonly fileSets = new Map<string, LocalFiles>()
  private lock: Promise<unknown> = Promise.resolve()

  /** Throws INVALID_ARGUMENT on a malformed bootstrap/host or a socket path too long, before anything is opened. */
  constructor (opts: DaemonOptions) {
    super()
    this.opts = opts
    this.storageDir = path.resolve(opts.storageDir)
    this.socket = socketPath(this.storageDir)
    if (Buffer.byteLength(this.socket) > MAX_SOCKET_PATH_BYTES) {
      throw err('INVALID_ARGUMENT', `the socket path ${this.socket} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes Unix sockets allow; use a shorter --storage path`)
    }
    this.version = opts.version ?? '0.0.0'
    checkNetConfig({ bootstrap: opts.bootstrap, host: opts.host })
    registerMethods(this.server, this)
    registerFileMethods(this.server, this)
  }

  /** The open storage (after ready). */
  get storage (): Storage {
    if (this.storageRef === null) throw err('CLOSED', 'the daemon is not open')
    return this.storageRef
  }

  /** The network (after ready). */
  get network (): Network {
    if (this.networkRef === null) throw err('CLOSED', 'the daemon is not open')
    return this.networkRef
  }

  protected override async _open (): Promise<void> {
    const storage = await this.openStorage()
    this.storageRef = storage
    try {
      // commands that find the store locked read it to tell a daemon on its way out (pid-file.ts)
      writePidFile(this.storageDir)
      // we hold the store's lock: a socket file left here is stale (its daemon died)
      removeStaleSocket(this.socket)
      if (fs.existsSync(this.socket)) throw err('INVALID_ARGUMENT', `${this.socket} exists and is not a socket; move it away`)
      // listen at once (requests wait for ready()), so clients never see a locked store with no socket
      await this.server.listen(this.socket)
      this.listening = true
      const network = await createNetwork(storage.store, { bootstrap: this.opts.bootstrap, host: this.opts.host }, this.opts.network ?? {})
      this.networkRef = network
      network.on('peer-add', (row: PeerRecord) => this.report({ type: 'peer-add', publicKey: row.publicKey }))
      network.on('peer-remove', (row: PeerRecord) => this.report({ type: 'peer-remove', publicKey: row.publicKey }))
      network.on('strike', (s: { publicKey: string, reason: string, count: number }) => this.report({ type: 'strike', ...s }))
      network.on('ban', (b: { publicKey: string, reason: string }) => this.report({ type: 'ban', ...b }))
      network.on('update', () => this.emit('update'))
      await network.ready()
      for (const rec of await storage.chains()) await this.openNode({ key: Buffer.from(rec.key, 'hex') })
    } catch (e) {
      await this.shutdown()
      throw e
    }
  }

  protected override async _close (): Promise<void> {
    await this.shutdown()
  }

  /**
   * Open the storage. A daemon on its way out — stopping, or killed with -9 and still being torn
   * down — holds the lock a moment longer: while the pid file names a process that still exists,
   * try again for up to DAEMON_EXIT_WAIT_MS, so a restart right after a kill works. (The daemon
   * command has checked that no daemon answers on the socket.)
   */
  private async openStorage (): Promise<Storage> {
    const start = Date.now()
    let delay = LOCK_RETRY_MIN_MS
    while (true) {
      try {
        return await Storage.open(this.storageDir, { create: true })
      } catch (e) {
        if (!isFeedchainError(e, 'STORE_LOCKED') || Date.now() - start >= DAEMON_EXIT_WAIT_MS || !daemonLeaving(this.storageDir)) throw e
      }
      await sleep(delay)
      delay = Math.min(delay * 2, LOCK_RETRY_MAX_MS)
    }
  }

  private async shutdown (): Promise<void> {
    await this.server.close()
    for (const [hex, c] of [...this.chains].reverse()) {
      // files first: they hold sessions on the node's store and listen to its updates
      await this.fileSets.get(hex)?.files.close().catch(() => {})
      await c.node.close().catch(() => {})
    }
    this.fileSets.clear()
    this.chains.clear()
    const network = this.networkRef
    const storage = this.storageRef
    this.networkRef = null
    this.storageRef = null
    if (network !== null) await network.close().catch(() => {})
    if (storage !== null) {
      await storage.close().catch(() => {})
      removePidFile(this.storageDir)
    }
    if (this.listening) {
      this.listening = false
      try { fs.unlinkSync(this.socket) } catch {}
    }
  }

  /** Run `fn` alone (creating and joining chains touch the registry). */
  private serial<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn)
    this.lock = p.catch(() => {})
    return p
  }

  private async openNode (opts: ChainNodeOptions): Promise<ChainNode> {
    if (this.closing !== null) throw err('CLOSED', 'the daemon is stopping')
    const node = new ChainNode(this.storage.store, { ...(this.opts.node ?? {}), ...opts, network: this.network })
    try {
      await node.ready()
    } catch (e) {
      await node.close().catch(() => {})
      throw e
    }
    const hex = node.key.toString('hex')
    const existing = this.chains.get(hex)
    if (existing !== undefined) { await node.close(); return existing.node }
    node.on('warning', (message: string) => this.report({ type: 'warning', chain: formatKey(node.key), message }))
    node.on('update', () => this.emit('update'))
    this.chains.set(hex, new LocalChain(node, this.storage, this.network))
    this.fileSets.set(hex, new LocalFiles(this.seedFiles(node), node, this.network, { owned: false }))
    return node
  }

  /**
   * The chain's files, seeding: every blob core the chain references is opened (so peers can
   * fetch from it) and every file's blocks are downloaded, now and whenever FILE entries arrive.
   * Runs in the background: a chain with many entries is scanned without holding up the daemon
   * (file requests wait for the scan, ChainFiles methods wait for ready()).
   */
  private seedFiles (node: ChainNode): ChainFiles {
    const files = new ChainFiles(node, { ...(this.opts.files ?? {}), network: this.network })
    files.seed().catch((e: unknown) => {
      if (files.closing !== null || this.closing !== null) return // stopping: nothing to report
      this.report({ type: 'warning', chain: formatKey(node.key), message: `cannot seed the chain's files: ${e instanceof Error ? e.message : String(e)}` })
    })
    return files
  }

  /** The chain a request acts on: `key` (hex or null: the first in the registry). */
  async chain (key: Buffer | null): Promise<LocalChain> {
    await this.ready()
    const rec = await findChain(this.storage, key)
    const open = this.chains.get(rec.key)
    if (open !== undefined) return open
    await this.serial(() => this.openNode({ key: Buffer.from(rec.key, 'hex') }))
    return this.chains.get(rec.key)!
  }

  /** The files of the chain a request acts on: `key` (or null: the first in the registry). */
  async files (key: Buffer | null): Promise<LocalFiles> {
    const c = await this.chain(key)
    const files = this.fileSets.get(c.key.toString('hex'))
    if (files === undefined) throw err('CLOSED', 'the daemon is stopping')
    return files
  }

  /** Create the storage's chain (init) and start seeding it. */
  async create (name: string | undefined): Promise<ChainInfo> {
    await this.ready()
    return this.serial(async () => {
      const node = await createChain(this.storage, (o) => this.openNode(o), name)
      this.report({ type: 'chain', key: formatKey(node.key), name: node.name, created: true })
      return chainInfo(node, this.storage)
    })
  }

  /** Follow a chain and start syncing it (idempotent). */
  async join (key: Buffer): Promise<ChainInfo & { joined: boolean }> {
    await this.ready()
    return this.serial(async () => {
      const { node, joined } = await joinChain(this.storage, (o) => this.openNode(o), key)
      if (joined) this.report({ type: 'chain', key: formatKey(node.key), name: node.name, created: false })
      return { ...chainInfo(node, this.storage), joined }
    })
  }

  /** The open chains. */
  list (): LocalChain[] {
    return [...this.chains.values()]
  }

  /** Counts for the live status line. */
  snapshot (): DaemonSnapshot {
    const net = this.networkRef
    const rows = net !== null && net.opened && net.closing === null ? net.peers() : []
    let bytesIn = 0
    let bytesOut = 0
    for (const r of rows) { bytesIn += r.bytesIn; bytesOut += r.bytesOut }
    const chains = this.list().map((c) => {
      const s = c.node.status()
      return {
        key: s.key, name: s.name, length: s.length, finalLength: s.finalLength, pending: s.pending,
        peers: s.peers.length, lag: s.writers.reduce((n, w) => n + w.lag, 0),
      }
    })
    return { peers: rows.length, bans: net?.banned().length ?? 0, bytesIn, bytesOut, chains }
  }

  private report (ev: DaemonEvent): void {
    this.emit('event', ev)
    this.emit('update')
  }
}
