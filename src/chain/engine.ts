/**
 * ChainEngine: the consensus layer of design §4 over writer feeds — vector clocks, derived
 * rounds, anchors, the commit rule with walk-back, k-way-merged segments, membership epochs,
 * the chain hash, the ack policy, pruning and snapshots. Pure: no I/O, no timers, no clock.
 *
 * Cost model: `add` is O(W · new heads); `process` does work proportional to the witnesses and
 * blocks that changed (candidate anchor rounds are tracked incrementally, segments are k-way
 * merges of the unordered runs); memory is the unordered blocks plus a short suffix per writer
 * (see `prune`), not the chain.
 */
import { err } from '../errors.js'
import { decideAck } from './ack-policy.js'
import { ChainHasher, genesisHash } from './chain-hash.js'
import { applyOp, maybeActivate, nonMember, sameSet } from './membership.js'
import { mergeRuns, type Run } from './merge.js'
import { cutOf, isAnchorRound, leaderOf, makeEpoch, roundFrom, type Epoch } from './rounds.js'
import { RoundQueue } from './round-queue.js'
import { decodeSnapshot, encodeSnapshot } from './snapshot.js'
import { F_INVALID, F_JOIN, F_SUBSTANTIVE, isWriterKey, keyToBytes, type BlockMeta, type CoreState, type IndexedOp, type WriterState } from './state.js'
import type { AckDecision, BlockInput, EngineWarning, FinalBlock, HashFn, Head, Segment, SkipReason, WriterInfo, WriterKey } from './types.js'
import { WitnessList } from './witness-list.js'
import { EMPTY_VC, plusVector, vcAt, vcAtPlus, widen } from './vector-clock.js'

/** Options of a new engine. */
export interface EngineOptions {
  chainKey: Uint8Array
  creator: WriterKey
  hash: HashFn
  /**
   * Indexers of epoch 0 (default: the creator alone, as a chain starts). All are members from the
   * start. For chains whose genesis fixes several indexers, and for tests of the ordering core.
   */
  indexers?: WriterKey[]
  /** Prune retained blocks after this many blocks became final (default 1024). */
  pruneInterval?: number
  /** Extra final blocks kept per writer below what the pruning rule needs (default 64). */
  keepFinal?: number
}

/** Options of {@link ChainEngine.restore}. */
export type RestoreOptions = Omit<EngineOptions, 'chainKey' | 'creator' | 'indexers'>

const MAX_WARNINGS = 1000

/** The consensus engine of one chain on one peer. */
export class ChainEngine {
  private readonly hashFn: HashFn
  private readonly hasher: ChainHasher
  private readonly pruneInterval: number
  private readonly keepFinal: number
  private chainKeyBytes: Uint8Array
  private creatorIndex = 0
  private ws: WriterState[] = []
  private byKey = new Map<string, WriterState>()
  /** Writers in key order (kept by rerank). */
  private keyOrder: WriterState[] = []
  private epoch: Epoch
  private lastCommitted = -1
  private _finalLength = 0
  private _finalHash: Uint8Array
  private _halted: string | null = null
  /** Rounds whose anchor may have become committable since they were last checked. */
  private dirty: number[] = []
  /** Anchor rounds known committable, smallest first. */
  private readonly ready = new RoundQueue()
  private sincePrune = 0
  private warningList: EngineWarning[] = []
  private warningTotal = 0

  constructor (opts: EngineOptions) {
    this.hashFn = opts.hash
    this.hasher = new ChainHasher(opts.hash)
    this.pruneInterval = opts.pruneInterval ?? 1024
    this.keepFinal = opts.keepFinal ?? 64
    this.chainKeyBytes = opts.chainKey.slice()
    const c = this.register(opts.creator)
    this.creatorIndex = c.index
    const initial = opts.indexers === undefined ? [c] : [...new Set(opts.indexers)].map((k) => this.byKey.get(k) ?? this.register(k))
    if (initial.length === 0) throw err('INVALID_ARGUMENT', 'a chain needs at least one indexer')
    for (const s of initial) {
      s.member = true
      s.listed = true
    }
    this.epoch = makeEpoch(0, initial.sort((a, b) => a.rank - b.rank).map((s) => s.index), new Int32Array(0))
    this._finalHash = genesisHash(this.hashFn, this.chainKeyBytes)
  }

