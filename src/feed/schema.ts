/**
 * The wire format of a writer feed block (design §3), encoded with compact-encoding.
 *
 *   block   = version:uint clock:uint heads:array(head) time:uint entries:array(entry)
 *   head    = writer:fixed32 length:uint hash:fixed32
 *   entry   = type:uint payload:buffer
 *
 * Entry payloads are encoded separately (per type) inside `payload`, so one malformed entry is
 * skipped on its own while the rest of the block still counts.
 */
import c from 'compact-encoding'
import { err } from '../errors.js'

/** The block schema version this build writes and the only one it reads. */
export const BLOCK_VERSION = 1

/** Largest payload of one entry, in bytes (1 MiB): larger data goes through file blobs. */
export const MAX_ENTRY_SIZE = 1024 * 1024
/** A batch is cut into blocks of at most this many entries... */
export const MAX_BATCH_ENTRIES = 1000
/** ...and at most this many payload bytes (256 KiB), unless one entry alone is larger. */
export const MAX_BATCH_BYTES = 256 * 1024
/** Largest block accepted from a peer (one maximal entry plus generous room for heads). */
export const MAX_BLOCK_SIZE = MAX_ENTRY_SIZE + 64 * 1024

/** Entry types. An ACK block is a block with no entries. */
export const EntryType = {
  DATA: 1,
  FILE: 2,
  MEMBERSHIP: 3,
  JOIN: 4,
  GENESIS: 5,
} as const
/** One of the EntryType values. */
export type EntryTypeValue = typeof EntryType[keyof typeof EntryType]

/** Lower-case names of the entry types, as the CLI prints them. */
export const ENTRY_TYPE_NAMES: Record<number, string> = {
  1: 'data', 2: 'file', 3: 'membership', 4: 'join', 5: 'genesis',
}

/** A causal link to another writer's feed, pinned by the hash of the linked block. */
export interface BlockHead {
  writer: Uint8Array
  length: number
  hash: Uint8Array
}

/** One entry as stored: a type and its encoded payload. */
export interface RawEntry {
  type: number
  payload: Uint8Array
}

/** A decoded block. */
export interface Block {
  version: number
  clock: number
  heads: BlockHead[]
  /** Wall-clock ms when written: informational only, never used for ordering. */
  time: number
  entries: RawEntry[]
}

const head = {
  preencode (state: c.State, h: BlockHead) {
    c.fixed32.preencode(state, h.writer)
    c.uint.preencode(state, h.length)
    c.fixed32.preencode(state, h.hash)
  },
  encode (state: c.State, h: BlockHead) {
    c.fixed32.encode(state, h.writer)
    c.uint.encode(state, h.length)
    c.fixed32.encode(state, h.hash)
  },
  decode (state: c.State): BlockHead {
    return { writer: c.fixed32.decode(state), length: c.uint.decode(state), hash: c.fixed32.decode(state) }
  },
}

const entry = {
  preencode (state: c.State, e: RawEntry) {
    c.uint.preencode(state, e.type)
    c.buffer.preencode(state, e.payload)
  },
  encode (state: c.State, e: RawEntry) {
    c.uint.encode(state, e.type)
    c.buffer.encode(state, e.payload)
  },
  decode (state: c.State): RawEntry {
    const type = c.uint.decode(state)
    const payload = c.buffer.decode(state)
    return { type, payload }
  },
}

const heads = c.array(head)
const entries = c.array(entry)

/** compact-encoding codec for a whole block. */
export const blockEncoding = {
  preencode (state: c.State, b: Block) {
    c.uint.preencode(state, b.version)
    c.uint.preencode(state, b.clock)
    heads.preencode(state, b.heads)
    c.uint.preencode(state, b.time)
    entries.preencode(state, b.entries)
  },
  encode (state: c.State, b: Block) {
    c.uint.encode(state, b.version)
    c.uint.encode(state, b.clock)
    heads.encode(state, b.heads)
    c.uint.encode(state, b.time)
    entries.encode(state, b.entries)
  },
  decode (state: c.State): Block {
    const version = c.uint.decode(state)
    if (version !== BLOCK_VERSION) throw err('UNSUPPORTED_VERSION', `unsupported block version ${version} (this build reads ${BLOCK_VERSION})`)
    return {
      version,
      clock: c.uint.decode(state),
      heads: heads.decode(state),
      time: c.uint.decode(state),
      entries: entries.decode(state),
    }
  },
}

/** Encode a block to bytes. */
export function encodeBlock (b: Block): Uint8Array {
  return c.encode(blockEncoding, b)
}

/**
 * Decode a block received from a feed. Never throws for bad bytes from a peer: returns the
 * reason instead, so one bad block is reported and skipped, never crashing the node.
 */
export function decodeBlock (bytes: Uint8Array): { block: Block } | { error: string } {
  if (bytes.byteLength > MAX_BLOCK_SIZE) return { error: `block of ${bytes.byteLength} bytes is over the ${MAX_BLOCK_SIZE}-byte limit` }
  try {
    const state = c.state(0, bytes.byteLength, bytes)
    const block = blockEncoding.decode(state)
    if (state.start !== state.end) return { error: `${state.end - state.start} trailing bytes after the block` }
    return { block }
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) }
  }
}

// ---- entry payloads ----

/** MEMBERSHIP entry payload. */
export interface MembershipPayload {
  op: 'add' | 'remove'
  key: Uint8Array
  indexer: boolean
}

