// `reconcile`: 3 writers (all indexers) each append N entries while partitioned, then heal;
// time until all three agree on the final chain: equal status().finalLength (= setup entries
// + 3N) and equal status().head (chain hash of the final prefix).
//
// Setup: A creates the chain, adds B and C as indexers; all three replicate in-process
// (store.replicate piped, see lib/replicate.js) until every status shows 3 active indexers
// and the same final length and head. Partition: every stream destroyed. Each node appends N
// entries as `await node.append(array)` in batches of BENCH_RECONCILE_BATCH (1,000), all three
// nodes concurrently. Heal: fresh streams; the clock runs from the first new stream to the
// first moment all three agree (checked on every 'update' event, 10 ms poll as a fallback).
//
// Anchor: autobase-reconcile.js, the same workload on Autobase 7.28.1 at BENCH_AUTOBASE_N
// (default 2,000; 0 skips it), run first as a child process in this same run. Feedchain must
// be >= 100x faster per entry; and N = 100,000 must converge in < 5 s.
//
// Env: BENCH_RECONCILE_N (default 100,000 per writer), BENCH_RECONCILE_BATCH (1,000),
//      BENCH_ENTRY_BYTES (100), BENCH_RECONCILE_TIMEOUT_MS (120,000), BENCH_AUTOBASE_N.
import Corestore from 'corestore'
import { envInt } from './lib/env.js'
import { now, perSecond, fmt, fmtMs, fmtRatio, peakRssMiB } from './lib/timing.js'
import { tmpDir } from './lib/tmp.js'
import { mesh } from './lib/replicate.js'
import { waitUntil } from './lib/wait.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { runChild } from './lib/child.js'
import { makeEntries } from './lib/entries.js'
import { loadFeedchain, indexerCount } from './lib/feedchain.js'

const N = envInt('BENCH_RECONCILE_N', 100_000)
const BATCH = Math.max(1, envInt('BENCH_RECONCILE_BATCH', 1000))
const ENTRY_BYTES = Math.max(1, envInt('BENCH_ENTRY_BYTES', 100))
const TIMEOUT_MS = envInt('BENCH_RECONCILE_TIMEOUT_MS', 120_000)
const SETUP_TIMEOUT_MS = envInt('BENCH_RECONCILE_SETUP_TIMEOUT_MS', 30_000)
const AUTOBASE_N = envInt('BENCH_AUTOBASE_N', 2000)
const WRITERS = 3
const TARGET_RATIO = 100 // x faster per entry than Autobase
const TARGET_MS = 5000 // for N = 100,000
const TARGET_N = 100_000

function describe (nodes) {
  return nodes.map((n, i) => {
    const s = n.status()
    return `${'ABC'[i]}{length ${s.length} final ${s.finalLength} head ${s.head.slice(0, 8)} indexers ${indexerCount(s)}` +
      ` writers ${s.writers.map((w) => `${w.key.slice(0, 4)}:${w.finalLength}/${w.length}${w.pendingIndexer ? 'p' : ''}`).join(',')}` +
      `${s.halted ? ' HALTED ' + s.halted : ''}}`
  }).join(' ')
}

// All nodes show the same final prefix (length and chain hash), optionally of `finalLength`.
function agreed (nodes, finalLength = null) {
  const s0 = nodes[0].status()
  if (finalLength !== null && s0.finalLength !== finalLength) return false
  for (const n of nodes) {
    const s = n.status()
    if (s.halted) throw new Error(`node halted: ${s.halted}`)
    if (s.finalLength !== s0.finalLength || s.head !== s0.head) return false
  }
  return true
}

async function runFeedchain () {
  const { ChainNode } = await loadFeedchain()
  const stores = []
  for (let i = 0; i < WRITERS; i++) stores.push(new Corestore(tmpDir('fc-reconcile-' + 'abc'[i])))

  const setupStart = now()
  const a = new ChainNode(stores[0])
  await a.ready()
  const nodes = [a]
  for (let i = 1; i < WRITERS; i++) nodes.push(new ChainNode(stores[i], { key: a.key }))
  await Promise.all(nodes.map((n) => n.ready()))
  for (const n of nodes.slice(1)) await a.addWriter(n.writerKey, { indexer: true })

  let net = mesh(nodes)
  await waitUntil(() => nodes.every((n) => {
    const s = n.status()
    return s.length === s.finalLength && indexerCount(s) === WRITERS && s.writers.every((w) => !w.pendingIndexer)
  }) && agreed(nodes), {
    emitters: nodes, timeoutMs: SETUP_TIMEOUT_MS, label: 'setup: 3 indexers, same final prefix', describe: () => describe(nodes)
  })
  const setupMs = now() - setupStart
  const setupFinal = a.status().finalLength

  // Partition.
  await net.destroy()
  const appendStart = now()
  await Promise.all(nodes.map(async (n, w) => {
    for (let i = 0; i < N; i += BATCH) await n.append(makeEntries(Math.min(BATCH, N - i), ENTRY_BYTES, { writer: w, from: i }))
  }))
  const appendMs = now() - appendStart

  // Heal and time convergence.
  const expected = setupFinal + WRITERS * N
  let seenMs = null
  const healStart = now()
  net = mesh(nodes)
  await waitUntil(() => {
    if (seenMs === null && nodes.every((n) => n.status().length === expected)) seenMs = now() - healStart
    return agreed(nodes, expected)
  }, {
    emitters: nodes, timeoutMs: TIMEOUT_MS, label: `all ${fmt(expected)} entries final with the same head`, describe: () => describe(nodes)
  })
  const convergeMs = now() - healStart
  const final = a.status()

  await net.destroy()
  for (const n of nodes) await n.close()
  for (const s of stores) await s.close()

  return {
    setupMs,
    setupFinal,
    appendMs,
    seenMs: seenMs ?? convergeMs,
    convergeMs,
    entries: WRITERS * N,
    finalLength: final.finalLength,
    head: final.head,
    entriesPerSec: perSecond(WRITERS * N, convergeMs),
    msPerEntry: convergeMs / (WRITERS * N),
    peakRssMiB: peakRssMiB()
  }
}