  // ---- feeding blocks ----

  /**
   * Feed one block. Precondition: own previous block (seq-1) and every head's blocks were added
   * (canAdd true); throws INVALID_ARGUMENT otherwise, REBUILD_NEEDED if a head points below what
   * pruning kept. Returns false (and does nothing) for a block already added or a block of a
   * forked writer at/after its fork.
   */
  add (block: BlockInput): boolean {
    let s = this.byKey.get(block.writer)
    if (s !== undefined && s.forkedAt !== null && block.seq >= s.forkedAt) return false
    const len = s === undefined ? 0 : s.length
    if (!Number.isSafeInteger(block.seq) || block.seq < 0) throw err('INVALID_ARGUMENT', `bad seq ${block.seq}`)
    if (block.seq < len) return false
    if (block.seq > len) throw err('INVALID_ARGUMENT', `block ${block.writer.slice(0, 8)}#${block.seq} added before #${len}`)
    for (const h of block.heads) {
      const t = this.byKey.get(h.writer)
      if (h.length > (t === undefined ? 0 : t.length)) throw err('INVALID_ARGUMENT', `block ${block.writer.slice(0, 8)}#${block.seq} links ${h.writer.slice(0, 8)}@${h.length}, not added yet`)
    }
    if (!Number.isSafeInteger(block.entries) || block.entries < 0) throw err('INVALID_ARGUMENT', `bad entry count ${block.entries}`)
    if (!(block.hash instanceof Uint8Array) || block.hash.length !== 32) throw err('INVALID_ARGUMENT', 'block hash must be 32 bytes')
    // nothing below mutates state until the block is known to be addable: a REBUILD_NEEDED
    // (a link below what pruning kept) leaves the engine exactly as it was
    const w = s === undefined ? this.ws.length : s.index // a new writer gets the next local index
    const prev = s !== undefined && block.seq > 0 ? this.blockAt(s, block.seq - 1) : null
    let invalid = block.invalid === true
    let why = ''
    let vc = prev === null ? EMPTY_VC : prev.vc
    let copied = false
    let clock = prev === null ? 0 : prev.clock
    for (const h of block.heads) {
      if (h.writer === block.writer || !Number.isSafeInteger(h.length) || h.length <= 0) {
        invalid = true
        why = 'link to itself or to nothing'
        continue
      }
      const t = this.byKey.get(h.writer) as WriterState // known: checked above
      const have = prev === null ? 0 : vcAt(prev, t.index)
      if (h.length <= have) {
        // heads list only feeds that grew; a head behind the own past breaks the rule (and
        // may point below what pruning kept, so nothing may be read from it)
        if (h.length < have) {
          invalid = true
          why = `head ${h.writer.slice(0, 8)}@${h.length} behind own past @${have}`
        }
        continue
      }
      const y = this.blockAt(t, h.length - 1)
      if (!copied) {
        vc = widen(vc, this.ws.length)
        copied = true
      }
      const v = vc
      for (let u = 0; u < y.vc.length; u++) if (u !== y.w && (y.vc[u] as number) > (v[u] as number)) v[u] = y.vc[u] as number
      if (h.length > (v[t.index] as number)) v[t.index] = h.length
      if (y.clock > clock) clock = y.clock
    }
    clock += 1
    const ops = this.checkOps(block)
    if (ops === undefined) {
      invalid = true
      why = 'malformed membership op'
    }
    let flags = 0
    if (invalid) flags |= F_INVALID
    else if (block.entries > 0 || block.join || ops !== null) flags |= F_SUBSTANTIVE
    if (block.join) flags |= F_JOIN
    const b: BlockMeta = { w, seq: block.seq, vc, clock, round: -1, entries: block.entries, flags, ops: invalid ? null : (ops ?? null), hash: block.hash }
    const E = this.epoch
    const round = s !== undefined && this.isEpochIndexer(w) && block.seq >= cutOf(E, w) ? this.roundOf(b) : -1

    if (s === undefined) s = this.register(block.writer)
    s.blocks.push(b)
    s.length++
    if ((flags & F_SUBSTANTIVE) !== 0) s.pending++
    if (round >= 0) this.setRound(b, round)
    if (invalid && block.invalid !== true) this.warn({ kind: 'invalid-block', writer: block.writer, seq: block.seq, reason: why })
    if (block.claimedClock !== undefined && block.claimedClock !== clock) {
      this.warn({ kind: 'clock-mismatch', writer: block.writer, seq: block.seq, claimed: block.claimedClock, computed: clock })
    }
    return true
  }

