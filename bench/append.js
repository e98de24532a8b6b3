// `append`: feedchain ChainNode.append against raw Hypercore appends of the same bytes, in
// the same process.
//   single:  `await node.append(buf)` per entry   vs `await core.append(buf)`
//   batched: `await node.append(arrayOf1000)`       vs `await core.append(arrayOf1000)`
// Pairing: this machine's append rate swings 3-4x from one second to the next (measured:
// raw single appends 3,500..13,700/s across back-to-back runs), so both sides run in
// alternating slices on stores opened side by side — BENCH_APPEND_SLICE awaited single
// appends (or one batch) of raw, then the same of feedchain, then feedchain first, and so
// on — and each side's time is the sum of its slices. Noise then hits both sides alike.
// BENCH_REPEAT rounds, each on fresh stores; rates are totals over all rounds, per-round
// ratios are printed too.
// The node is a fresh chain's creator (sole indexer: entries are final at append). Timing
// covers the append calls (the entry is then in the writer feed, as with raw); the node's
// background view write is flushed after each round and reported separately.
// Targets (issue): single >= 80% of raw, batched >= 50% of raw.
//
// Env: BENCH_APPEND_N (single appends per round, default 10,000), BENCH_APPEND_BATCH_N
//      (entries per round appended in batches, 200,000), BENCH_APPEND_BATCH (1,000),
//      BENCH_APPEND_SLICE (single appends per slice, 250), BENCH_APPEND_WARMUP (untimed
//      single appends per side per round, 200; batches: 1/100 of that), BENCH_ENTRY_BYTES (100),
//      BENCH_REPEAT (3).
import Corestore from 'corestore'
import { appendSizes, openRawCore, rawSingle, rawBatched, hypercoreVersion } from './raw-append.js'
import { envInt } from './lib/env.js'
import { now, perSecond, fmt, fmtRatio, peakRssMiB } from './lib/timing.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { makeEntries, chunk, median } from './lib/entries.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { loadFeedchain } from './lib/feedchain.js'

const TARGET_SINGLE = 0.8
const TARGET_BATCHED = 0.5
const SLICE = Math.max(1, envInt('BENCH_APPEND_SLICE', 250))
const WARMUP = envInt('BENCH_APPEND_WARMUP', 200) // single appends (and WARMUP/100 batches) per side per round

async function openNode (ChainNode) {
  const dir = tmpDir('fc-append')
  const store = new Corestore(dir)
  const node = new ChainNode(store)
  await node.ready()
  return {
    node,
    async close () {
      await node.close()
      await store.close()
      removeTmpDir(dir)
    }
  }
}

/**
 * One round: `calls` (each an argument to append: one buffer or an array) go to a raw core
 * and to a feedchain node in alternating slices of `slice` calls. Returns per-side ms.
 */
async function pairedRound (ChainNode, calls, slice, entries, warmup) {
  const raw = await openRawCore()
  const fc = await openNode(ChainNode)
  try {
    // Untimed warm-up on both sides (JIT, first RocksDB writes), not counted below.
    for (const c of warmup) { await raw.core.append(c); await fc.node.append(c) }
    const rawBefore = raw.core.length
    const before = fc.node.status().length
    const t = { raw: 0, fc: 0 }
    const sides = {
      raw: async (part) => { for (const c of part) await raw.core.append(c) },
      fc: async (part) => { for (const c of part) await fc.node.append(c) }
    }
    const parts = chunk(calls, slice)
    for (let i = 0; i < parts.length; i++) {
      const order = i % 2 === 0 ? ['raw', 'fc'] : ['fc', 'raw']
      for (const side of order) {
        const start = now()
        await sides[side](parts[i])
        t[side] += now() - start
      }
    }
    const flushStart = now()
    await fc.node.flush()
    const flushMs = now() - flushStart
    const st = fc.node.status()
    if (raw.core.length - rawBefore !== entries) throw new Error(`raw core grew by ${raw.core.length - rawBefore}, expected ${entries}`)
    if (st.length - before !== entries) throw new Error(`feedchain length grew by ${st.length - before}, expected ${entries}`)
    if (st.finalLength !== st.length) throw new Error(`sole indexer: finalLength ${st.finalLength} != length ${st.length}`)
    return { rawMs: t.raw, fcMs: t.fc, flushMs, entries }
  } finally {
    await fc.close()
    await raw.close()
  }
}

function summarize (rounds) {
  const entries = rounds.reduce((n, r) => n + r.entries, 0)
  const rawMs = rounds.reduce((n, r) => n + r.rawMs, 0)
  const fcMs = rounds.reduce((n, r) => n + r.fcMs, 0)
  const flushMs = rounds.reduce((n, r) => n + r.flushMs, 0)
  return {
    raw: perSecond(entries, rawMs),
    fc: perSecond(entries, fcMs),
    fcFlushed: perSecond(entries, fcMs + flushMs),
    ratio: rawMs / fcMs,
    roundRatios: rounds.map((r) => r.rawMs / r.fcMs),
    roundRates: rounds.map((r) => ({ raw: perSecond(r.entries, r.rawMs), fc: perSecond(r.entries, r.fcMs) }))
  }
}

