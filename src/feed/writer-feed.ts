/**
 * One writer's feed (a Hypercore) as the node sees it: reads blocks in parallel, decodes them
 * into what the consensus layer needs, and remembers recent block hashes for pin checks.
 */
import type Hypercore from 'hypercore'
import type { BlockInput, MembershipOp, WriterKey } from '../chain/types.js'
import { hash, toHex } from './keys.js'
import { decodeBlock, decodeMembership, EntryType, validEntries, type Block } from './schema.js'

/** A decoded block, ready for the consensus layer, plus what the node keeps of it. */
export interface IngestedBlock {
  input: BlockInput
  /** hash pins of the heads, checked before the block is fed */
  pins: Array<{ writer: WriterKey, length: number, hash: Uint8Array }>
  /** why the block was judged invalid (undecodable, oversized, broken rule), if it was */
  problem: string | null
  /** entries dropped from an otherwise valid block, with the reason */
  skipped: Array<{ index: number, reason: string }>
}

/** How many recent block hashes each feed keeps for pin checks (older ones are re-read). */
const HASH_CACHE = 4096
/** Blocks read concurrently when catching up (parallel gets, not one awaited get at a time). */
const READ_CONCURRENCY = 64

/** A writer feed wrapper. */
export class WriterFeed {
  core: Hypercore
  readonly hex: WriterKey
  private readonly hashes = new Map<number, Uint8Array>()

  constructor (core: Hypercore) {
    if (core.key === null) throw new Error('writer feed core must be ready before wrapping')
    this.core = core
    this.hex = toHex(core.key)
  }

  /** Swap in a new session of the same feed (after Hypercore closed the old one on a fork). */
  replaceCore (core: Hypercore): void {
    if (core.key === null || toHex(core.key) !== this.hex) throw new Error('replacement core has another key')
    this.core = core
  }

  /** Blocks stored locally from 0 without a gap. */
  get available (): number {
    return this.core.contiguousLength
  }

  /** Read blocks [start, end) that are stored locally, concurrently. */
  async readRange (start: number, end: number): Promise<Buffer[]> {
    const out: Buffer[] = new Array(Math.max(0, end - start))
    for (let s = start; s < end; s += READ_CONCURRENCY) {
      const e = Math.min(end, s + READ_CONCURRENCY)
      const part = await Promise.all(Array.from({ length: e - s }, (_, i) => this.core.get(s + i, { wait: false })))
      part.forEach((b, i) => {
        if (b === null) throw new Error(`block ${s + i} of ${this.hex.slice(0, 8)} is not stored locally`)
        out[s - start + i] = b
      })
    }
    return out
  }

  /** Hash of block seq: from the cache, or read and hashed (null if not stored locally). */
  async blockHash (seq: number): Promise<Uint8Array | null> {
    const h = this.hashes.get(seq)
    if (h !== undefined) return h
    const b = await this.core.get(seq, { wait: false })
    if (b === null) return null
    const x = hash([b])
    this.remember(seq, x)
    return x
  }

  /** Cached hash of block seq, if known. */
  cachedHash (seq: number): Uint8Array | undefined {
    return this.hashes.get(seq)
  }

  /** Remember the hash of a block (fed or appended). */
  remember (seq: number, h: Uint8Array): void {
    this.hashes.set(seq, h)
    if (this.hashes.size > HASH_CACHE) {
      const oldest = this.hashes.keys().next().value
      if (oldest !== undefined) this.hashes.delete(oldest)
    }
  }

  /** Turn the bytes of block seq into consensus input. Never throws on bad bytes. */
  ingest (seq: number, bytes: Uint8Array): IngestedBlock {
    const h = hash([bytes])
    this.remember(seq, h)
    const decoded = decodeBlock(bytes)
    if ('error' in decoded) return invalidBlock(this.hex, seq, h, decoded.error)
    return fromBlock(this.hex, seq, h, decoded.block)
  }
}

function invalidBlock (writer: WriterKey, seq: number, h: Uint8Array, problem: string): IngestedBlock {
  return {
    input: { writer, seq, heads: [], entries: 0, membership: [], join: false, hash: h, invalid: true },
    pins: [],
    problem,
    skipped: [],
  }
}

/** Consensus input of a decoded block (exported for the node's own appends). */
export function fromBlock (writer: WriterKey, seq: number, h: Uint8Array, block: Block): IngestedBlock {
  const seen = new Set<string>()
  const pins: IngestedBlock['pins'] = []
  for (const head of block.heads) {
    const w = toHex(head.writer)
    if (w === writer) return invalidBlock(writer, seq, h, 'block links its own feed as a head')
    if (seen.has(w)) return invalidBlock(writer, seq, h, 'block links one writer twice')
    if (head.length === 0) return invalidBlock(writer, seq, h, 'block links an empty feed')
    seen.add(w)
    pins.push({ writer: w, length: head.length, hash: head.hash })
  }
  const { entries, skipped } = validEntries(block)
  const membership: Array<MembershipOp & { index: number }> = []
  let join = false
  entries.forEach((e, index) => {
    if (e.type === EntryType.MEMBERSHIP) {
      const m = decodeMembership(e.payload)
      const key = toHex(m.key)
      membership.push(m.op === 'add' ? { op: 'add', key, indexer: m.indexer, index } : { op: 'remove', key, index })
    } else if (e.type === EntryType.JOIN) {
      join = true
    }
  })
  return {
    input: {
      writer,
      seq,
      heads: pins.map((p) => ({ writer: p.writer, length: p.length })),
      entries: entries.length,
      membership,
      join,
      hash: h,
      claimedClock: block.clock,
    },
    pins,
    problem: null,
    skipped,
  }
}