  /** True if every block in block's causal links (own seq-1, each head writer up to head.length) has been added. */
  canAdd (block: Pick<BlockInput, 'writer' | 'seq' | 'heads'>): boolean {
    if (block.seq > this.length(block.writer)) return false
    for (const h of block.heads) if (h.length > this.length(h.writer)) return false
    return true
  }

  // ---- ordering ----

  /** Run the commit rule over everything added; returns the segments that became final since the last call (in order). */
  process (): Segment[] {
    const out: Segment[] = []
    while (this._halted === null) {
      if (this.dirty.length > 0) {
        const d = this.dirty
        this.dirty = []
        for (const r of d) if (r > this.lastCommitted && this.committable(r)) this.ready.push(r)
      }
      while (this.ready.size > 0 && this.ready.peek() <= this.lastCommitted) this.ready.pop()
      if (this.ready.size === 0) break
      this.commit(this.ready.pop(), out)
    }
    if (this.sincePrune >= this.pruneInterval) this.prune()
    return out
  }

  private committable (r: number): boolean {
    const A = this.anchorAt(r)
    if (A === null) return false
    const E = this.epoch
    let votes = 0
    for (const i of E.set) {
      // the leader's own later blocks follow its anchor: it counts as voting for itself
      if (i === A.w) {
        votes++
        continue
      }
      const s = this.ws[i] as WriterState
      const seq = s.witness.get(r + 1)
      if (seq !== undefined && vcAt(this.blockAt(s, seq), A.w) > A.seq) votes++
    }
    return votes >= E.q
  }

  private anchorAt (r: number): BlockMeta | null {
    const E = this.epoch
    if (!isAnchorRound(E, r)) return null
    const L = this.ws[leaderOf(E, r)] as WriterState
    const seq = L.witness.get(r)
    return seq === undefined ? null : this.blockAt(L, seq)
  }

  /** Commits anchor round s and the earlier anchors it reaches (Bullshark walk-back). */
  private commit (s: number, out: Segment[]): void {
    const E = this.epoch
    const A = this.anchorAt(s) as BlockMeta
    const batch = [A]
    let v = A
    for (let r = s - E.step; r > this.lastCommitted; r -= E.step) {
      const B = this.anchorAt(r)
      // test against the last KEPT anchor, not the trigger (scenario S2b)
      if (B !== null && vcAt(v, B.w) > B.seq) {
        batch.push(B)
        v = B
      }
    }
    for (let k = batch.length - 1; k >= 0; k--) {
      const B = batch[k] as BlockMeta
      const seg = this.emit(B)
      if (seg === null) return // halted: B stays unordered
      out.push(seg)
      // an epoch switch discards the rest of the batch (anchors committed under the old set)
      if (this.epoch !== E) return
      this.lastCommitted = seg.round
    }
  }

