// Hand-written declarations for the Holepunch packages feedchain calls, covering only what is used.

declare module 'hypercore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  /** activeRequests: the get's request joins this list, so Hypercore.destroyRequests(list) cancels it (it rejects) */
  interface HypercoreGetOptions { wait?: boolean, timeout?: number, valueEncoding?: string, activeRequests?: unknown[] }
  interface HypercoreDownloadRange { start?: number, end?: number, blocks?: number[], linear?: boolean }
  /** done(): true once every block is stored, false if cancelled (destroyed, or the session closed) */
  interface HypercoreDownload { done (): Promise<boolean>, destroy (): void }
  /** remoteBitfield: the blocks this peer said it has (learnt as ranges are wanted from it) */
  interface HypercorePeer { remotePublicKey: Buffer, remoteLength: number, remoteContiguousLength: number, remoteBitfield?: { get (index: number): boolean }, stream: unknown, paused?: boolean }

  class Hypercore extends EventEmitter {
    /** The storage a Corestore opens on a directory (hypercore-storage); `opts` reach RocksDB. */
    static defaultStorage (directory: string, opts?: Record<string, unknown>): unknown
    /** cancel the gets whose requests are in `activeRequests` and any get given it later (they reject) */
    static destroyRequests (activeRequests: unknown[], error?: Error | null): void
    readonly key: Buffer | null
    readonly discoveryKey: Buffer | null
    readonly keyPair: { publicKey: Buffer, secretKey: Buffer | null } | null
    readonly length: number
    readonly contiguousLength: number
    readonly byteLength: number
    readonly fork: number
    readonly writable: boolean
    readonly readable: boolean
    readonly closed: boolean
    readonly opened: boolean
    readonly peers: HypercorePeer[]
    ready (): Promise<void>
    close (): Promise<void>
    append (blocks: Buffer | Uint8Array | Array<Buffer | Uint8Array>): Promise<{ length: number, byteLength: number }>
    get (index: number, opts?: HypercoreGetOptions): Promise<Buffer | null>
    has (start: number, end?: number): Promise<boolean>
    update (opts?: { wait?: boolean }): Promise<boolean>
    download (range?: HypercoreDownloadRange): HypercoreDownload
    treeHash (length?: number): Promise<Buffer>
    info (opts?: Record<string, unknown>): Promise<Record<string, unknown>>
    audit (opts?: { dryRun?: boolean }): Promise<{ corrupt: number, blocks: number, tree: number }>
    session (opts?: Record<string, unknown>): Hypercore
    findingPeers (): () => void
    replicate (isInitiator: boolean | Duplex, opts?: Record<string, unknown>): Duplex
  }
  export default Hypercore
}

declare module 'corestore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type Hypercore from 'hypercore'

  interface CorestoreGetOptions { name?: string, key?: Buffer | Uint8Array, keyPair?: { publicKey: Buffer, secretKey: Buffer | null }, exclusive?: boolean, valueEncoding?: string, active?: boolean, writable?: boolean }

  class Corestore extends EventEmitter {
    constructor (storage: unknown, opts?: Record<string, unknown>)
    readonly opened: boolean
    readonly closed: boolean
    ready (): Promise<void>
    close (): Promise<void>
    get (opts: CorestoreGetOptions | Buffer | Uint8Array): Hypercore
    namespace (name: string | Buffer): Corestore
    session (opts?: Record<string, unknown>): Corestore
    replicate (isInitiator: boolean | Duplex, opts?: Record<string, unknown>): Duplex
    createKeyPair (name: string): Promise<{ publicKey: Buffer, secretKey: Buffer }>
    /** hypercore-storage's store: hasCore tells whether a core is stored, without opening it */
    readonly storage: { hasCore (discoveryKey: Buffer): Promise<boolean> }
  }
  export default Corestore
}

declare module 'hyperbee' {
  import type Hypercore from 'hypercore'

  interface HyperbeeNode<K, V> { seq: number, key: K, value: V }
  interface HyperbeeRange<K> { gt?: K, gte?: K, lt?: K, lte?: K, reverse?: boolean, limit?: number }
  interface HyperbeeBatch<K, V> {
    put (key: K, value: V): Promise<void>
    del (key: K): Promise<void>
    get (key: K): Promise<HyperbeeNode<K, V> | null>
    flush (): Promise<void>
    close (): Promise<void>
  }

  class Hyperbee<K = Buffer, V = Buffer> {
    constructor (core: Hypercore, opts?: { keyEncoding?: string, valueEncoding?: string })
    readonly core: Hypercore
    readonly version: number
    ready (): Promise<void>
    close (): Promise<void>
    get (key: K): Promise<HyperbeeNode<K, V> | null>
    put (key: K, value: V): Promise<void>
    del (key: K): Promise<void>
    batch (): HyperbeeBatch<K, V>
    peek (range?: HyperbeeRange<K>): Promise<HyperbeeNode<K, V> | null>
    createReadStream (range?: HyperbeeRange<K>): AsyncIterable<HyperbeeNode<K, V>>
  }
  export default Hyperbee
}

