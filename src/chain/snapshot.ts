/**
 * Snapshot layout of the engine state (version 1). All integers are LEB128 varints (see codec.ts);
 * "+1" fields store -1 as 0. Local writer indexes are kept as they were, so a restored engine is
 * the same state, not a re-derivation.
 *
 *   version(=1)  chainKey:bytes  creator  finalLength  finalHash:bytes  lastCommitted+1
 *   halted?(0|1) [reason:string]
 *   W, then per writer (local index order):
 *     key[32]  flags(member 1 | removed 2 | listed 4 | candidate 8 | forked 16)  addedAt+1
 *     [candidate: w seq]  [forkedAt]  length  ordered  base
 *     length-base retained blocks, each:
 *       clock  round+1  entries  blockFlags  hash:bytes
 *       vc: 0 = the previous retained block's array, else len+1 then len values
 *       ops: count, then per op kind(0 add writer | 1 add indexer | 2 remove) key[32] index
 *     witnesses: count, then (round, seq) pairs
 *   epoch: no  n  set[n]  cutLength  cut[cutLength]
 */
import { err } from '../errors.js'
import { ByteReader, ByteWriter } from './codec.js'
import { makeEpoch } from './rounds.js'
import { WitnessList } from './witness-list.js'
import { bytesToKey, keyToBytes, type BlockMeta, type CoreState, type IndexedOp, type WriterState } from './state.js'

const VERSION = 1

/** Serializes the engine state. */
export function encodeSnapshot (st: CoreState): Uint8Array {
  const w = new ByteWriter()
  w.uint(VERSION)
  w.bytes(st.chainKey)
  w.uint(st.creator)
  w.uint(st.finalLength)
  w.bytes(st.finalHash)
  w.uint(st.lastCommitted + 1)
  w.uint(st.halted === null ? 0 : 1)
  if (st.halted !== null) w.string(st.halted)
  w.uint(st.writers.length)
  for (const s of st.writers) {
    w.fixed(s.keyBytes)
    const flags = (s.member ? 1 : 0) | (s.removed ? 2 : 0) | (s.listed ? 4 : 0) | (s.candidate !== null ? 8 : 0) | (s.forkedAt !== null ? 16 : 0)
    w.uint(flags)
    w.uint(s.addedAt + 1)
    if (s.candidate !== null) {
      w.uint(s.candidate.w)
      w.uint(s.candidate.seq)
    }
    if (s.forkedAt !== null) w.uint(s.forkedAt)
    w.uint(s.length)
    w.uint(s.ordered)
    w.uint(s.base)
    let prevVc: Int32Array | null = null
    for (const b of s.blocks) {
      w.uint(b.clock)
      w.uint(b.round + 1)
      w.uint(b.entries)
      w.uint(b.flags)
      w.bytes(b.hash)
      if (b.vc === prevVc) {
        w.uint(0)
      } else {
        w.uint(b.vc.length + 1)
        for (const x of b.vc) w.uint(Math.max(0, x))
      }
      prevVc = b.vc
      const ops = b.ops ?? []
      w.uint(ops.length)
      for (const op of ops) {
        w.uint(op.op === 'remove' ? 2 : op.indexer ? 1 : 0)
        w.fixed(keyToBytes(op.key))
        w.uint(op.index)
      }
    }
    w.uint(s.witness.size)
    for (const [r, seq] of s.witness.entries()) {
      w.uint(r)
      w.uint(seq)
    }
  }
  w.uint(st.epoch.no)
  w.uint(st.epoch.set.length)
  for (const i of st.epoch.set) w.uint(i)
  w.uint(st.epoch.cut.length)
  for (const x of st.epoch.cut) w.uint(x)
  return w.finish()
}