  /** Orders past⁺(B) minus what is final, applies membership; null if that would order a forked block. */
  private emit (B: BlockMeta): Segment | null {
    const E = this.epoch
    const runs: Array<Run<BlockMeta>> = []
    const tops: number[] = []
    for (const s of this.ws) {
      const top = vcAtPlus(B, s.index)
      if (top <= s.ordered) continue
      if (s.forkedAt !== null && top > s.forkedAt) {
        this._halted = `anchor ${this.name(B)} has blocks of writer ${s.key} past its fork at ${s.forkedAt} in its past`
        return null
      }
      runs.push({ items: s.blocks, from: s.ordered - s.base, to: top - s.base, rank: s.rank })
      tops.push(s.index, top)
    }
    const blocks: FinalBlock[] = []
    const start = this._finalLength
    let working: Set<number> | null = null
    let count = 0
    mergeRuns(runs, (b) => {
      const s = this.ws[b.w] as WriterState
      const skipped: SkipReason = (b.flags & F_INVALID) !== 0 ? 'invalid' : s.member ? null : 'not-member'
      const entries = skipped === null ? b.entries : 0
      const position = this._finalLength
      blocks.push({ writer: s.key, seq: b.seq, position, entries, hashBefore: this._finalHash, skipped })
      if (entries > 0) {
        this._finalHash = this.hasher.fold(this._finalHash, s.keyBytes, b.seq, b.hash, entries)
        this._finalLength += entries
      }
      if ((b.flags & F_SUBSTANTIVE) !== 0) s.pending--
      count++
      if (skipped !== null) return
      if (b.ops !== null && this.isEpochIndexer(b.w)) {
        // ops count only if the author is an indexer of the epoch at the op's final position
        working ??= new Set(E.set)
        for (const op of b.ops) {
          const t = this.byKey.get(op.key) ?? this.register(op.key)
          applyOp(working, t.index, t, op, position + op.index, b)
        }
      }
      if (s.candidate !== null) {
        working ??= new Set(E.set)
        maybeActivate(working, b.w, s, (ref) => vcAt(b, ref.w) > ref.seq)
      }
    })
    for (let i = 0; i < tops.length; i += 2) (this.ws[tops[i] as number] as WriterState).ordered = tops[i + 1] as number
    this.sincePrune += count
    const seg: Segment = {
      epoch: E.no,
      round: B.round,
      anchor: { writer: (this.ws[B.w] as WriterState).key, seq: B.seq },
      blocks,
      start,
      end: this._finalLength,
      hash: this._finalHash
    }
    if (working !== null && !sameSet(working, E.set)) this.switchEpoch(B, working)
    return seg
  }

  /** Ends the epoch at anchor B: new indexer set, cut = vc⁺(B), rounds from 0 over the new epoch's blocks. */
  private switchEpoch (B: BlockMeta, working: Set<number>): void {
    const set = [...working].sort((a, b) => (this.ws[a] as WriterState).rank - (this.ws[b] as WriterState).rank)
    const E = makeEpoch(this.epoch.no + 1, set, plusVector(B, this.ws.length))
    this.epoch = E
    this.lastCommitted = -1
    this.dirty = []
    this.ready.clear()
    for (const s of this.ws) {
      s.witness.clear()
      for (const b of s.blocks) b.round = -1
    }
    // clocks increase along causality, so merging the indexers' runs by clock is topological
    const runs: Array<Run<BlockMeta>> = []
    for (const i of set) {
      const s = this.ws[i] as WriterState
      const from = cutOf(E, i)
      if (from < s.base) throw err('REBUILD_NEEDED', `epoch cut ${s.key.slice(0, 8)}@${from} below retained blocks`)
      runs.push({ items: s.blocks, from: from - s.base, to: s.length - s.base, rank: s.rank })
    }
    mergeRuns(runs, (b) => this.setRound(b, this.roundOf(b)))
    for (const i of set) {
      const s = this.ws[i] as WriterState
      if (s.forkedAt !== null) this._halted = `indexer ${s.key} forked at ${s.forkedAt}`
    }
  }

  /** Round of an epoch indexer block from the latest epoch block of each indexer in its past (pure). */
  private roundOf (b: BlockMeta): number {
    const E = this.epoch
    // roundFrom(), inlined: this runs once per indexer block on the add path
    let m = -1
    let count = 0
    for (const i of E.set) {
      const len = vcAt(b, i)
      if (len <= cutOf(E, i)) continue
      const ri = this.blockAt(this.ws[i] as WriterState, len - 1).round
      if (ri > m) {
        m = ri
        count = 1
      } else if (ri === m) {
        count++
      }
    }
    return m < 0 ? 0 : count >= E.q ? m + 1 : m
  }

