// ChainEngine API tests: preconditions and error codes, solo chains, clocks and warnings,
// invalid blocks, membership transitions end to end, the tentative tail, ack decisions,
// snapshots, pruning and REBUILD_NEEDED, forks.
import test from 'brittle'
import { ChainEngine } from '../dist/chain/engine.js'
import { isFeedchainError, ERROR_CODES } from '../dist/errors.js'
import { CHAIN_KEY, blockHash, hash, hex } from './helpers/chain-dag.js'

const A = '0a'.repeat(32)
const B = '0b'.repeat(32)
const C = '0c'.repeat(32)
const D = '0d'.repeat(32)
let uid = 0
const blk = (writer, seq, heads = [], extra = {}) => ({ writer, seq, heads, entries: 1, membership: [], join: false, hash: blockHash(uid++), ...extra })
const ack = (writer, seq, heads = []) => blk(writer, seq, heads, { entries: 0 })
const engine = (opts = {}) => new ChainEngine({ chainKey: CHAIN_KEY, creator: A, hash, ...opts })
const code = (fn) => { try { fn(); return null } catch (e) { return isFeedchainError(e) ? e.code : String(e) } }
const finalNames = (segs) => segs.flatMap((s) => s.blocks.map((b) => `${b.writer.slice(0, 2)}${b.seq}${b.skipped ? '/' + b.skipped : ''}`))

test('preconditions: gaps and missing links throw, duplicates are ignored, keys are checked', (t) => {
  const E = engine()
  t.is(E.canAdd(blk(A, 1)), false)
  t.is(code(() => E.add(blk(A, 1))), 'INVALID_ARGUMENT', 'gap in the own feed')
  t.is(E.canAdd(blk(A, 0, [{ writer: B, length: 1 }])), false)
  t.is(code(() => E.add(blk(A, 0, [{ writer: B, length: 1 }]))), 'INVALID_ARGUMENT', 'head not added yet')
  t.is(E.add(blk(A, 0)), true)
  t.is(E.add(blk(A, 0)), false, 'already added')
  t.is(code(() => E.add(blk('XYZ', 0))), 'INVALID_KEY')
  t.is(code(() => E.add({ ...blk(A, 1), hash: new Uint8Array(3) })), 'INVALID_ARGUMENT', 'block hash must be 32 bytes')
  t.is(code(() => new ChainEngine({ chainKey: CHAIN_KEY, creator: A, hash, indexers: [] })), 'INVALID_ARGUMENT', 'no indexer')
  t.is(ERROR_CODES.REBUILD_NEEDED[0], 1, 'REBUILD_NEEDED exits 1')
})

test('solo chain (n = 1): every block final at add, hash chain, no acks, nothing pending', (t) => {
  const E = engine()
  let prev = E.finalHash
  for (let i = 0; i < 5; i++) {
    E.add(blk(A, i, [], { entries: 2 }))
    const [seg, ...rest] = E.process()
    t.is(rest.length, 0)
    t.is(seg.blocks.length, 1)
    t.is(seg.start, 2 * i)
    t.is(seg.end, 2 * i + 2)
    t.is(hex(seg.blocks[0].hashBefore), hex(prev), 'hashBefore continues the chain')
    prev = seg.hash
    t.is(E.finalBlocks(A), i + 1, `block ${i} final at add`)
  }
  t.is(E.finalLength, 10)
  t.is(hex(E.finalHash), hex(prev))
  t.alike(E.process(), [], 'nothing changed: nothing new')
  t.is(E.ackDecision(A).kind, 'none')
  t.alike(E.tail(), [])
  t.alike(E.nextBlock(A), { heads: [], clock: 6 })
  t.is(E.clockOf(A, 4), 5)
  t.alike(E.indexers(), [A])
  t.ok(E.isMember(A) && E.isIndexer(A))
  const [w] = E.writers()
  t.alike(w, { key: A, indexer: true, pendingIndexer: false, removed: false, addedAt: -1, finalLength: 5, length: 5, forkedAt: null })
})

test('clocks are computed locally; a claimed clock that disagrees is reported, never used', (t) => {
  const E = engine({ indexers: [A, B] })
  E.add(blk(A, 0))
  E.add(blk(B, 0, [], { claimedClock: 1 }))
  E.add(blk(B, 1, [{ writer: A, length: 1 }], { claimedClock: 9 }))
  t.is(E.clockOf(B, 1), 2)
  const w = E.drainWarnings()
  t.alike(w, [{ kind: 'clock-mismatch', writer: B, seq: 1, claimed: 9, computed: 2 }])
  t.alike(E.drainWarnings(), [])
  t.is(E.warningCount, 1)
})

