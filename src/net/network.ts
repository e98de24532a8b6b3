/**
 * Network: one Hyperswarm per node (design §5). Joins the discovery key of every open chain,
 * replicates the whole Corestore over each connection (every writer feed and blob core of every
 * chain shares one connection), keeps a peer table, refreshes discovery after connection loss
 * instead of waiting for Hyperswarm's back-off timers, and drops or bans peers that send
 * garbage or data that fails verification.
 */
import ReadyResource from 'ready-resource'
import Hyperswarm from 'hyperswarm'
import type { KeyPair, PeerDiscovery, PeerInfo, SwarmConnection } from 'hyperswarm'
import HyperDHT from 'hyperdht'
import ids from 'hypercore-id-encoding'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { err } from '../errors.js'
import { resolveDhtOptions, type BootstrapInput, type DhtOptions } from './bootstrap.js'
import { blindTopic, openHello, type HelloChannel, type Mux } from './hello.js'
import { describeError, isProtocolError } from './stream-errors.js'
import { replicateOn, type ReplicationStream } from './replicate.js'

/** Options of a Network. Times are in milliseconds. */
export interface NetworkOptions {
  /** DHT bootstrap nodes (`'h:p,h:p'`, `['h:p']`, `[{ host, port }]`); default: the public HyperDHT. */
  bootstrap?: BootstrapInput | undefined
  /** Address the DHT binds to; default 127.0.0.1 when every bootstrap node is on loopback. */
  host?: string | undefined
  /** This node's swarm key pair (its identity to peers); default: a fresh one per Network. */
  keyPair?: KeyPair | undefined
  /** A HyperDHT to use instead of creating one (tests); the Network's swarm destroys it on close. */
  dht?: HyperDHT | undefined
  /**
   * Extra firewall: return true to refuse a remote key. Hyperswarm bans a key for the swarm's
   * lifetime the first time the firewall refuses it, so use this only for permanent decisions.
   */
  firewall?: ((remotePublicKey: Buffer) => boolean) | undefined
  /**
   * Hyperswarm's maxPeers (default 64): the node stops dialling once it has this many
   * connections. It does not limit the connections others open to it (Hyperswarm 4.17 accepts
   * every incoming one), so a node found by many peers can hold more; test/net-many-peers.test.js
   * measures it: with 8, 52 swarms held at most 24–30 connections each.
   */
  maxPeers?: number | undefined
  /** A connection must open the feedchain handshake and share a topic within this time (default 10 000). */
  handshakeTimeout?: number | undefined
  /**
   * A connection that has received no byte at all this long after opening is closed as lost
   * (no strike; discovery is refreshed), ms, plus up to 50 % jitter (default 2 500).
   */
  deadConnectionTimeout?: number | undefined
  /**
   * For this long after joining a topic, discovery keeps refreshing (with the same back-off)
   * even while peers are connected, so peers that joined at the same moment find each other, ms
   * (default 30 000).
   */
  settleTime?: number | undefined
  /** Protocol faults (garbage that does not decode, no handshake) before a peer is banned (default 2). */
  maxStrikes?: number | undefined
  /**
   * Wait this long after a verification error before banning (default 1 000): if the core
   * reports a conflict meanwhile, the peer relayed an equivocating writer's fork — proof the
   * chain layer needs — and is not banned.
   */
  banGrace?: number | undefined
  /**
   * Let Hypercore batch replication messages (up to 8 MiB per secret-stream message) as it does
   * by default; default false: each message goes out on its own (src/net/unbatch.ts says why)
   * and the cores take turns at the connection's send buffer (src/net/fair-send.ts).
   */
  batching?: boolean | undefined
  /** First delay of the discovery refresh while a topic has no peers or lost some (default 1 000). */
  refreshMin?: number | undefined
  /** The refresh delay doubles up to this (default 15 000). */
  refreshMax?: number | undefined
  /** A lost peer keeps its topics refreshing for this long (default 600 000, Hyperswarm's own refresh period). */
  lostPeerTtl?: number | undefined
}

/** One core's state as a connected peer reports it. */
export interface PeerCoreInfo {
  /** The core's key, z-base32. */
  key: string
  remoteLength: number
  remoteContiguousLength: number
}

/** One row of the peer table. */
export interface PeerRecord {
  /** The peer's swarm public key, z-base32. */
  publicKey: string
  /** True if this node opened the connection. */
  client: boolean
  /** Discovery keys (z-base32) both sides have joined. */
  topics: string[]
  /** When the connection opened, ms since the epoch. */
  connectedAt: number
  /** True once the peer has opened the feedchain handshake. */
  handshake: boolean
  /** Encrypted bytes received from / sent to the peer on this connection. */
  bytesIn: number
  bytesOut: number
  /** The tracked (and requested) cores this peer replicates with us. */
  cores: PeerCoreInfo[]
}