  /** Records block b's round; the first block of a round is the writer's witness of it. */
  private setRound (b: BlockMeta, r: number): void {
    const E = this.epoch
    b.round = r
    const s = this.ws[b.w] as WriterState
    const prevRound = b.seq > cutOf(E, b.w) ? this.blockAt(s, b.seq - 1).round : -1
    if (prevRound === r) return
    // a new witness can make anchor r appear, or be a vote for anchor r-1
    s.witness.push(r, b.seq)
    if (isAnchorRound(E, r) && leaderOf(E, r) === b.w) this.dirty.push(r)
    if (isAnchorRound(E, r - 1)) this.dirty.push(r - 1)
  }

  // ---- pruning ----

  /**
   * Drops blocks that no future decision can read. Per writer u, keep from the smallest of:
   * - the first unordered block of u, and u's witnesses of rounds >= lastCommitted (anchors and
   *   votes still to be counted);
   * - u's latest block (the next block of u links it);
   * - vc⁺(first live block of w)[u] for every writer w: a future epoch cut is vc⁺ of a live or
   *   future anchor, and rounds are recomputed from the cut;
   * - vc(latest block of w)[u] - 1 for every member w: an honest block links at or after what
   *   its writer's previous block has in its past (a head behind that is invalid);
   * minus `keepFinal` blocks of slack. A head of a writer with no block yet (or a non-member)
   * that points lower makes `add` throw REBUILD_NEEDED.
   */
  private prune (): void {
    this.sincePrune = 0
    const n = this.ws.length
    const live = new Array<number>(n)
    const bound = new Array<number>(n)
    for (const s of this.ws) {
      s.witness.dropBelow(this.lastCommitted)
      const first = s.witness.firstFrom(this.lastCommitted)
      const f = first === undefined ? s.ordered : Math.min(first, s.ordered)
      live[s.index] = Math.min(f, s.length)
      bound[s.index] = Math.min(live[s.index] as number, s.length - 1, s.forkedAt === null ? Infinity : s.forkedAt - 1)
    }
    for (const s of this.ws) {
      if (s.length === 0) continue
      const f = live[s.index] as number
      if (f < s.length) {
        const b = this.blockAt(s, f)
        for (let u = 0; u < n; u++) bound[u] = Math.min(bound[u] as number, vcAtPlus(b, u))
      }
      if (s.member && (s.forkedAt === null || s.length < s.forkedAt)) {
        const b = this.blockAt(s, s.length - 1)
        for (let u = 0; u < n; u++) if (u !== s.index) bound[u] = Math.min(bound[u] as number, vcAt(b, u) - 1)
      }
    }
    for (const s of this.ws) {
      const keepFrom = Math.max(0, (bound[s.index] as number) - this.keepFinal)
      if (keepFrom > s.base) {
        s.blocks = s.blocks.slice(keepFrom - s.base)
        s.base = keepFrom
      }
    }
  }

  // ---- queries ----

  /** Number of blocks of writer added (0 if unknown). */
  length (writer: WriterKey): number {
    const s = this.byKey.get(writer)
    return s === undefined ? 0 : s.length
  }

  /** Blocks of writer in the final prefix. */
  finalBlocks (writer: WriterKey): number {
    const s = this.byKey.get(writer)
    return s === undefined ? 0 : s.ordered
  }

  /** Locally computed lamport clock of an added block (throws INVALID_ARGUMENT if not added or pruned). */
  clockOf (writer: WriterKey, seq: number): number {
    const s = this.byKey.get(writer)
    if (s === undefined || seq >= s.length || seq < s.base) throw err('INVALID_ARGUMENT', `no retained block ${writer.slice(0, 8)}#${seq}`)
    return this.blockAt(s, seq).clock
  }

  /** Heads + clock a NEW block by `self` would carry now (links to members whose added length grew past self's latest block's past). */
  nextBlock (self: WriterKey): { heads: Head[], clock: number } {
    const p = this.prospective(self)
    return { heads: p.heads, clock: p.clock }
  }