/** Parses snapshot bytes; throws STORAGE_CORRUPT on anything malformed or inconsistent. */
export function decodeSnapshot (bytes: Uint8Array): CoreState {
  const r = new ByteReader(bytes)
  const version = r.uint()
  if (version !== VERSION) throw err('STORAGE_CORRUPT', `unsupported consensus snapshot version ${version}`)
  const chainKey = r.bytes()
  const creator = r.uint()
  const finalLength = r.uint()
  const finalHash = r.bytes()
  const lastCommitted = r.uint() - 1
  const halted = r.bounded(1, 'halted flag') === 1 ? r.string() : null
  const W = r.uint()
  if (creator >= W) throw err('STORAGE_CORRUPT', 'consensus snapshot: creator index out of range')
  const writers: WriterState[] = []
  for (let index = 0; index < W; index++) {
    const keyBytes = r.fixed(32)
    const flags = r.bounded(31, 'writer flags')
    const addedAt = r.uint() - 1
    const candidate = (flags & 8) !== 0 ? { w: r.bounded(W - 1, 'candidate writer'), seq: r.uint() } : null
    const forkedAt = (flags & 16) !== 0 ? r.uint() : null
    const length = r.uint()
    const ordered = r.bounded(length, 'ordered length')
    const base = r.bounded(ordered, 'retained base')
    const blocks: BlockMeta[] = []
    let prevVc: Int32Array | null = null
    for (let seq = base; seq < length; seq++) {
      const clock = r.uint()
      const round = r.uint() - 1
      const entries = r.uint()
      const bflags = r.bounded(7, 'block flags')
      const hash = r.bytes()
      const tag = r.bounded(W + 1, 'vector clock width')
      let vc: Int32Array
      if (tag === 0) {
        if (prevVc === null) throw err('STORAGE_CORRUPT', 'consensus snapshot: shared vector clock without a previous block')
        vc = prevVc
      } else {
        vc = new Int32Array(tag - 1)
        for (let u = 0; u < vc.length; u++) vc[u] = r.bounded(0x7fffffff, 'vector clock entry')
      }
      prevVc = vc
      const nops = r.uint()
      let ops: IndexedOp[] | null = null
      if (nops > 0) {
        ops = []
        for (let k = 0; k < nops; k++) {
          const kind = r.bounded(2, 'op kind')
          const key = bytesToKey(r.fixed(32))
          const opIndex = r.uint()
          ops.push(kind === 2 ? { op: 'remove', key, index: opIndex } : { op: 'add', key, indexer: kind === 1, index: opIndex })
        }
      }
      blocks.push({ w: index, seq, vc, clock, round, entries, flags: bflags, ops, hash })
    }
    const witness = new WitnessList()
    const nw = r.uint()
    let lastRound = -1
    for (let k = 0; k < nw; k++) {
      const round = r.uint()
      const seq = r.uint()
      if (seq < base || seq >= length || round <= lastRound) throw err('STORAGE_CORRUPT', 'consensus snapshot: bad witness')
      witness.push(round, seq)
      lastRound = round
    }
    writers.push({
      member: (flags & 1) !== 0,
      removed: (flags & 2) !== 0,
      listed: (flags & 4) !== 0,
      addedAt,
      candidate,
      key: bytesToKey(keyBytes),
      keyBytes,
      index,
      rank: 0,
      blocks,
      base,
      length,
      ordered,
      forkedAt,
      pending: 0,
      witness
    })
  }
  const no = r.uint()
  const n = r.bounded(W, 'indexer count')
  if (n === 0) throw err('STORAGE_CORRUPT', 'consensus snapshot: empty indexer set')
  const set: number[] = []
  for (let k = 0; k < n; k++) set.push(r.bounded(W - 1, 'indexer'))
  const cut = new Int32Array(r.bounded(W, 'cut width'))
  for (let u = 0; u < cut.length; u++) cut[u] = r.bounded(0x7fffffff, 'cut entry')
  r.end()
  const keys = new Set(writers.map((s) => s.key))
  if (keys.size !== writers.length) throw err('STORAGE_CORRUPT', 'consensus snapshot: duplicate writer key')
  // the epoch's set is stored sorted by key; re-sort defensively so a hand-edited file cannot break ordering
  set.sort((a, b) => ((writers[a] as WriterState).key < (writers[b] as WriterState).key ? -1 : 1))
  return { chainKey, creator, writers, epoch: makeEpoch(no, set, cut), lastCommitted, finalLength, finalHash, halted }
}