/** A banned peer. */
export interface BanRecord {
  publicKey: string
  reason: string
  /** ms since the epoch */
  at: number
}

/** One joined topic. */
export interface TopicRecord {
  /** The discovery key, z-base32. */
  topic: string
  /** Connected peers that have joined it too. */
  peers: number
  /** Peers lost from it recently (looked for by refreshing discovery). */
  lost: number
  /** True while discovery refreshes are scheduled or running (no peers, or peers lost). */
  refreshing: boolean
}

/** Counters for tests, benchmarks and `status`. */
export interface NetworkStats {
  connections: number
  strikes: number
  bans: number
  refreshes: number
  verificationErrors: number
  handshakeTimeouts: number
  /**
   * Connections closed because they had received no byte at all by the dead-connection timer
   * (or the handshake deadline): half-open, the remote half does not exist. Each one also emits
   * 'dead-connection'. A few are normal (a peer dialled while it shuts down); one per dial means
   * connections come up half-open, as with hyperdht 6.33–6.34 (docs/architecture.md,
   * Networking), which test/net-connect.test.js guards against.
   */
  deadDropped: number
}

/** Payload of the 'dead-connection' event: a connection closed for having received nothing. */
export interface DeadConnectionRecord {
  /** The peer's swarm public key, z-base32. */
  publicKey: string
  /** True if this node opened the connection. */
  client: boolean
  /** How long the connection had been open when it was closed, ms. */
  openFor: number
}

interface ConnState {
  conn: SwarmConnection
  key: Buffer
  hex: string
  client: boolean
  connectedAt: number
  info: PeerInfo
  hello: HelloChannel | null
  helloed: boolean
  /** topics (hex) of ours the remote has joined */
  shared: Set<string>
  remoteBlinded: Set<string>
  timer: NodeJS.Timeout | null
  /** the topics (hex, sorted) last sent to the remote */
  sentTopics: string
  error: unknown
  /** why this node closed the connection (then it is not "lost") */
  dropped: string | null
  closed: boolean
  bytesIn: number
}

interface TopicState {
  key: Buffer
  hex: string
  discovery: PeerDiscovery
  /** peers (hex) connected on this topic earlier and not now → lost-at time */
  lost: Map<string, number>
  timer: NodeJS.Timeout | null
  /** refreshes (announce + lookup) running */
  inflight: number
  delay: number
  lastRefresh: number
  /** when this node joined the topic (ms): discovery keeps refreshing for a while after */
  joinedAt: number
}

interface Tracked {
  untrack: () => void
}

interface Suspect {
  core: Hypercore
  key: Buffer
  timer: NodeJS.Timeout
}

const CORE_CHANGE_EVENTS = ['peer-add', 'peer-remove', 'append', 'download', 'upload'] as const
/** Coalesce 'update' events to at most one per this many ms (core traffic can be thousands of blocks/s). */
const UPDATE_INTERVAL = 50

/**
 * How long close() lets the swarm withdraw its DHT records (unannounce the topics and the
 * server's key) before it destroys the DHT under them. With the DHT unreachable (offline, the
 * bootstrap nodes gone) each of those requests runs to its timeouts: a daemon stopped then took
 * 7.3 s to exit, a Network 5.0 s. The records expire on their own anyway.
 */
export const CLOSE_DHT_GRACE_MS = 2000

/**
 * Destroy `swarm`, withdrawing its DHT records for at most `graceMs`; then destroy its DHT, which
 * fails the requests still waiting, so the swarm's own destroy ends at once.
 */
async function destroySwarm (swarm: Hyperswarm, graceMs: number): Promise<void> {
  const graceful = swarm.destroy()
  let timer: NodeJS.Timeout | null = null
  const late = await Promise.race([
    graceful.then(() => false, () => false),
    new Promise<boolean>((resolve) => { timer = setTimeout(resolve, graceMs, true) })
  ])
  if (timer !== null) clearTimeout(timer)
  if (!late) return graceful
  await swarm.dht.destroy({ force: true }).catch(() => {})
  await graceful.catch(() => {}) // its requests failed because the DHT went: that is the point
}

/** One Hyperswarm per node: join/leave, replication of the whole store, peer table, bans, reconnect. */
export class Network extends ReadyResource {
  /** The Corestore every connection replicates. */
  readonly store: Corestore
  /** This node's swarm key pair. */
  readonly keyPair: KeyPair
  /** Counters; see NetworkStats. */
  readonly stats: NetworkStats = { connections: 0, strikes: 0, bans: 0, refreshes: 0, verificationErrors: 0, handshakeTimeouts: 0, deadDropped: 0 }