test('invalid blocks: ordered as empty and skipped; a head behind the own past makes a block invalid', (t) => {
  const E = engine({ indexers: [A] })
  E.add(blk(A, 0, [], { membership: [{ op: 'add', key: B, indexer: false, index: 0 }] }))
  E.add(blk(B, 0, [{ writer: A, length: 1 }]))
  E.add(blk(A, 1, [{ writer: B, length: 1 }]))
  E.add(blk(B, 1, [], { invalid: true, entries: 3 }))
  E.add(blk(A, 2, [{ writer: B, length: 2 }]))
  E.add(blk(B, 2, [{ writer: A, length: 3 }]))
  E.add(blk(B, 3, [{ writer: A, length: 2 }])) // A@2 < A@3 already in its past
  E.add(blk(A, 3, [{ writer: B, length: 4 }]))
  E.add(blk(A, 4, [], { membership: [{ op: 'add', key: 'nothex', indexer: false, index: 0 }] }))
  const segs = E.process()
  const byName = Object.fromEntries(segs.flatMap((s) => s.blocks).map((b) => [b.writer.slice(0, 2) + b.seq, b]))
  t.is(byName['0b1'].skipped, 'invalid')
  t.is(byName['0b1'].entries, 0)
  t.is(byName['0b3'].skipped, 'invalid', 'backwards head')
  t.is(byName['0a4'].skipped, 'invalid', 'malformed membership op')
  t.is(byName['0b2'].skipped, null)
  t.is(E.finalLength, 6, 'a0 b0 a1 a2 b2 a3 count')
  const kinds = E.drainWarnings().map((w) => w.kind + ':' + w.seq)
  t.ok(kinds.includes('invalid-block:3') && kinds.includes('invalid-block:4'), kinds.join(' '))
})

test('membership: writers, indexer candidates, JOIN, removal, ops of non-indexers, last indexer', (t) => {
  const E = engine()
  E.add(blk(A, 0, [], { entries: 2, membership: [{ op: 'add', key: B, indexer: false, index: 0 }, { op: 'add', key: C, indexer: true, index: 1 }] }))
  t.alike(finalNames(E.process()), ['0a0'])
  t.ok(E.isMember(B) && E.isMember(C))
  t.is(E.isIndexer(C), false, 'C is a candidate until its JOIN is final')
  t.is(E.needsJoin(C), true)
  t.is(E.needsJoin(B), false)
  E.add(blk(D, 0)) // never added: its entries are skipped
  E.add(blk(B, 0, [{ writer: A, length: 1 }], { membership: [{ op: 'add', key: D, indexer: true, index: 0 }] })) // B is no indexer: op ignored
  E.add(blk(C, 0, [{ writer: A, length: 1 }], { join: true }))
  t.is(E.needsJoin(C), false, 'C appended its JOIN (not final yet)')
  t.alike(E.tail().map((x) => [x.writer.slice(0, 2) + x.seq, x.entries, x.position]), [['0d0', 0, 2], ['0b0', 1, 2], ['0c0', 1, 3]], 'tentative tail by (clock, key); a non-member counts 0')
  E.add(blk(A, 1, [{ writer: B, length: 1 }, { writer: C, length: 1 }, { writer: D, length: 1 }]))
  t.alike(finalNames(E.process()), ['0d0/not-member', '0b0', '0c0', '0a1'])
  t.alike(E.indexers(), [A, C], 'C effective at the final position of its JOIN: epoch 1')
  t.is(E.epochNumber, 1)
  t.is(E.isMember(D), false, 'op of a non-indexer was ignored')
  const ws = E.writers()
  t.alike(ws.map((w) => [w.key.slice(0, 2), w.indexer, w.pendingIndexer, w.addedAt]), [['0a', true, false, -1], ['0b', false, false, 0], ['0c', true, false, 1]], 'creator first, then by addedAt')
  // n = 2 now: acks needed; remove B with both indexers acking
  E.add(blk(A, 2, [], { membership: [{ op: 'remove', key: B, index: 0 }] }))
  E.add(blk(B, 1, [{ writer: A, length: 3 }])) // written after its removal
  E.add(ack(C, 1, [{ writer: A, length: 3 }, { writer: B, length: 2 }]))
  E.add(ack(A, 3, [{ writer: C, length: 2 }]))
  E.add(ack(C, 2, [{ writer: A, length: 4 }]))
  E.add(ack(A, 4, [{ writer: C, length: 3 }]))
  E.add(ack(C, 3, [{ writer: A, length: 5 }]))
  E.add(ack(A, 5, [{ writer: C, length: 4 }]))
  const names = finalNames(E.process())
  t.ok(names.includes('0b1/not-member'), `B's block after its removal is skipped: ${names.join(' ')}`)
  t.is(E.isMember(B), false)
  t.ok(E.writers().find((w) => w.key === B).removed)
})