const membershipEncoding = {
  preencode (state: c.State, m: MembershipPayload) {
    c.uint.preencode(state, 0)
    c.fixed32.preencode(state, m.key)
    c.bool.preencode(state, m.indexer)
  },
  encode (state: c.State, m: MembershipPayload) {
    c.uint.encode(state, m.op === 'add' ? 1 : 2)
    c.fixed32.encode(state, m.key)
    c.bool.encode(state, m.indexer)
  },
  decode (state: c.State): MembershipPayload {
    const op = c.uint.decode(state)
    if (op !== 1 && op !== 2) throw new Error('unknown membership op ' + op)
    return { op: op === 1 ? 'add' : 'remove', key: c.fixed32.decode(state), indexer: c.bool.decode(state) }
  },
}

/** GENESIS entry payload: the chain's name and its creator's writer key. */
export interface GenesisPayload {
  name: string
  creator: Uint8Array
}

const genesisEncoding = {
  preencode (state: c.State, g: GenesisPayload) {
    c.string.preencode(state, g.name)
    c.fixed32.preencode(state, g.creator)
  },
  encode (state: c.State, g: GenesisPayload) {
    c.string.encode(state, g.name)
    c.fixed32.encode(state, g.creator)
  },
  decode (state: c.State): GenesisPayload {
    return { name: c.string.decode(state), creator: c.fixed32.decode(state) }
  },
}

/** FILE entry payload (design §6): where the bytes live in the author's blob core. */
export interface FilePayload {
  name: string
  size: number
  mime: string
  blobsKey: Uint8Array
  blockOffset: number
  blockLength: number
  byteOffset: number
  byteLength: number
  /** blake2b-256 of the whole file */
  hash: Uint8Array
}

const fileEncoding = {
  preencode (state: c.State, f: FilePayload) {
    c.string.preencode(state, f.name)
    c.uint.preencode(state, f.size)
    c.string.preencode(state, f.mime)
    c.fixed32.preencode(state, f.blobsKey)
    c.uint.preencode(state, f.blockOffset)
    c.uint.preencode(state, f.blockLength)
    c.uint.preencode(state, f.byteOffset)
    c.uint.preencode(state, f.byteLength)
    c.fixed32.preencode(state, f.hash)
  },
  encode (state: c.State, f: FilePayload) {
    c.string.encode(state, f.name)
    c.uint.encode(state, f.size)
    c.string.encode(state, f.mime)
    c.fixed32.encode(state, f.blobsKey)
    c.uint.encode(state, f.blockOffset)
    c.uint.encode(state, f.blockLength)
    c.uint.encode(state, f.byteOffset)
    c.uint.encode(state, f.byteLength)
    c.fixed32.encode(state, f.hash)
  },
  decode (state: c.State): FilePayload {
    return {
      name: c.string.decode(state),
      size: c.uint.decode(state),
      mime: c.string.decode(state),
      blobsKey: c.fixed32.decode(state),
      blockOffset: c.uint.decode(state),
      blockLength: c.uint.decode(state),
      byteOffset: c.uint.decode(state),
      byteLength: c.uint.decode(state),
      hash: c.fixed32.decode(state),
    }
  },
}

function decodeWhole<T> (enc: { decode (s: c.State): T }, bytes: Uint8Array): T {
  const state = c.state(0, bytes.byteLength, bytes)
  const v = enc.decode(state)
  if (state.start !== state.end) throw new Error('trailing bytes in entry payload')
  return v
}

/** Encode a MEMBERSHIP payload. */
export function encodeMembership (m: MembershipPayload): Uint8Array { return c.encode(membershipEncoding, m) }
/** Decode a MEMBERSHIP payload; throws on malformed bytes. */
export function decodeMembership (b: Uint8Array): MembershipPayload { return decodeWhole(membershipEncoding, b) }
/** Encode a GENESIS payload. */
export function encodeGenesis (g: GenesisPayload): Uint8Array { return c.encode(genesisEncoding, g) }
/** Decode a GENESIS payload; throws on malformed bytes. */
export function decodeGenesis (b: Uint8Array): GenesisPayload { return decodeWhole(genesisEncoding, b) }
/** Encode a FILE payload. */
export function encodeFile (f: FilePayload): Uint8Array { return c.encode(fileEncoding, f) }
/** Decode a FILE payload; throws on malformed bytes. */
export function decodeFile (b: Uint8Array): FilePayload { return decodeWhole(fileEncoding, b) }

/**
 * The entries of a block that count in the chain view, with the reason for each one left out.
 * The filter is a pure function of the block bytes, so every peer counts the same entries.
 */
export function validEntries (block: Block): { entries: RawEntry[], skipped: Array<{ index: number, reason: string }> } {
  const out: RawEntry[] = []
  const skipped: Array<{ index: number, reason: string }> = []
  block.entries.forEach((e, index) => {
    const reason = entryProblem(e)
    if (reason === null) out.push(e)
    else skipped.push({ index, reason })
  })
  return { entries: out, skipped }
}

function entryProblem (e: RawEntry): string | null {
  if (e.payload.byteLength > MAX_ENTRY_SIZE) return `entry of ${e.payload.byteLength} bytes is over the ${MAX_ENTRY_SIZE}-byte limit`
  try {
    switch (e.type) {
      case EntryType.DATA: return e.payload.byteLength === 0 ? 'empty data entry' : null
      case EntryType.FILE: decodeFile(e.payload); return null
      case EntryType.MEMBERSHIP: decodeMembership(e.payload); return null
      case EntryType.JOIN: return null
      case EntryType.GENESIS: decodeGenesis(e.payload); return null
      default: return `unknown entry type ${e.type}`
    }
  } catch (x) {
    return `malformed ${ENTRY_TYPE_NAMES[e.type] ?? ''} payload: ${x instanceof Error ? x.message : String(x)}`
  }
}
