#!/usr/bin/env node
// Micro-benchmark of the pure consensus engine (src/chain): blocks/s for add + process.
//   partitioned: 3 indexers append PER_WRITER blocks each linking only their own feed, then heal
//                with ACK rounds until every data block is final (one 3-way merged segment)
//   solo:        one writer (n = 1) appends SOLO blocks, each final at add
// Anchor: the chain-hash floor (one blake2b call per entry, the unavoidable part), from the same
// run; ratio = engine time / floor time. Targets (at the default sizes): partitioned < 1 s, solo
// < 5 s. Sizes from FEEDCHAIN_BENCH_PER_WRITER / FEEDCHAIN_BENCH_SOLO.
// Run after `npx tsc -p .`.
import sodium from 'sodium-native'
import { ChainEngine } from '../dist/chain/engine.js'
import { emitResult } from './lib/result.js'

const PER_WRITER = Number(process.env.FEEDCHAIN_BENCH_PER_WRITER) || 100_000
const SOLO = Number(process.env.FEEDCHAIN_BENCH_SOLO) || 1_000_000
const hash = (parts) => { const out = Buffer.allocUnsafe(32); sodium.crypto_generichash_batch(out, parts); return out } // as hypercore-crypto.hash
const key = (c) => c.repeat(64)
const H = new Uint8Array(32).fill(1)
const block = (writer, seq, heads = [], extra = {}) => ({ writer, seq, heads, entries: 1, membership: [], join: false, hash: H, ...extra })

function partitioned () {
  const [a, b, c] = [key('a'), key('b'), key('c')]
  const E = new ChainEngine({ chainKey: H, creator: a, hash })
  const feed = (blk) => { E.add(blk); E.process() }
  // set-up: a adds b and c as indexers; their JOINs; a's next block makes both effective
  feed(block(a, 0, [], { entries: 2, membership: [{ op: 'add', key: b, indexer: true, index: 0 }, { op: 'add', key: c, indexer: true, index: 1 }] }))
  feed(block(b, 0, [{ writer: a, length: 1 }], { join: true }))
  feed(block(c, 0, [{ writer: a, length: 1 }], { join: true }))
  feed(block(a, 1, [{ writer: b, length: 1 }, { writer: c, length: 1 }], { entries: 0 }))
  if (E.indexers().length !== 3) throw new Error('set-up failed: ' + E.indexers().length + ' indexers')
  // prebuild the partitioned blocks so the timed part is the engine only
  const W = [a, b, c]
  const blocks = []
  for (let i = 0; i < PER_WRITER; i++) for (const w of W) blocks.push(block(w, E.length(w) + i))
  const t0 = process.hrtime.bigint()
  let n = 0
  for (const blk of blocks) { E.add(blk); E.process(); n++ }
  let rounds = 0
  while (E.finalBlocks(a) < PER_WRITER + 2 || E.finalBlocks(b) < PER_WRITER + 1 || E.finalBlocks(c) < PER_WRITER + 1) {
    if (++rounds > 20) throw new Error('did not finalize')
    // one ACK round: each indexer links what it has not seen of the others
    const acks = W.map((w) => ({ ...block(w, E.length(w)), entries: 0, heads: E.nextBlock(w).heads }))
    for (const ack of acks) { E.add(ack); n++ }
    E.process()
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  return { name: `partitioned 3 x ${PER_WRITER}`, blocks: n, entries: E.finalLength, secs, extra: `${rounds} ACK rounds`, retained: E.stats().retainedBlocks }
}

function solo () {
  const a = key('a')
  const E = new ChainEngine({ chainKey: H, creator: a, hash })
  const blocks = []
  for (let i = 0; i < SOLO; i++) blocks.push(block(a, i))
  const t0 = process.hrtime.bigint()
  for (const blk of blocks) { E.add(blk); E.process() }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  if (E.finalBlocks(a) !== SOLO) throw new Error('solo blocks not final at add')
  return { name: `solo n=1 x ${SOLO}`, blocks: SOLO, entries: E.finalLength, secs, extra: '', retained: E.stats().retainedBlocks }
}

function hashFloor (entries) {
  // the same 108-byte message per entry the engine hashes (chain-hash.ts)
  let h = H
  const msg = new Uint8Array(108)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < entries; i++) { msg.set(h, 0); h = hash([msg]) }
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const rows = []
const results = []
for (const [r, targetSecs, defaultSize] of [[partitioned(), 1, PER_WRITER === 100_000], [solo(), 5, SOLO === 1_000_000]]) {
  const floor = hashFloor(r.entries)
  rows.push({ case: r.name, blocks: r.blocks, 'blocks/s': Math.round(r.blocks / r.secs), secs: r.secs.toFixed(3), 'hash floor s': floor.toFixed(3), ratio: (r.secs / floor).toFixed(2), 'retained blocks': r.retained, note: r.extra })
  results.push({
    name: `chain engine ${r.name}`,
    unit: 'blocks/s',
    feedchain: r.blocks / r.secs,
    anchor: r.entries / floor,
    anchorName: 'chain-hash floor: one blake2b per entry',
    ratio: floor / r.secs,
    target: `< ${targetSecs} s${defaultSize ? '' : ' at the default size (not evaluated)'}`,
    targetRatio: null,
    pass: defaultSize ? r.secs < targetSecs : null
  })
}
console.table(rows)
emitResult({ bench: 'chain-engine', rows: results })