  private prospective (self: WriterKey): { heads: Head[], clock: number, tops: BlockMeta[], prev: BlockMeta | null, selfIndex: number, seq: number } {
    const S = this.byKey.get(self)
    const prev = S !== undefined && S.length > 0 ? this.blockAt(S, S.length - 1) : null
    const heads: Head[] = []
    const tops: BlockMeta[] = []
    let clock = prev === null ? 0 : prev.clock
    for (const s of this.keyOrder) {
      if (s === S || !s.member) continue
      const len = s.forkedAt === null ? s.length : Math.min(s.length, s.forkedAt)
      if (len <= (prev === null ? 0 : vcAt(prev, s.index))) continue
      const y = this.blockAt(s, len - 1)
      heads.push({ writer: s.key, length: len })
      tops.push(y)
      if (y.clock > clock) clock = y.clock
    }
    return { heads, clock: clock + 1, tops, prev, selfIndex: S === undefined ? -1 : S.index, seq: S === undefined ? 0 : S.length }
  }

  /** Ack policy (design §4 Acks, the corrected policy of the reference: "fixed" + fast round ack + leader wait) for indexer `self`. */
  ackDecision (self: WriterKey): AckDecision {
    const S = this.byKey.get(self)
    const indexer = S !== undefined && this._halted === null && S.forkedAt === null && this.isEpochIndexer(S.index)
    let pending = false
    for (const s of this.ws) if (s.member && s.pending > 0) pending = true
    if (!indexer || !pending) return decideAck({ indexer, pending, knowsNew: false, newWitness: false, round: -1, missingLeader: null })
    const p = this.prospective(self)
    const E = this.epoch
    const round = roundFrom(E, (i) => {
      let len = i === p.selfIndex ? p.seq : p.prev === null ? 0 : vcAt(p.prev, i)
      for (const y of p.tops) len = Math.max(len, vcAtPlus(y, i))
      return len > cutOf(E, i) ? this.blockAt(this.ws[i] as WriterState, len - 1).round : -1
    })
    const newWitness = !S.witness.has(round)
    const L = newWitness ? this.missingAnchor(round - 1) : null
    return decideAck({
      indexer,
      pending,
      knowsNew: p.heads.length > 0,
      newWitness,
      round,
      missingLeader: L === null || L === S ? null : L.key
    })
  }

  /** The leader of anchor round r if its anchor is missing here while it was active in the last two rounds. */
  private missingAnchor (r: number): WriterState | null {
    const E = this.epoch
    if (r <= this.lastCommitted || !isAnchorRound(E, r) || E.n < 2) return null
    const L = this.ws[leaderOf(E, r)] as WriterState
    if (L.witness.has(r)) return null
    if (L.length === 0 || L.length - 1 < cutOf(E, L.index)) return null // silent in this epoch: don't wait
    const last = this.blockAt(L, L.length - 1).round
    if (last > r || last < r - 2) return null // skipped round r, or silent for a while
    return L
  }

  /** Tentative tail: added blocks not yet final, sorted by (clock, writer key, seq), positions after the final prefix. */
  tail (): Array<{ writer: WriterKey, seq: number, entries: number, position: number }> {
    const runs: Array<Run<BlockMeta>> = []
    for (const s of this.ws) {
      const end = s.forkedAt === null ? s.length : Math.min(s.length, s.forkedAt)
      if (end > s.ordered) runs.push({ items: s.blocks, from: s.ordered - s.base, to: end - s.base, rank: s.rank })
    }
    const out: Array<{ writer: WriterKey, seq: number, entries: number, position: number }> = []
    let position = this._finalLength
    mergeRuns(runs, (b) => {
      const s = this.ws[b.w] as WriterState
      // tentative: a writer counts if it is a member in the final view now
      const entries = (b.flags & F_INVALID) !== 0 || !s.member ? 0 : b.entries
      out.push({ writer: s.key, seq: b.seq, entries, position })
      position += entries
    })
    return out
  }

  /** Entries in the final prefix (non-ACK, non-skipped). */
  get finalLength (): number {
    return this._finalLength
  }

  /** Chain hash after the final prefix. */
  get finalHash (): Uint8Array {
    return this._finalHash
  }

  /** Why finalization stopped (equivocating indexer, or an anchor depending on a forked block), else null. */
  get halted (): string | null {
    return this._halted
  }