async function main () {
  const z = appendSizes()
  console.log(`append: feedchain vs raw hypercore ${await hypercoreVersion()}, ${z.bytes} B entries; single x ${fmt(z.single)} ` +
    `(slices of ${SLICE}), batched x ${fmt(z.batched)} in batches of ${fmt(z.batch)}; ${z.repeat} rounds, paired`)
  const single = makeEntries(z.single, z.bytes)
  const batches = chunk(makeEntries(z.batched, z.bytes), z.batch)

  let fcError = null
  const singleRounds = []
  const batchedRounds = []
  try {
    const { ChainNode } = await loadFeedchain()
    for (let r = 0; r < z.repeat; r++) {
      singleRounds.push(await pairedRound(ChainNode, single, SLICE, z.single, single.slice(0, WARMUP)))
      batchedRounds.push(await pairedRound(ChainNode, batches, 1, z.batched, batches.slice(0, Math.ceil(WARMUP / 100))))
    }
  } catch (err) {
    fcError = err
    console.error(`\nfeedchain side FAILED: ${err.stack || err}`)
  }

  const s = singleRounds.length === z.repeat ? summarize(singleRounds) : null
  const b = batchedRounds.length === z.repeat ? summarize(batchedRounds) : null
  // Feedchain failed: still measure and print the anchor (unpaired, one round).
  let rawOnly = null
  if (fcError) {
    rawOnly = { single: (await rawSingle(single)).perSec, batched: (await rawBatched(batches.flat(), z.batch)).perSec }
    console.log(`raw hypercore alone (unpaired): single ${fmt(rawOnly.single)} entries/s, batched ${fmt(rawOnly.batched)} entries/s`)
  }
  const rows = [
    { name: 'append single', unit: 'entries/s', feedchain: s ? s.fc : null, anchor: s ? s.raw : rawOnly?.single ?? null, anchorName: 'raw hypercore append(buf)', ratio: s ? s.ratio : null, target: `>= ${TARGET_SINGLE * 100}% of raw`, targetRatio: TARGET_SINGLE },
    { name: 'append batch', unit: 'entries/s', feedchain: b ? b.fc : null, anchor: b ? b.raw : rawOnly?.batched ?? null, anchorName: `raw hypercore append(${z.batch} bufs)`, ratio: b ? b.ratio : null, target: `>= ${TARGET_BATCHED * 100}% of raw`, targetRatio: TARGET_BATCHED }
  ]
  for (const row of rows) row.pass = row.ratio !== null && row.ratio >= row.targetRatio

  printTable(`Append (entries/s over ${z.repeat} paired rounds)`, [
    { key: 'mode', title: 'mode', align: 'left' },
    { key: 'fc', title: 'feedchain' },
    { key: 'fcFlushed', title: 'feedchain incl. view flush' },
    { key: 'raw', title: 'raw hypercore' },
    { key: 'ratio', title: 'feedchain/raw' },
    { key: 'rounds', title: 'per round', align: 'left' },
    { key: 'target', title: 'target', align: 'left' },
    { key: 'verdict', title: 'verdict', align: 'left' }
  ], [
    [`single (${fmt(z.single)} x await append)`, s, rows[0]],
    [`batched (${fmt(z.batched / z.batch)} x ${fmt(z.batch)})`, b, rows[1]]
  ].map(([mode, x, row]) => ({
    mode,
    fc: fmt(x?.fc),
    fcFlushed: fmt(x?.fcFlushed),
    raw: fmt(x?.raw ?? row.anchor),
    ratio: x ? `${fmt(x.ratio * 100, 1)}%` : 'n/a',
    rounds: x ? x.roundRatios.map((r) => `${fmt(r * 100, 0)}%`).join(' ') : '',
    target: row.target,
    verdict: fcError ? 'ERROR' : row.pass ? 'PASS' : 'MISS'
  })))
  if (s && b) {
    const txt = (x) => x.roundRates.map((r) => `${fmt(r.fc)}/${fmt(r.raw)}`).join('  ')
    console.log(`rounds, feedchain/raw entries/s — single: ${txt(s)}; batched: ${txt(b)}`)
    if (b.ratio > 1) console.log(`note: batched feedchain beats raw because a feedchain batch is one block (design §3), raw writes ${fmt(z.batch)} blocks per append (${fmtRatio(b.ratio)})`)
  }

  emitResult({
    bench: 'append',
    sizes: { ...z, slice: SLICE },
    rows,
    single: s,
    batched: b,
    error: fcError ? String(fcError.message || fcError) : null,
    peakRssMiB: peakRssMiB()
  })
  if (fcError) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