  #swarm: Hyperswarm | null = null
  readonly #opts: NetworkOptions
  readonly #dhtOptions: DhtOptions
  readonly #handshakeTimeout: number
  readonly #deadConnection: number
  readonly #settle: number
  readonly #maxStrikes: number
  readonly #banGrace: number
  readonly #batching: boolean
  readonly #refreshMin: number
  readonly #refreshMax: number
  readonly #lostPeerTtl: number
  readonly #conns = new Map<SwarmConnection, ConnState>()
  readonly #topics = new Map<string, TopicState>()
  readonly #bans = new Map<string, BanRecord>()
  readonly #strikes = new Map<string, number>()
  readonly #tracked = new Map<Hypercore, Tracked>()
  /** pending verification-error bans: `${peerHex}/${coreId}` → the decision */
  readonly #suspects = new Map<string, Suspect>()
  #updateTimer: NodeJS.Timeout | null = null
  /** peers (hex) whose connection Hyperswarm is replacing with a duplicate */
  readonly #swapping = new Set<string>()

  /** Create a Network for `store`. Throws INVALID_ARGUMENT on malformed bootstrap/host options. */
  constructor (store: Corestore, opts: NetworkOptions = {}) {
    super()
    this.store = store
    this.#opts = opts
    // parsed here so bad input fails before any socket exists
    this.#dhtOptions = opts.dht === undefined ? resolveDhtOptions(opts) : {}
    this.keyPair = opts.keyPair ?? HyperDHT.keyPair()
    this.#handshakeTimeout = positive(opts.handshakeTimeout, 10_000, 'handshakeTimeout')
    this.#deadConnection = positive(opts.deadConnectionTimeout, 2_500, 'deadConnectionTimeout')
    this.#settle = positive(opts.settleTime, 30_000, 'settleTime')
    this.#maxStrikes = positive(opts.maxStrikes, 2, 'maxStrikes')
    this.#banGrace = positive(opts.banGrace, 1_000, 'banGrace', true)
    this.#batching = opts.batching === true
    this.#refreshMin = positive(opts.refreshMin, 1_000, 'refreshMin')
    this.#refreshMax = Math.max(this.#refreshMin, positive(opts.refreshMax, 15_000, 'refreshMax'))
    this.#lostPeerTtl = positive(opts.lostPeerTtl, 600_000, 'lostPeerTtl')
  }

  /** This node's swarm public key. */
  get publicKey (): Buffer {
    return this.keyPair.publicKey
  }

  /** The underlying Hyperswarm (null before ready()). For diagnostics; do not join through it. */
  get swarm (): Hyperswarm | null {
    return this.#swarm
  }