  /** Current epoch number (0 until the indexer set first changes). */
  get epochNumber (): number {
    return this.epoch.no
  }

  /** Membership as the final prefix has it (creator first, then by addedAt). */
  writers (): WriterInfo[] {
    const list = this.ws.filter((s) => s.listed)
    list.sort((a, b) => {
      if (a.index === this.creatorIndex) return -1
      if (b.index === this.creatorIndex) return 1
      return a.addedAt - b.addedAt || a.rank - b.rank
    })
    return list.map((s) => ({
      key: s.key,
      indexer: this.isEpochIndexer(s.index),
      pendingIndexer: s.candidate !== null,
      removed: s.removed,
      addedAt: s.index === this.creatorIndex && s.addedAt < 0 ? -1 : s.addedAt,
      finalLength: s.ordered,
      length: s.length,
      forkedAt: s.forkedAt
    }))
  }

  /** Effective indexer set of the current epoch, sorted by key. */
  indexers (): WriterKey[] {
    return this.epoch.set.map((i) => (this.ws[i] as WriterState).key)
  }

  /** Writer whose addition is final and not removed (the creator unless removed). */
  isMember (key: WriterKey): boolean {
    return this.byKey.get(key)?.member ?? false
  }

  /** Indexer of the current epoch. */
  isIndexer (key: WriterKey): boolean {
    const s = this.byKey.get(key)
    return s !== undefined && this.isEpochIndexer(s.index)
  }

  /** An indexer added in the final prefix that has not yet appended its JOIN (no added block of it has the addition in its past). */
  needsJoin (key: WriterKey): boolean {
    const s = this.byKey.get(key)
    if (s === undefined || s.candidate === null) return false
    if (s.length === 0) return true
    return vcAt(this.blockAt(s, s.length - 1), s.candidate.w) <= s.candidate.seq
  }

  /** Mark writer as equivocating: blocks at seq >= atLength are never ordered. If it is an indexer of the current epoch, finalization halts. */
  markForked (writer: WriterKey, atLength: number): void {
    if (!Number.isSafeInteger(atLength) || atLength < 0) throw err('INVALID_ARGUMENT', `bad fork length ${atLength}`)
    const s = this.byKey.get(writer) ?? this.register(writer)
    s.forkedAt = s.forkedAt === null ? atLength : Math.min(s.forkedAt, atLength)
    s.pending = this.countPending(s)
    if (this._halted === null && this.isEpochIndexer(s.index)) this._halted = `indexer ${s.key} forked at ${s.forkedAt}`
  }

  /** Sizes of the in-memory state: retained blocks (all writers), of which unordered, and witnesses held. */
  stats (): { writers: number, retainedBlocks: number, unorderedBlocks: number, witnesses: number, epoch: number, lastCommittedRound: number } {
    let retainedBlocks = 0
    let unorderedBlocks = 0
    let witnesses = 0
    for (const s of this.ws) {
      retainedBlocks += s.blocks.length
      unorderedBlocks += s.length - s.ordered
      witnesses += s.witness.size
    }
    return { writers: this.ws.length, retainedBlocks, unorderedBlocks, witnesses, epoch: this.epoch.no, lastCommittedRound: this.lastCommitted }
  }

  /** Warnings collected since the last call (clock mismatches, invalid blocks); they never affect the order. */
  drainWarnings (): EngineWarning[] {
    const w = this.warningList
    this.warningList = []
    return w
  }

  /** Total warnings raised since the engine was created (including drained and dropped ones). */
  get warningCount (): number {
    return this.warningTotal
  }

  // ---- snapshots ----

  /** Compact serialization of the whole state needed to continue (prunes first, so this engine and a restored one are identical). */
  snapshot (): Uint8Array {
    this.prune()
    return encodeSnapshot(this.state())
  }

  /** An engine continuing from `snapshot()` bytes; throws STORAGE_CORRUPT on bad bytes. */
  static restore (bytes: Uint8Array, opts: RestoreOptions): ChainEngine {
    const st = decodeSnapshot(bytes)
    const creator = st.writers[st.creator]
    if (creator === undefined) throw err('STORAGE_CORRUPT', 'consensus snapshot has no creator')
    const e = new ChainEngine({ ...opts, chainKey: st.chainKey, creator: creator.key })
    e.load(st)
    return e
  }

