/**
 * A feedchain storage directory: one Corestore (locked by one process at a time) plus a small
 * registry of the chains it holds, so the CLI and the daemon know which chains to open.
 */
import fs from 'node:fs'
import path from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import Hyperbee from 'hyperbee'
import { err, FeedchainError } from './errors.js'

/** One chain this storage follows. */
export interface ChainRecord {
  /** chain key, lowercase hex */
  key: string
  name: string
  /** ms since epoch when this storage created or joined the chain */
  addedAt: number
  /** true if this storage created the chain */
  creator: boolean
}

/** Options of Storage.open. */
export interface StorageOptions {
  /** create the directory if it does not exist (init, join); otherwise a missing dir is an error */
  create?: boolean
}

/**
 * How RocksDB replays its write-ahead log on open (rocksdb-native's constants.walRecoveryMode).
 * Its default, point-in-time recovery, stops silently at the first damaged record: a store
 * whose log was corrupted reopens at an older state, and this user's next append would fork the
 * feed peers already hold. Tolerating only an incomplete tail (a write cut short by a crash)
 * makes any other damage fail the open, which maps to STORAGE_CORRUPT.
 */
const WAL_RECOVERY_MODE = 0 // TOLERATE_CORRUPTED_TAIL_RECORDS

/**
 * RocksDB settings for a feedchain store (hypercore-storage passes them to its column family).
 * Measured on a 1 GiB download between two processes (bench/transfer.js, 2 cores):
 * - writeBufferSize: the memtable. File blocks sit in it until a flush moves them to blob files,
 *   and two of them can be in memory at once, so hypercore-storage's 64 MiB costs up to 128 MB
 *   of RSS. 8 MiB: the receiver's peak was 181–191 MB in two runs, 192–208 MB with 16 MiB, at
 *   the same speed (with allocator.ts's setting; compactions are cheap without blob GC, below).
 * - blobGarbageCollectionAgeCutOff 0: no relocation of old blobs during compaction. With small
 *   memtables, compactions are frequent and hypercore-storage's 0.25 copied file blocks again
 *   and again (5.6 s of compaction CPU per GiB received; 50 → 56 MB/s without it). Block values
 *   are never rewritten; the only blobs that are, 4 KiB bitfield pages, free their blob file once
 *   all of it is garbage. Measured: 80,000 single appends plus 200 MiB of blocks took the same
 *   disk space (231 MB) with 0 as with 0.25.
 */
export const ROCKSDB_OPTIONS = { writeBufferSize: 8 * 1024 * 1024, blobGarbageCollectionAgeCutOff: 0 }

/** Open storage: the Corestore and the chain registry. Close it to release the lock. */
export class Storage {
  readonly dir: string
  readonly store: Corestore
  private readonly registry: Hyperbee<string, ChainRecord>

  private constructor (dir: string, store: Corestore, registry: Hyperbee<string, ChainRecord>) {
    this.dir = dir
    this.store = store
    this.registry = registry
  }

  /** Open (or create) the storage at `dir`. Fails fast with STORE_LOCKED if another process has it. */
  static async open (dir: string, opts: StorageOptions = {}): Promise<Storage> {
    const abs = path.resolve(dir)
    checkDir(abs, opts.create === true)
    const store = new Corestore(Hypercore.defaultStorage(path.join(abs, 'corestore'), { ...ROCKSDB_OPTIONS, walRecoveryMode: WAL_RECOVERY_MODE }))
    try {
      await store.ready()
      const registry = new Hyperbee<string, ChainRecord>(store.get({ name: 'feedchain/registry' }), { keyEncoding: 'utf-8', valueEncoding: 'json' })
      await registry.ready()
      return new Storage(abs, store, registry)
    } catch (e) {
      await store.close().catch(() => {})
      throw mapStoreError(e, abs)
    }
  }