  protected override async _open (): Promise<void> {
    await this.store.ready()
    // The DHT this node joins: an injected one (the loopback testnet of testnet.ts), or one on
    // the `bootstrap` and `host` options (a loopback bootstrap binds it to 127.0.0.1:
    // resolveDhtOptions). With neither it is the public HyperDHT, which the CLI says on stderr;
    // tests, benchmarks, examples and the demo always pass a loopback bootstrap or testnet.
    const { bootstrap, host } = this.#dhtOptions
    const firewall = this.#opts.firewall
    const swarm = new Hyperswarm({
      dht: this.#opts.dht ?? new HyperDHT({ bootstrap, host, keyPair: this.keyPair }),
      keyPair: this.keyPair,
      ...(this.#opts.maxPeers !== undefined ? { maxPeers: this.#opts.maxPeers } : {}),
      firewall: (remotePublicKey) => this.#bans.has(remotePublicKey.toString('hex')) || (firewall !== undefined && firewall(remotePublicKey))
    })
    this.#swarm = swarm
    swarm.on('connection', (conn, info) => this.#onconnection(conn, info))
  }

  protected override async _close (): Promise<void> {
    for (const t of this.#topics.values()) clearTimer(t)
    for (const { timer } of this.#suspects.values()) clearTimeout(timer)
    this.#suspects.clear()
    if (this.#updateTimer !== null) clearTimeout(this.#updateTimer)
    this.#updateTimer = null
    for (const { untrack } of [...this.#tracked.values()]) untrack()
    for (const s of this.#conns.values()) {
      if (s.timer !== null) clearTimeout(s.timer)
      s.dropped = 'closing'
      s.hello?.close()
      s.conn.destroy()
    }
    const swarm = this.#swarm
    if (swarm !== null) await destroySwarm(swarm, CLOSE_DHT_GRACE_MS) // also destroys the DHT, injected or not
    else if (this.#opts.dht !== undefined) await this.#opts.dht.destroy() // closed before ready(): the DHT is ours all the same
    this.#topics.clear()
  }

  // ------------------------------------------------------------------ topics

  /**
   * Join a topic (a chain's discovery key) as server and client. Resolves when the first
   * announce and lookup have finished; connections keep arriving afterwards.
   */
  async join (discoveryKey: Uint8Array): Promise<void> {
    const key = topicKey(discoveryKey)
    await this.ready()
    const swarm = this.#live()
    const hex = key.toString('hex')
    let topic = this.#topics.get(hex)
    if (topic === undefined) {
      const discovery = swarm.join(key, { server: true, client: true })
      topic = { key, hex, discovery, lost: new Map(), timer: null, inflight: 0, delay: this.#refreshMin, lastRefresh: Date.now(), joinedAt: Date.now() }
      this.#topics.set(hex, topic)
      this.#topicsChanged()
      this.#scheduleRefresh(topic, false)
    }
    await topic.discovery.flushed()
  }

  /**
   * Leave a topic: stop announcing and looking it up, and close connections that shared only it.
   * Resolves once that is done here; the topic's DHT records are withdrawn in the background
   * (with the DHT unreachable, each request runs to its timeouts), and close() waits for that
   * within CLOSE_DHT_GRACE_MS. Joining the topic again meanwhile is fine: Hyperswarm's new
   * discovery waits for the old one.
   */
  async leave (discoveryKey: Uint8Array): Promise<void> {
    const key = topicKey(discoveryKey)
    const hex = key.toString('hex')
    const topic = this.#topics.get(hex)
    if (topic === undefined) return
    this.#topics.delete(hex)
    clearTimer(topic)
    this.#topicsChanged()
    for (const s of [...this.#conns.values()]) {
      if (s.helloed && s.shared.size === 0) this.#drop(s, 'left the last shared topic')
    }
    const swarm = this.#swarm
    if (swarm !== null && !swarm.destroyed) swarm.leave(key).catch(() => {}) // Hyperswarm ignores network failures here
  }

  /** The joined topics: connected and lost peers, and whether a discovery refresh is scheduled. */
  topics (): TopicRecord[] {
    return [...this.#topics.values()].map((t) => ({
      topic: ids.encode(t.key),
      peers: this.#peerCount(t.hex),
      lost: t.lost.size,
      refreshing: t.timer !== null || t.inflight > 0
    }))
  }

  /**
   * Refresh discovery now (announce and look up again) for one topic or all, and let Hyperswarm
   * connect to what it finds, skipping its back-off timers. Resolves when the lookups are done.
   */
  async refresh (discoveryKey?: Uint8Array): Promise<void> {
    const list = discoveryKey === undefined ? [...this.#topics.values()] : [this.#topics.get(topicKey(discoveryKey).toString('hex'))]
    await Promise.all(list.map(async (t) => { if (t !== undefined) await this.#refreshTopic(t) }))
  }

  /** Wait until pending discovery and connection attempts have settled (Hyperswarm's flush). */
  async flush (): Promise<void> {
    await this.ready()
    await this.#live().flush()
  }

  // ------------------------------------------------------------------ peer table

  /**
   * The peer table: one row per connected peer. Remote lengths are reported for every tracked
   * core and for `cores` given here.
   */
  peers (opts: { cores?: Hypercore[] | undefined } = {}): PeerRecord[] {
    const cores = this.#coreList(opts.cores)
    const rows = new Map<string, PeerRecord>()
    for (const s of this.#conns.values()) {
      if (s.closed || s.dropped !== null) continue
      const row = this.#row(s, cores)
      const prev = rows.get(s.hex)
      // two connections to one key exist only while Hyperswarm swaps a duplicate: keep the newer
      if (prev === undefined || prev.connectedAt <= row.connectedAt) rows.set(s.hex, row)
    }
    return [...rows.values()]
  }

  /**
   * Track a core session: its remote lengths appear in the peer table, its replication events
   * emit 'update', and a peer whose data fails verification on it is banned. Returns a function
   * that stops tracking (also done when the session closes).
   */
  trackCore (core: Hypercore): () => void {
    const existing = this.#tracked.get(core)
    if (existing !== undefined) return existing.untrack
    const onverify = (e: unknown, _req: unknown, _res: unknown, from: unknown): void => this.#onVerificationError(core, e, from)
    const onconflict = (): void => this.#onconflict(core)
    const onchange = (): void => this.#queueUpdate()
    core.on('verification-error', onverify)
    core.on('conflict', onconflict)
    for (const ev of CORE_CHANGE_EVENTS) core.on(ev, onchange)
    const untrack = (): void => {
      if (this.#tracked.get(core)?.untrack !== untrack) return
      this.#tracked.delete(core)
      core.off('verification-error', onverify)
      core.off('conflict', onconflict)
      for (const ev of CORE_CHANGE_EVENTS) core.off(ev, onchange)
      core.off('close', untrack)
    }
    core.once('close', untrack)
    this.#tracked.set(core, { untrack })
    return untrack
  }

  // ------------------------------------------------------------------ bans

  /**
   * Ban a peer for the life of this Network: its connections are closed and the firewall
   * refuses it from now on. `publicKey` is bytes, z-base32 or hex. Emits 'ban'.
   */
  ban (publicKey: Uint8Array | string, reason = 'banned'): void {
    const key = peerKey(publicKey)
    const hex = key.toString('hex')
    if (key.equals(this.keyPair.publicKey)) return
    const first = !this.#bans.has(hex)
    if (first) {
      this.#bans.set(hex, { publicKey: ids.encode(key), reason, at: Date.now() })
      this.stats.bans++
    }
    const info = this.#swarm?.peers.get(hex)
    if (info !== undefined) info.ban(true)
    for (const t of this.#topics.values()) t.lost.delete(hex)
    for (const s of [...this.#conns.values()]) if (s.hex === hex) this.#drop(s, 'banned: ' + reason)
    if (first) {
      this.emit('ban', { publicKey: ids.encode(key), reason })
      this.#queueUpdate()
    }
  }

  /** True if the peer is banned. */
  isBanned (publicKey: Uint8Array | string): boolean {
    return this.#bans.has(peerKey(publicKey).toString('hex'))
  }

  /** The banned peers, oldest first. */
  banned (): BanRecord[] {
    return [...this.#bans.values()].map((b) => ({ ...b }))
  }

  // ------------------------------------------------------------------ connections

  #onconnection (conn: SwarmConnection, info: PeerInfo): void {
    const s: ConnState = {
      conn,
      key: Buffer.from(conn.remotePublicKey),
      hex: conn.remotePublicKey.toString('hex'),
      client: info.client,
      connectedAt: Date.now(),
      info,
      hello: null,
      helloed: false,
      shared: new Set(),
      remoteBlinded: new Set(),
      timer: null,
      sentTopics: '',
      error: null,
      dropped: null,
      closed: false,
      bytesIn: 0
    }
    conn.on('error', (e: unknown) => { if (s.error === null) s.error = e })
    if (this.closing !== null || this.#bans.has(s.hex)) {
      conn.destroy()
      return
    }
    const isNew = !this.#hasConn(s.hex) && !this.#swapping.delete(s.hex)
    this.#conns.set(conn, s)
    this.stats.connections++
    conn.once('close', () => this.#onclose(s))
    if (typeof conn.rawBytesRead !== 'number') conn.on('data', (d: Buffer) => { s.bytesIn += d.byteLength })

    try {
      replicateOn(this.store, conn as unknown as ReplicationStream, { batching: this.#batching })
    } catch (e) {
      this.#drop(s, 'store is closed: ' + describeError(e))
      return
    }
    // client connections come from a lookup of our topics: shared until the handshake says otherwise
    for (const t of info.topics) {
      const hex = t.toString('hex')
      if (this.#topics.has(hex)) s.shared.add(hex)
    }
    const mux = conn.userData as Mux | null
    const hh = conn.handshakeHash
    if (mux !== null && hh !== null) {
      s.sentTopics = this.#topicsSignature()
      s.hello = openHello(mux, hh, this.#topicKeys(), {
        onhello: (hello) => this.#onhello(s, hello.topics),
        ontopics: (blinded) => this.#onhello(s, blinded)
      })
    }
    s.timer = setTimeout(() => this.#onHandshakeTimeout(s), this.#handshakeTimeout)
    // a connection that receives nothing at all is dead long before the handshake deadline;
    // jitter so two peers do not redial each other in lockstep
    const dead = setTimeout(() => { if (!s.closed && this.#bytesRead(s) === 0) this.#closeDead(s) }, this.#deadConnection * (1 + Math.random() / 2))
    dead.unref()
    conn.once('close', () => clearTimeout(dead))

    if (isNew) this.emit('peer-add', this.#row(s))
    this.emit('connection', conn, this.#row(s))
    this.#queueUpdate()
  }

  #onhello (s: ConnState, blinded: Buffer[]): void {
    if (s.closed) return
    const first = !s.helloed
    s.helloed = true
    s.remoteBlinded = new Set(blinded.map((b) => b.toString('hex')))
    this.#recomputeShared(s)
    // our topics may have changed between opening the channel and the remote's open
    if (first) this.#sendTopics(s)
    this.#queueUpdate()
  }

  #recomputeShared (s: ConnState): void {
    const hh = s.conn.handshakeHash
    if (!s.helloed || hh === null) {
      for (const hex of s.shared) if (!this.#topics.has(hex)) s.shared.delete(hex)
      return
    }
    const before = s.shared
    s.shared = new Set()
    for (const t of this.#topics.values()) {
      if (s.remoteBlinded.has(blindTopic(hh, t.key).toString('hex'))) s.shared.add(t.hex)
    }
    for (const hex of s.shared) {
      const t = this.#topics.get(hex)
      if (t === undefined) continue
      t.lost.delete(s.hex)
      if (!before.has(hex)) this.#scheduleRefresh(t, false)
    }
    if (s.shared.size > 0) {
      if (s.timer !== null) clearTimeout(s.timer)
      s.timer = null
    } else if (this.#topics.size === 0) {
      this.#drop(s, 'no topics joined')
    } else if (s.timer === null && !s.closed) {
      // no topic in common (yet): the remote may be joining right now, so wait before dropping
      s.timer = setTimeout(() => this.#onHandshakeTimeout(s), this.#handshakeTimeout)
    }
  }

  #onHandshakeTimeout (s: ConnState): void {
    s.timer = null
    if (s.closed || this.closing !== null) return
    if (!s.helloed && this.#bytesRead(s) === 0) {
      // nothing ever arrived: the remote half of this connection does not exist (Hyperswarm keeps
      // a different half on each side when two peers dial each other at once). Not a fault of
      // the peer: close it as lost, which refreshes discovery and dials again.
      this.#closeDead(s)
    } else if (!s.helloed) {
      this.stats.handshakeTimeouts++
      this.#strike(s.key, `no feedchain handshake within ${this.#handshakeTimeout} ms`)
    } else if (s.shared.size === 0) {
      this.#drop(s, 'no shared topic')
    }
  }

  #onclose (s: ConnState): void {
    s.closed = true
    if (s.timer !== null) clearTimeout(s.timer)
    s.timer = null
    this.#conns.delete(s.conn)
    if (this.closing !== null) return
    if (s.dropped === null && isProtocolError(s.error)) {
      // the remote sent bytes that do not decode (garbage, or tampering below the encryption)
      this.#strike(s.key, 'protocol error: ' + describeError(s.error))
    } else if (s.dropped === null && !this.#bans.has(s.hex) && !isDuplicateSwap(s.error)) {
      // lost without a reason of ours: look for it (and others) again now, not after back-off
      const now = Date.now()
      for (const hex of s.shared) this.#topics.get(hex)?.lost.set(s.hex, now)
    }
    for (const t of this.#topics.values()) this.#scheduleRefresh(t, t.lost.has(s.hex))
    if (isDuplicateSwap(s.error)) {
      // Hyperswarm replaces this connection with a newer one to the same peer right after
      // this event: not a removal, unless no replacement shows up
      this.#swapping.add(s.hex)
      setImmediate(() => {
        if (!this.#swapping.delete(s.hex) || this.#hasConn(s.hex) || this.closing !== null) return
        this.emit('peer-remove', this.#row(s))
        this.#queueUpdate()
      })
    } else if (!this.#hasConn(s.hex)) {
      this.emit('peer-remove', this.#row(s))
    }
    this.#queueUpdate()
  }

  /**
   * Bytes that arrived on a connection at any layer: decrypted frames, or (for garbage that
   * stalls the framing) bytes on the underlying UDX stream. 0 means the remote half is gone.
   */
  #bytesRead (s: ConnState): number {
    const frames = typeof s.conn.rawBytesRead === 'number' ? s.conn.rawBytesRead : s.bytesIn
    const udx = (s.conn as unknown as { rawStream?: { bytesReceived?: unknown } | null }).rawStream?.bytesReceived
    return Math.max(frames, typeof udx === 'number' ? udx : 0)
  }

  /**
   * Close a connection that never received a byte (its remote half is gone) as lost, not
   * dropped: #onclose then refreshes discovery and Hyperswarm dials again. Counted in
   * stats.deadDropped and emitted as 'dead-connection', so a regression that leaves connections
   * half-open shows as a number rather than only as a slow first peer.
   */
  #closeDead (s: ConnState): void {
    if (s.closed) return
    this.stats.deadDropped++
    const ev: DeadConnectionRecord = { publicKey: ids.encode(s.key), client: s.client, openFor: Date.now() - s.connectedAt }
    this.emit('dead-connection', ev)
    s.conn.destroy()
  }

  /** Close one connection on purpose (not a loss: no reconnect refresh for it). */
  #drop (s: ConnState, reason: string): void {
    if (s.closed || s.dropped !== null) return
    s.dropped = reason
    if (s.timer !== null) clearTimeout(s.timer)
    s.timer = null
    s.hello?.close()
    s.conn.destroy()
  }

  /** A protocol fault: drop the peer's connections; ban it at maxStrikes. */
  #strike (key: Buffer, reason: string): void {
    const hex = key.toString('hex')
    if (this.#bans.has(hex)) return
    const count = (this.#strikes.get(hex) ?? 0) + 1
    this.#strikes.set(hex, count)
    this.stats.strikes++
    this.emit('strike', { publicKey: ids.encode(key), reason, count })
    if (count >= this.#maxStrikes) {
      this.ban(key, reason)
      return
    }
    for (const s of [...this.#conns.values()]) if (s.hex === hex) this.#drop(s, 'strike: ' + reason)
  }

  #onVerificationError (core: Hypercore, e: unknown, from: unknown): void {
    this.stats.verificationErrors++
    if (this.closing !== null || core.closed) return
    const remote = (from as { remotePublicKey?: unknown } | null)?.remotePublicKey
    if (!(remote instanceof Uint8Array)) return
    const key = Buffer.from(remote)
    const hex = key.toString('hex')
    const coreId = core.key !== null ? ids.encode(core.key) : '?'
    this.emit('verification-error', { publicKey: ids.encode(key), core: coreId, error: describeError(e) })
    if (this.#bans.has(hex)) return
    const id = hex + '/' + coreId
    if (this.#suspects.has(id)) return
    const reason = `data failed verification on core ${coreId.slice(0, 8)}… (${describeError(e)})`
    // Hypercore answers a failed proof by asking the same peer for a proof of our length
    // (replicator _checkIfConflict); if the writer forked, the core emits 'conflict' within a
    // round trip, and #onconflict excuses the peer before this timer bans it.
    const timer = setTimeout(() => {
      this.#suspects.delete(id)
      if (this.closing === null) this.ban(key, reason)
    }, this.#banGrace)
    this.#suspects.set(id, { core, key, timer })
  }

  /** The core's writer equivocated: peers whose proofs failed on it relayed the fork, not garbage. */
  #onconflict (core: Hypercore): void {
    for (const [id, s] of this.#suspects) {
      if (s.core !== core) continue
      clearTimeout(s.timer)
      this.#suspects.delete(id)
      this.emit('verification-excused', { publicKey: ids.encode(s.key), core: core.key !== null ? ids.encode(core.key) : '?', reason: 'writer equivocation (conflict)' })
    }
  }

  // ------------------------------------------------------------------ reconnect

  #needsRefresh (t: TopicState): boolean {
    const now = Date.now()
    for (const [hex, at] of t.lost) if (now - at > this.#lostPeerTtl) t.lost.delete(hex)
    // peers that joined at the same moment as this node can miss each other's announce even
    // when both already have other peers: keep looking for a while after joining
    return t.lost.size > 0 || this.#peerCount(t.hex) === 0 || now - t.joinedAt < this.#settle
  }

  /**
   * While a topic has no peers or has lost some, refresh its discovery with a delay that starts
   * at refreshMin and doubles to refreshMax. `soon` (after a loss) restarts the delay and
   * refreshes as soon as the rate limit (one refresh per refreshMin) allows.
   */
  #scheduleRefresh (t: TopicState, soon: boolean): void {
    if (this.closing !== null || this.#topics.get(t.hex) !== t) return
    if (!this.#needsRefresh(t)) {
      clearTimer(t)
      t.delay = this.#refreshMin
      return
    }
    if (soon) {
      clearTimer(t)
      t.delay = this.#refreshMin
      const wait = Math.max(0, t.lastRefresh + this.#refreshMin - Date.now())
      t.timer = setTimeout(() => { void this.#onRefreshTimer(t) }, wait)
    } else if (t.timer === null) {
      t.timer = setTimeout(() => { void this.#onRefreshTimer(t) }, t.delay)
    }
  }

  async #onRefreshTimer (t: TopicState): Promise<void> {
    t.timer = null
    if (!this.#needsRefresh(t)) {
      t.delay = this.#refreshMin
      return
    }
    t.inflight++ // stays "refreshing" until the next one is scheduled
    try {
      await this.#refreshTopic(t)
      t.delay = Math.min(t.delay * 2, this.#refreshMax)
      this.#scheduleRefresh(t, false)
    } finally {
      t.inflight--
    }
  }

  async #refreshTopic (t: TopicState): Promise<void> {
    if (this.closing !== null || this.#topics.get(t.hex) !== t) return
    t.lastRefresh = Date.now()
    t.inflight++
    this.stats.refreshes++
    this.emit('refresh', ids.encode(t.key))
    try {
      // a new announce + lookup: every peer found is queued for connection at once (Hyperswarm
      // resets the attempts of a peer it had given up on), instead of after its back-off timer
      await t.discovery.refresh()
    } catch {
      // discovery destroyed by leave/close, or a DHT failure: the next refresh retries
    } finally {
      t.inflight--
    }
  }

  // ------------------------------------------------------------------ helpers

  #live (): Hyperswarm {
    const swarm = this.#swarm
    if (swarm === null || this.closing !== null) throw err('CLOSED', 'network is closed')
    return swarm
  }

  #topicKeys (): Buffer[] {
    return [...this.#topics.values()].map((t) => t.key)
  }

  #topicsChanged (): void {
    for (const s of this.#conns.values()) {
      if (s.closed) continue
      if (s.helloed) this.#sendTopics(s) // before the remote's open, #onhello sends them
      this.#recomputeShared(s)
    }
    this.#queueUpdate()
  }

  #topicsSignature (): string {
    return [...this.#topics.keys()].sort().join(',')
  }

  #sendTopics (s: ConnState): void {
    const sig = this.#topicsSignature()
    if (sig === s.sentTopics) return
    s.sentTopics = sig
    s.hello?.sendTopics(this.#topicKeys())
  }

  #hasConn (hex: string): boolean {
    for (const s of this.#conns.values()) if (s.hex === hex && !s.closed) return true
    return false
  }

  #peerCount (topicHex: string): number {
    const seen = new Set<string>()
    for (const s of this.#conns.values()) if (!s.closed && s.dropped === null && s.shared.has(topicHex)) seen.add(s.hex)
    return seen.size
  }

  #coreList (extra: Hypercore[] | undefined): Hypercore[] {
    const out: Hypercore[] = []
    const seen = new Set<string>()
    for (const core of [...this.#tracked.keys(), ...(extra ?? [])]) {
      if (core.key === null) continue
      const hex = core.key.toString('hex')
      if (seen.has(hex)) continue
      seen.add(hex)
      out.push(core)
    }
    return out
  }

  #row (s: ConnState, cores: Hypercore[] = []): PeerRecord {
    return {
      publicKey: ids.encode(s.key),
      client: s.client,
      topics: [...s.shared].map((h) => ids.encode(Buffer.from(h, 'hex'))),
      connectedAt: s.connectedAt,
      handshake: s.helloed,
      bytesIn: typeof s.conn.rawBytesRead === 'number' ? s.conn.rawBytesRead : s.bytesIn,
      bytesOut: typeof s.conn.rawBytesWritten === 'number' ? s.conn.rawBytesWritten : 0,
      cores: remoteCores(cores, s)
    }
  }

  #queueUpdate (): void {
    if (this.#updateTimer !== null || this.closing !== null) return
    this.#updateTimer = setTimeout(() => {
      this.#updateTimer = null
      this.emit('update')
    }, UPDATE_INTERVAL)
  }
}

function remoteCores (cores: Hypercore[], s: ConnState): PeerCoreInfo[] {
  const out: PeerCoreInfo[] = []
  for (const core of cores) {
    if (core.key === null) continue
    const peer = core.peers.find((p) => p.stream === s.conn) ?? core.peers.find((p) => s.key.equals(p.remotePublicKey))
    if (peer === undefined) continue
    out.push({ key: ids.encode(core.key), remoteLength: peer.remoteLength, remoteContiguousLength: peer.remoteContiguousLength })
  }
  return out
}

/** Hyperswarm closes the older of two connections to one peer with this message (index.js ERR_DUPLICATE). */
function isDuplicateSwap (e: unknown): boolean {
  return e instanceof Error && e.message === 'Duplicate connection'
}

function clearTimer (t: TopicState): void {
  if (t.timer !== null) clearTimeout(t.timer)
  t.timer = null
}

function topicKey (key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw err('INVALID_ARGUMENT', 'a topic must be a 32-byte discovery key')
  return Buffer.from(key)
}

function peerKey (key: Uint8Array | string): Buffer {
  if (typeof key === 'string') {
    try {
      const b = ids.decode(key)
      if (b.byteLength === 32) return b
    } catch {}
    throw err('INVALID_ARGUMENT', 'not a peer public key (z-base32 or hex, 32 bytes)')
  }
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw err('INVALID_ARGUMENT', 'a peer public key must be 32 bytes')
  return Buffer.from(key)
}

function positive (value: number | undefined, fallback: number, name: string, zeroOk = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroOk)) {
    throw err('INVALID_ARGUMENT', `${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number`)
  }
  return value
}