test('membership: the last indexer cannot be removed; a removed indexer leaves the set', (t) => {
  const E = engine()
  E.add(blk(A, 0, [], { membership: [{ op: 'remove', key: A, index: 0 }] }))
  E.process()
  t.alike(E.indexers(), [A], 'op ignored')
  t.ok(E.isMember(A))
  const F = engine({ indexers: [A, B] })
  F.add(blk(A, 0, [], { membership: [{ op: 'remove', key: B, index: 0 }] }))
  F.add(ack(B, 0, [{ writer: A, length: 1 }]))
  F.add(ack(A, 1, [{ writer: B, length: 1 }]))
  F.add(ack(B, 1, [{ writer: A, length: 2 }]))
  F.process()
  t.alike(F.indexers(), [A], 'B removed: epoch 1 with A alone')
  t.is(F.isMember(B), false)
})

test('ack decision: now, debounce, wait-anchor, none (3 indexers)', (t) => {
  const E = engine({ indexers: [A, B, C] }) // the view of indexer C
  t.is(E.ackDecision(C).kind, 'none', 'nothing pending')
  t.is(E.ackDecision(D).kind, 'none', 'not an indexer')
  E.add(blk(A, 0))
  E.add(blk(B, 0))
  t.is(E.ackDecision(C).kind, 'now', 'round-0 witness')
  E.add(blk(C, 0))
  E.add(blk(A, 1, [{ writer: B, length: 1 }, { writer: C, length: 1 }]))
  E.add(blk(B, 1, [{ writer: A, length: 1 }, { writer: C, length: 1 }]))
  E.add(ack(C, 1, [{ writer: A, length: 1 }, { writer: B, length: 1 }]))
  E.add(blk(A, 2, [{ writer: B, length: 2 }, { writer: C, length: 2 }]))
  E.add(blk(C, 2, [{ writer: A, length: 2 }, { writer: B, length: 2 }], { entries: 0 }))
  // C's next block would link a2 (round 2) and be C's first round-3 block, a vote for A_2 whose
  // leader B was last seen in round 1: wait for it
  t.alike(E.ackDecision(C), { kind: 'wait-anchor', leader: B, round: 2 })
  E.add(ack(C, 3, [{ writer: A, length: 3 }]))
  t.is(E.ackDecision(C).kind, 'none', 'nothing new after acking')
  E.add(blk(A, 3))
  t.is(E.ackDecision(C).kind, 'debounce', 'the ack would stay in round 3')
  t.alike(E.nextBlock(C).heads, [{ writer: A, length: 4 }])
})

test('snapshot: restore continues identically; bytes are stable; corruption is STORAGE_CORRUPT', (t) => {
  const E = engine({ indexers: [A, B, C] })
  const feed = (e, b) => e.add(b)
  const blocks = [blk(A, 0), blk(B, 0), blk(C, 0), blk(A, 1, [{ writer: B, length: 1 }, { writer: C, length: 1 }]), blk(B, 1, [{ writer: A, length: 2 }])]
  const later = [blk(C, 1, [{ writer: A, length: 2 }, { writer: B, length: 2 }]), ack(A, 2, [{ writer: C, length: 2 }]), ack(B, 2, [{ writer: C, length: 2 }]), ack(C, 2, [{ writer: A, length: 3 }, { writer: B, length: 3 }]), ack(A, 3, [{ writer: B, length: 3 }, { writer: C, length: 3 }])]
  for (const b of blocks) feed(E, b)
  E.process()
  const bytes = E.snapshot()
  const R = ChainEngine.restore(bytes, { hash })
  t.alike(R.snapshot(), bytes, 'snapshot of a restored engine is byte-identical')
  const segE = []
  const segR = []
  for (const b of later) { feed(E, b); feed(R, b); segE.push(...E.process()); segR.push(...R.process()) }
  t.ok(segE.length > 0)
  t.alike(segR, segE, 'same segments after restore')
  t.alike(R.writers(), E.writers())
  t.alike(R.tail(), E.tail())
  t.is(hex(R.finalHash), hex(E.finalHash))
  t.is(code(() => ChainEngine.restore(bytes.subarray(0, bytes.length - 3), { hash })), 'STORAGE_CORRUPT', 'truncated')
  const bad = bytes.slice()
  bad[0] = 77
  t.is(code(() => ChainEngine.restore(bad, { hash })), 'STORAGE_CORRUPT', 'unknown version')
  t.is(code(() => ChainEngine.restore(new Uint8Array([1, 0, 0]), { hash })), 'STORAGE_CORRUPT', 'garbage')
})