declare module 'hyperblobs' {
  import type Hypercore from 'hypercore'
  import type { Readable, Writable } from 'node:stream'

  interface BlobId { blockOffset: number, blockLength: number, byteOffset: number, byteLength: number }
  class Hyperblobs {
    constructor (core: Hypercore, opts?: { blockSize?: number })
    readonly core: Hypercore
    readonly key: Buffer
    readonly blockSize: number
    ready (): Promise<void>
    close (): Promise<void>
    put (blob: Buffer | Uint8Array, opts?: Record<string, unknown>): Promise<BlobId>
    get (id: BlobId, opts?: Record<string, unknown>): Promise<Buffer | null>
    createReadStream (id: BlobId, opts?: Record<string, unknown>): Readable
    createWriteStream (opts?: Record<string, unknown>): Writable & { id: BlobId }
  }
  export default Hyperblobs
}

declare module 'hypercore-crypto' {
  const crypto: {
    discoveryKey (key: Buffer | Uint8Array): Buffer
    hash (data: Buffer | Uint8Array | Array<Buffer | Uint8Array>, out?: Buffer): Buffer
    keyPair (seed?: Buffer): { publicKey: Buffer, secretKey: Buffer }
    randomBytes (n: number): Buffer
  }
  export default crypto
}

declare module 'hypercore-id-encoding' {
  const ids: {
    encode (key: Buffer | Uint8Array): string
    decode (id: string | Buffer | Uint8Array): Buffer
    normalize (id: string | Buffer): string
    isValid (id: unknown): boolean
  }
  export default ids
}

declare module 'hyperswarm' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  /** One topic's discovery (a session of hyperswarm's PeerDiscovery). */
  interface PeerDiscovery {
    readonly topic: Buffer
    readonly isClient: boolean
    readonly isServer: boolean
    flushed (): Promise<boolean>
    refresh (opts?: { client?: boolean, server?: boolean }): Promise<boolean | undefined>
    destroy (): Promise<void>
  }
  interface PeerInfo {
    publicKey: Buffer
    topics: Buffer[]
    client: boolean
    banned: boolean
    attempts: number
    ban (banned?: boolean): void
  }
  /** A connection: @hyperswarm/secret-stream's NoiseSecretStream over a UDX stream. */
  interface SwarmConnection extends Duplex {
    remotePublicKey: Buffer
    publicKey: Buffer
    handshakeHash: Buffer | null
    isInitiator: boolean
    /** Bytes of encrypted frames read/written (secret-stream ≥ 6.7). */
    rawBytesRead?: number
    rawBytesWritten?: number
    rawStream: Duplex & { remoteHost?: string, remotePort?: number }
    opened: Promise<boolean>
    /** The Protomux of the connection once it is replicated (set by hypercore). */
    userData: unknown
  }
  type KeyPair = { publicKey: Buffer, secretKey: Buffer }

  class Hyperswarm extends EventEmitter {
    constructor (opts?: { dht?: unknown, keyPair?: KeyPair, maxPeers?: number, firewall?: (remotePublicKey: Buffer, payload: unknown) => boolean, backoffs?: number[], jitter?: number })
    readonly connections: Set<SwarmConnection>
    readonly peers: Map<string, PeerInfo>
    readonly keyPair: KeyPair
    readonly dht: import('hyperdht').default
    readonly destroyed: boolean
    readonly connecting: number
    join (topic: Buffer, opts?: { client?: boolean, server?: boolean }): PeerDiscovery
    leave (topic: Buffer): Promise<void>
    /** The discovery of a joined topic, or null. */
    status (topic: Buffer): PeerDiscovery | null
    listen (): Promise<void>
    flush (): Promise<boolean>
    destroy (opts?: { force?: boolean }): Promise<void>
    on (event: 'connection', fn: (conn: SwarmConnection, info: PeerInfo) => void): this
    on (event: 'ban', fn: (info: PeerInfo, err: Error) => void): this
    on (event: string, fn: (...args: any[]) => void): this
  }
  export default Hyperswarm
  export type { PeerDiscovery, PeerInfo, SwarmConnection, KeyPair }
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events'

  class HyperDHT extends EventEmitter {
    constructor (opts?: { bootstrap?: Array<string | { host: string, port: number }> | undefined, host?: string | undefined, port?: number, ephemeral?: boolean, firewalled?: boolean, keyPair?: { publicKey: Buffer, secretKey: Buffer } })
    readonly destroyed: boolean
    readonly bootstrapNodes: Array<{ host: string, port: number }>
    ready (): Promise<void>
    fullyBootstrapped (): Promise<void>
    address (): { host: string, port: number }
    destroy (opts?: { force?: boolean }): Promise<void>
    static keyPair (seed?: Buffer): { publicKey: Buffer, secretKey: Buffer }
  }
  export default HyperDHT
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'

  interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string, port: number }>
    createNode (opts?: Record<string, unknown>): HyperDHT
    destroy (): Promise<void>
  }
  function createTestnet (size?: number, opts?: { host?: string, port?: number, bootstrap?: Array<{ host: string, port: number }> }): Promise<Testnet>
  export default createTestnet
  export type { Testnet }
}
