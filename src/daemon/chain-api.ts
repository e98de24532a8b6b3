/**
 * What a CLI command can do with one chain. Two implementations: LocalChain (a ChainNode in this
 * process) and RemoteChain (the same calls through a running daemon's socket). The daemon serves
 * its requests with LocalChain, so both paths run the same code and print the same output.
 */
import type { AppendResult, ChainEntry, ChainStatus, EntryTypeName, VerifyReport } from '../node.js'
import type { BanRecord } from '../net/network.js'

/** `status` as the CLI prints it: the node's status plus where it is stored. */
export interface StatusReport extends ChainStatus {
  /** the storage directory */
  storage: string
  /** how many chains the storage follows */
  chains: number
  /** peers the network of this process (the daemon's) has banned; empty without a network */
  bans: BanRecord[]
}

/** Which entries a read or follow keeps besides positions (every condition given must hold); plain JSON for the wire. */
export interface EntryQuery {
  /** only entries of this writer: its key, 64 lowercase hex */
  writer?: string
  /** only entries of these types */
  types?: EntryTypeName[]
  /** only entries written at or after this wall-clock time, ms */
  sinceTime?: number
}

/**
 * Which entries to read: positions [start, end) that match the query, or the last `last` of
 * them (still oldest first); `final` stops at the final prefix (final entries only).
 */
export interface ReadRange extends EntryQuery {
  start?: number
  end?: number
  last?: number
  final?: boolean
}

/** An entry with the chain hash after it (null while pending), as `show` prints it. */
export type PositionedEntry = ChainEntry & { hash: string | null }

/** Options of a sync (catch-up) wait. Times in ms. */
export interface SyncOptions {
  /** give up with TIMEOUT after this long */
  timeout: number
  /** report progress (at most a few times per second, and on every change of a count) */
  onProgress?: ((p: SyncProgress) => void) | undefined
  signal?: AbortSignal | undefined
}

/** Where a sync stands. */
export interface SyncProgress {
  /** connected peers replicating the chain */
  peers: number
  length: number
  finalLength: number
  pending: number
  /** blocks connected peers have that this node has not stored yet, over all writers */
  lag: number
  /** blocks of this user's feed no connected peer holds yet (0 when no peer replicates it) */
  unsent: number
  writers: number
  caughtUp: boolean
  /** ms since the sync started */
  elapsed: number
}

/** The result of a sync that caught up. */
export interface SyncResult extends SyncProgress {
  key: string
  writerKey: string
  name: string
  head: string
}

/** A chain created or joined: what init and join print. */
export interface ChainInfo {
  key: string
  writerKey: string
  name: string
  storage: string
}

/** Options of follow (`log -f`); the query filters both the entries listed first and the live ones. */
export interface FollowOptions extends EntryQuery {
  /** start with the last N (matching) entries (null: the whole chain) */
  last: number | null
  /** no entry before this position (default 0) */
  start?: number
  /** final entries only: no pending previews */
  final?: boolean
  signal: AbortSignal
}

/** One chain, in this process or in the daemon. */
export interface ChainApi {
  readonly key: Buffer
  readonly writerKey: Buffer
  /** the storage directory */
  readonly storage: string
  /** the chain's name (may be empty until its genesis is synced) */
  name (): Promise<string>
  status (): Promise<StatusReport>
  /** Append entries (one block per batch of ≤ 1,000 entries / 256 KiB). */
  append (entries: Array<string | Buffer>): Promise<AppendResult>
  /** Entries in a range, oldest first, streamed. */
  read (range: ReadRange, signal?: AbortSignal): AsyncIterable<ChainEntry>
  /** One entry and the chain hash after it; null if there is no entry at that position. */
  get (position: number): Promise<PositionedEntry | null>
  addWriter (key: Buffer, opts: { indexer: boolean }): Promise<AppendResult>
  removeWriter (key: Buffer): Promise<AppendResult>
  /**
   * The chain as `log` shows it, then live: each entry once more when it becomes final (in
   * position order, every final position exactly once), and new pending entries as they appear
   * (final: false). Ends when the signal aborts.
   */
  follow (opts: FollowOptions): AsyncIterable<ChainEntry>
  /** Wait until caught up (see sync.ts); TIMEOUT after `timeout` ms. Needs a network. */
  sync (opts: SyncOptions): Promise<SyncResult>
  /** Audit every core of the chain stored here and recompute the chain hash (ChainNode.verify). */
  verify (): Promise<VerifyReport>
}