test('pruning: a long solo chain keeps O(1) blocks; a stale head below what was kept needs a rebuild', (t) => {
  const E = engine({ pruneInterval: 1, keepFinal: 0 })
  E.add(blk(A, 0, [], { membership: [{ op: 'add', key: B, indexer: false, index: 0 }] }))
  for (let i = 1; i < 5000; i++) { E.add(blk(A, i)); E.process() }
  const st = E.stats()
  t.ok(st.retainedBlocks <= 4, `${st.retainedBlocks} blocks retained of 5000`)
  t.is(st.unorderedBlocks, 0)
  // B (a member that never wrote) links A@10: pruned long ago
  t.is(code(() => E.add(blk(B, 0, [{ writer: A, length: 10 }]))), 'REBUILD_NEEDED')
  t.is(E.length(B), 0, 'nothing was added')
  t.is(E.add(blk(B, 0, [{ writer: A, length: 5000 }])), true, 'a head at the tip is fine; the engine is still usable')
  t.is(E.process().length, 0, 'B is not an indexer: its block waits for A')
  E.add(blk(A, 5000, [{ writer: B, length: 1 }]))
  t.alike(finalNames(E.process()), ['0b0', '0a5000'])
  const kept = engine({ keepFinal: 64, pruneInterval: 1 })
  for (let i = 0; i < 500; i++) { kept.add(blk(A, i)); kept.process() }
  t.ok(kept.stats().retainedBlocks >= 64 && kept.stats().retainedBlocks < 80, 'keepFinal keeps a margin of final blocks')
  t.is(kept.clockOf(A, 499), 500)
  t.is(code(() => kept.clockOf(A, 3)), 'INVALID_ARGUMENT', 'pruned block')
})

test('pruning: memory after a partitioned burst is back to O(writers)', (t) => {
  const E = engine({ indexers: [A, B, C], pruneInterval: 1, keepFinal: 0 })
  const N = 3000
  for (let i = 0; i < N; i++) for (const w of [A, B, C]) E.add(blk(w, i))
  t.is(E.stats().unorderedBlocks, 3 * N)
  let rounds = 0
  while (rounds < 10 && (E.finalBlocks(A) < N || E.finalBlocks(B) < N || E.finalBlocks(C) < N)) {
    rounds++
    // one concurrent ack round: each indexer links what existed before the round
    const acks = [A, B, C].map((w) => ({ ...ack(w, E.length(w)), heads: E.nextBlock(w).heads }))
    for (const b of acks) E.add(b)
    E.process()
  }
  t.ok(rounds < 10, `all data final after ${rounds} ack rounds`)
  E.process()
  const st = E.stats()
  t.ok(st.retainedBlocks - st.unorderedBlocks <= 12, `${st.retainedBlocks} retained, ${st.unorderedBlocks} unordered`)
})

test('markForked: a non-indexer writer past its fork is refused and not acked for', (t) => {
  const E = engine({ indexers: [A, B] })
  E.add(blk(A, 0, [], { membership: [{ op: 'add', key: C, indexer: false, index: 0 }] }))
  E.add(ack(B, 0, [{ writer: A, length: 1 }]))
  E.add(ack(A, 1, [{ writer: B, length: 1 }]))
  E.add(ack(B, 1, [{ writer: A, length: 2 }]))
  E.process()
  t.ok(E.isMember(C))
  E.add(blk(C, 0, [{ writer: A, length: 2 }]))
  E.markForked(C, 0)
  t.is(E.halted, null, 'a writer fork does not halt by itself')
  t.is(E.add(blk(C, 1)), false, 'refused past the fork')
  t.is(E.length(C), 1)
  t.is(E.ackDecision(A).kind, 'none', 'its blocks can never become final: nothing to ack for')
  t.absent(E.tail().some((x) => x.writer === C), 'not shown in the tail')
  t.is(E.writers().find((w) => w.key === C).forkedAt, 0)
  const bytes = E.snapshot()
  t.is(ChainEngine.restore(bytes, { hash }).writers().find((w) => w.key === C).forkedAt, 0, 'fork marks survive a snapshot')
})