  private state (): CoreState {
    return {
      chainKey: this.chainKeyBytes,
      creator: this.creatorIndex,
      writers: this.ws,
      epoch: this.epoch,
      lastCommitted: this.lastCommitted,
      finalLength: this._finalLength,
      finalHash: this._finalHash,
      halted: this._halted
    }
  }

  private load (st: CoreState): void {
    this.chainKeyBytes = st.chainKey
    this.creatorIndex = st.creator
    this.ws = st.writers
    this.byKey = new Map(st.writers.map((s) => [s.key, s]))
    this.rerank()
    for (const s of this.ws) s.pending = this.countPending(s)
    this.epoch = st.epoch
    this.lastCommitted = st.lastCommitted
    this._finalLength = st.finalLength
    this._finalHash = st.finalHash
    this._halted = st.halted
    this.ready.clear()
    this.sincePrune = 0
    // every witnessed anchor round past the last commit is re-checked by the next process()
    this.dirty = []
    for (const s of this.ws) for (const [r] of s.witness.entries()) if (r > this.lastCommitted) this.dirty.push(r)
    for (const s of this.ws) for (const [r] of s.witness.entries()) if (r - 1 > this.lastCommitted) this.dirty.push(r - 1)
  }

  // ---- internals ----

  private register (key: WriterKey): WriterState {
    if (!isWriterKey(key)) throw err('INVALID_KEY', `writer key must be 64 lowercase hex characters: ${String(key).slice(0, 80)}`)
    const s: WriterState = {
      ...nonMember(),
      key,
      keyBytes: keyToBytes(key),
      index: this.ws.length,
      rank: 0,
      blocks: [],
      base: 0,
      length: 0,
      ordered: 0,
      forkedAt: null,
      pending: 0,
      witness: new WitnessList()
    }
    this.ws.push(s)
    this.byKey.set(key, s)
    this.rerank()
    return s
  }

  /** Ranks writers by key: every ordering tie-break uses the key, never the local index. */
  private rerank (): void {
    this.keyOrder = this.ws.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    this.keyOrder.forEach((s, i) => { s.rank = i })
  }

  private isEpochIndexer (w: number): boolean {
    return this.epoch.set.includes(w)
  }

  private blockAt (s: WriterState, seq: number): BlockMeta {
    const b = s.blocks[seq - s.base]
    if (b === undefined) {
      if (seq < s.base) throw err('REBUILD_NEEDED', `block ${s.key.slice(0, 8)}#${seq} was pruned (kept from #${s.base})`)
      throw new RangeError(`block ${s.key.slice(0, 8)}#${seq} not added`)
    }
    return b
  }

  private countPending (s: WriterState): number {
    const end = s.forkedAt === null ? s.length : Math.min(s.length, s.forkedAt)
    let n = 0
    for (let seq = s.ordered; seq < end; seq++) if ((this.blockAt(s, seq).flags & F_SUBSTANTIVE) !== 0) n++
    return n
  }

  /** Membership ops of a block, copied; null if none; undefined if malformed (the block is then invalid). */
  private checkOps (block: BlockInput): IndexedOp[] | null | undefined {
    if (block.membership.length === 0) return null
    const out: IndexedOp[] = []
    for (const op of block.membership) {
      if (!Number.isSafeInteger(op.index) || op.index < 0 || op.index >= block.entries || !isWriterKey(op.key)) return undefined
      if (op.op === 'add' && typeof op.indexer === 'boolean') out.push({ op: 'add', key: op.key, indexer: op.indexer, index: op.index })
      else if (op.op === 'remove') out.push({ op: 'remove', key: op.key, index: op.index })
      else return undefined
    }
    return out
  }

  private warn (w: EngineWarning): void {
    this.warningTotal++
    if (this.warningList.length < MAX_WARNINGS) this.warningList.push(w)
  }

  private name (b: BlockMeta): string {
    return `${(this.ws[b.w] as WriterState).key.slice(0, 8)}#${b.seq}`
  }
}