  /** The chains this storage follows, oldest first. */
  async chains (): Promise<ChainRecord[]> {
    const out: ChainRecord[] = []
    for await (const { value } of this.registry.createReadStream()) out.push(value)
    return out.sort((a, b) => a.addedAt - b.addedAt)
  }

  /** The record of one chain, or null. */
  async chain (keyHex: string): Promise<ChainRecord | null> {
    const node = await this.registry.get(keyHex)
    return node === null ? null : node.value
  }

  /** Record that this storage follows a chain (idempotent). */
  async addChain (rec: ChainRecord): Promise<void> {
    if (await this.chain(rec.key) !== null) return
    await this.registry.put(rec.key, rec)
  }

  /** Close the store and release the lock. */
  async close (): Promise<void> {
    await this.registry.close().catch(() => {})
    await this.store.close()
  }
}

function checkDir (abs: string, create: boolean): void {
  let st: fs.Stats | null = null
  try {
    st = fs.statSync(abs)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') throw err('STORAGE_NOT_DIRECTORY', `storage path ${abs} is below a file, not a directory`)
    if (code !== 'ENOENT') throw err('STORAGE_MISSING', `cannot read storage ${abs}: ${(e as Error).message}`)
  }
  if (st === null) {
    if (!create) throw err('STORAGE_MISSING', `no feedchain storage at ${abs}: run \`feedchain init\` or \`feedchain join <key>\` first`)
    fs.mkdirSync(abs, { recursive: true })
    return
  }
  if (!st.isDirectory()) throw err('STORAGE_NOT_DIRECTORY', `storage path ${abs} is not a directory`)
  if (!create && !fs.existsSync(path.join(abs, 'corestore'))) {
    throw err('STORAGE_MISSING', `${abs} holds no feedchain storage: run \`feedchain init\` or \`feedchain join <key>\` first`)
  }
}

/** Turn failures of the underlying store into their codes (STORE_LOCKED, STORAGE_COPIED, STORAGE_CORRUPT); keep other errors. */
export function mapStoreError (e: unknown, dir: string): Error {
  if (e instanceof FeedchainError) return e
  const msg = e instanceof Error ? e.message : String(e)
  if ((e as { code?: unknown }).code === 'DEVICE_FILE') {
    // hypercore-storage pins the store to its file (inode, extended attribute): a copy or a
    // restored backup could append below what peers already hold and fork this user's feed
    return err('STORAGE_COPIED', `storage ${dir} was copied or restored from elsewhere (${msg.replace(/^Invalid device file, /, '')}); ` +
      'use the original directory (mv within one filesystem keeps it valid), or start a new storage and `feedchain join` the chain', e)
  }
  if (/could not be locked|\block\b/i.test(msg)) { // not "block": RocksDB's "block checksum mismatch" is damage
    return err('STORE_LOCKED', `storage ${dir} is in use by another feedchain process (a running daemon?)`, e)
  }
  const damage = storageFault(e, dir)
  if (damage !== null) return damage
  return e instanceof Error ? e : new Error(msg)
}

/**
 * STORAGE_CORRUPT if `e` is RocksDB reporting damaged data (a log, manifest, table or blob file
 * that fails its checksum or does not parse), at open or on a later read; else null. RocksDB
 * reports these as EIO with its own message.
 */
export function storageFault (e: unknown, dir?: string): FeedchainError | null {
  if (e instanceof FeedchainError || !(e instanceof Error)) return null
  const damaged = (e as { code?: unknown }).code === 'EIO' ||
    /\bcorrupt|checksum mismatch|crc mismatch|magic number mismatch|truncated record/i.test(e.message)
  if (!damaged) return null
  const where = dir === undefined ? 'storage' : `storage ${dir}`
  return err('STORAGE_CORRUPT', `${where} is corrupt (${e.message.replace(/\s+/g, ' ').trim()}); ` +
    'start a new storage and `feedchain join` the chain to fetch it again from peers', e)
}