async function main () {
  console.log(`reconcile: ${WRITERS} indexers x N=${fmt(N)} entries (${ENTRY_BYTES} B) appended while partitioned in batches of ${fmt(BATCH)}, then healed; ` +
    `anchor Autobase 7.28.1 at N=${fmt(AUTOBASE_N)}`)

  // Anchor first, in its own process (clean heap, and measured even if feedchain fails).
  let anchor = null
  let anchorError = null
  if (AUTOBASE_N > 0) {
    const child = await runChild('autobase-reconcile.js', { prefix: '  | ' })
    if (child.code === 0 && child.result) anchor = child.result
    else anchorError = `autobase-reconcile.js exited with ${child.signal || child.code}`
  } else {
    anchorError = 'skipped (BENCH_AUTOBASE_N=0)'
  }

  let fc = null
  let fcError = null
  try {
    fc = await runFeedchain()
  } catch (err) {
    fcError = err
    console.error(`\nfeedchain side FAILED: ${err.stack || err}`)
  }

  const ratio = fc && anchor ? anchor.msPerEntry / fc.msPerEntry : null
  const rows = [
    {
      name: 'reconcile per entry',
      unit: 'entries/s',
      feedchain: fc ? fc.entriesPerSec : null,
      anchor: anchor ? anchor.entriesPerSec : null,
      anchorName: `Autobase 7.28.1, 3 x ${fmt(AUTOBASE_N)}`,
      ratio,
      target: `>= ${TARGET_RATIO}x Autobase`,
      targetRatio: TARGET_RATIO,
      pass: ratio !== null && ratio >= TARGET_RATIO
    },
    {
      name: `reconcile 3 x ${fmt(N)} time`,
      unit: 'ms',
      feedchain: fc ? fc.convergeMs : null,
      anchor: null,
      anchorName: null,
      ratio: null,
      target: N === TARGET_N ? `< ${TARGET_MS / 1000} s` : `< ${TARGET_MS / 1000} s at N=${fmt(TARGET_N)} (not evaluated)`,
      targetRatio: null,
      pass: N === TARGET_N && fc ? fc.convergeMs < TARGET_MS : null
    }
  ]

  printTable(`Reconcile: ${WRITERS} indexers, partitioned appends then heal`, [
    { key: 'm', title: 'measure', align: 'left' },
    { key: 'fc', title: `feedchain (N=${fmt(N)})` },
    { key: 'ab', title: `Autobase (N=${fmt(AUTOBASE_N)})` }
  ], [
    { m: 'setup (create, add 2 indexers, agree)', fc: fmtMs(fc?.setupMs), ab: fmtMs(anchor?.setupMs) },
    { m: 'append while partitioned (3 x N)', fc: fmtMs(fc?.appendMs), ab: fmtMs(anchor?.appendMs) },
    { m: 'heal -> all entries seen everywhere', fc: fmtMs(fc?.seenMs), ab: '' },
    { m: 'heal -> all final, same head everywhere', fc: fmtMs(fc?.convergeMs), ab: fmtMs(anchor?.convergeMs) },
    { m: 'entries/s (3N / time to final)', fc: fmt(fc?.entriesPerSec), ab: fmt(anchor?.entriesPerSec, 1) },
    { m: 'us per entry', fc: fmt(fc ? fc.msPerEntry * 1000 : null, 2), ab: fmt(anchor ? anchor.msPerEntry * 1000 : null, 1) },
    { m: 'peak RSS (MiB)', fc: fmt(fc?.peakRssMiB), ab: fmt(anchor?.peakRssMiB) }
  ])
  console.log(`\nper entry, feedchain vs Autobase: ${fmtRatio(ratio)} faster (target >= ${TARGET_RATIO}x) -> ${fc && anchor ? (rows[0].pass ? 'PASS' : 'MISS') : 'n/a'}`)
  console.log(`3 x ${fmt(N)} converged in ${fmtMs(fc?.convergeMs)} (target < ${TARGET_MS / 1000} s at N=${fmt(TARGET_N)}) -> ${rows[1].pass === null ? 'not evaluated' : rows[1].pass ? 'PASS' : 'MISS'}`)
  if (anchorError) console.log(`anchor: ${anchorError}`)
  if (anchor && (anchor.nullAppends > 0)) console.log(`anchor note: ${anchor.nullAppends} forced Autobase ack(s) after quiet periods (see autobase-reconcile.js)`)

  emitResult({
    bench: 'reconcile',
    n: N,
    autobaseN: AUTOBASE_N,
    rows,
    feedchain: fc,
    anchor,
    error: fcError ? String(fcError.message || fcError) : (anchor ? null : anchorError && AUTOBASE_N > 0 ? anchorError : null)
  })
  if (fcError || (AUTOBASE_N > 0 && !anchor)) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
