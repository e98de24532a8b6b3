// Anchor for `reconcile`: the same partition/heal workload on Autobase 7.28.1.
//
// 3 Autobase instances (all indexers), each on its own Corestore in a temp dir, replicated
// in-process with base.replicate() (= store.replicate plus Autobase's wakeup protocol).
// Setup: A bootstraps and appends add-writer messages for B and C; apply() calls
// host.addWriter(key, { indexer: true }); wait until every base is an active indexer
// (base.isIndexer, 3 indexers in base.system) and all have the same heads.
// Partition: every stream destroyed. Each base appends N entries with
// base.append(arrayOfValues) in batches of BENCH_AUTOBASE_BATCH (default 1,000, like
// feedchain's batches; Autobase still writes one oplog block and one DAG node per value),
// all three concurrently. Heal: fresh streams; time until everyone agrees:
//   indexed — on every base the view as of the system's indexed point
//     (base.getIndexedInfo().views, i.e. what the linearizer has made final: Autobase never
//     reorders it) holds exactly 3N entries with the same view key, and the view tree hash
//     at 3N (base.view.treeHash(3N)) is equal everywhere: same entries, same order;
//   signed — additionally the view core's signedLength (base.views()) is 3N everywhere
//     (a quorum of indexers has signed it) and base.signedLength is equal.
// The anchor figure is the time to "indexed" (the earlier, more favourable of the two);
// "signed" is printed too.
// Acks: Autobase only makes entries final when indexers acknowledge them. The built-in ack
// timer runs at BENCH_AUTOBASE_ACK_INTERVAL (10 ms; the default 10 s interval never even
// completed setup within 10 s here). Autobase's policy alone sometimes goes quiet with
// entries unindexed, so after QUIET_MS of quiescence the harness has one indexer append a
// null node (as Autobase's own confirm() test helper does); see makeNudger(). Both choices
// only speed Autobase up. Also tried and rejected: calling base.ack() on every 'update'
// (BENCH_AUTOBASE_DRIVE_ACKS=1: slower; with all-at-once nudging it once fell into an ack
// storm that indexed nothing for 45 s), timer 1 s (slower), all indexers forcing acks at
// once (livelocked: hundreds of ack rounds, indexed length stuck).
//
// Env: BENCH_AUTOBASE_N (default 2,000 per writer), BENCH_AUTOBASE_BATCH (1,000; 1 = one
//      append call per entry), BENCH_ENTRY_BYTES (100), BENCH_AUTOBASE_ACK_INTERVAL (10 ms),
//      BENCH_AUTOBASE_QUIET_MS (50), BENCH_AUTOBASE_DRIVE_ACKS (0),
//      BENCH_AUTOBASE_TIMEOUT_MS (derived from N), BENCH_AUTOBASE_SETUP_TIMEOUT_MS (60,000).
import Corestore from 'corestore'
import Autobase from 'autobase'
import b4a from 'b4a'
import { envInt, envFlag } from './lib/env.js'
import { now, perSecond, fmt, fmtMs, peakRssMiB } from './lib/timing.js'
import { tmpDir } from './lib/tmp.js'
import { mesh } from './lib/replicate.js'
import { waitUntil } from './lib/wait.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'

const N = envInt('BENCH_AUTOBASE_N', 2000)
const BATCH = Math.max(1, envInt('BENCH_AUTOBASE_BATCH', 1000))
const ENTRY_BYTES = Math.max(1, envInt('BENCH_ENTRY_BYTES', 100))
const ACK_INTERVAL = envInt('BENCH_AUTOBASE_ACK_INTERVAL', 10)
const DRIVE_ACKS = envFlag('BENCH_AUTOBASE_DRIVE_ACKS', false)
// Batched, N=2000 takes 6-9 s here; one append per entry took 61 s at N=1000 (superlinear).
const TIMEOUT_MS = envInt('BENCH_AUTOBASE_TIMEOUT_MS', 120_000 + Math.ceil(N * N * 0.1))
const SETUP_TIMEOUT_MS = envInt('BENCH_AUTOBASE_SETUP_TIMEOUT_MS', 60_000)
const QUIET_MS = envInt('BENCH_AUTOBASE_QUIET_MS', 50)
const WRITERS = 3

// Binary messages: [0, ...payload] is a data entry, [1, indexer, ...key32] adds a writer.
const DATA = 0
const ADD = 1

function addMessage (key, indexer) {
  return b4a.concat([b4a.from([ADD, indexer ? 1 : 0]), key])
}

function dataEntries (writer, from, count) {
  const out = new Array(count)
  for (let i = 0; i < count; i++) {
    const buf = b4a.alloc(ENTRY_BYTES, 0x61 + writer)
    buf[0] = DATA
    if (ENTRY_BYTES >= 5) buf.writeUInt32BE(from + i, 1)
    out[i] = buf
  }
  return out
}

function open (store) {
  return store.get('view')
}

async function apply (nodes, view, host) {
  let pending = []
  for (const node of nodes) {
    const v = node.value
    if (v === null) continue // ack
    if (v[0] === ADD) {
      if (pending.length) { await view.append(pending); pending = [] }
      await host.addWriter(v.subarray(2), { indexer: v[1] === 1 })
      continue
    }
    pending.push(v)
  }
  if (pending.length) await view.append(pending) // one view append per apply call
}

function makeBase (store, bootstrap) {
  const base = new Autobase(store.session(), bootstrap, {
    open,
    apply,
    valueEncoding: 'binary',
    ackInterval: ACK_INTERVAL
  })
  base.on('error', (err) => console.error('[autobase] error:', err))
  return base
}

// The user view as the (signed) view core has it: { key, length, signedLength }.
function viewInfo (base) {
  return base.views().find((v) => v.name === 'view') || { key: null, length: 0, signedLength: 0 }
}

// The user view as of the system's indexed (consensus-final) point: { key, length }.
async function indexedView (base) {
  const info = await base.getIndexedInfo()
  if (!info || !info.views.length) return { key: null, length: 0 }
  const key = base.view.key
  return info.views.find((v) => key && b4a.equals(v.key, key)) || info.views[0]
}

function headsSig (base) {
  return base.heads().map((h) => h.key.toString('hex') + ':' + h.length).join(',')
}

// Everyone has the same DAG tips and nothing is being applied right now.
function quiescent (bases) {
  const sig = headsSig(bases[0])
  for (const b of bases) {
    if (b.updating || b.flushing || b._appending !== null) return false
    if (headsSig(b) !== sig) return false
  }
  return true
}

// Both "everyone agrees" levels, for `expected` entries in the view:
//   indexed: every base's indexed view is exactly `expected` long, same key, and the view
//            tree hash at that length is equal on all (same entries, same order, final);
//   signed:  additionally the view core's signedLength is `expected` on every base (a
//            quorum of indexers has signed it) and the system cores agree on signedLength.
async function agreement (bases, expected) {
  const out = { indexed: false, signed: false }
  const first = await indexedView(bases[0])
  if (first.length !== expected) return out
  for (const b of bases.slice(1)) {
    const v = await indexedView(b)
    if (v.length !== expected || !b4a.equals(v.key, first.key)) return out
  }
  const h0 = await bases[0].view.treeHash(expected)
  for (const b of bases.slice(1)) {
    if (b.view.length < expected || !b4a.equals(await b.view.treeHash(expected), h0)) return out
  }
  out.indexed = true
  out.signed = bases.every((b) => viewInfo(b).signedLength === expected && b.signedLength === bases[0].signedLength)
  return out
}

function describe (bases) {
  return Promise.all(bases.map(async (b, i) => {
    const v = viewInfo(b)
    const iv = await indexedView(b)
    return `${'ABC'[i]}{sys indexed ${b.indexedLength} signed ${b.signedLength}/${b.length} view indexed ${iv.length} signed ${v.signedLength}/${v.length} indexer=${b.isIndexer} writable=${b.writable} pending=${b._applyState ? b._applyState.isLocalPendingIndexer() : "?"} heads=${headsSig(b).replace(/[0-9a-f]{60}/g, '')}}`
  })).then((s) => s.join(' '))
}

// Autobase's own ack policy: ask every indexer to consider acking after each 'update'
// (base.ack() appends a null node only when its linearizer says that helps).
function driveAcks (bases) {
  if (!DRIVE_ACKS) return () => {}
  const handlers = bases.map((b) => {
    const fn = () => { b.ack().catch(() => {}) }
    b.on('update', fn)
    return fn
  })
  return () => bases.forEach((b, i) => b.off('update', handlers[i]))
}

// Autobase 7.28.1's ack policy can go quiet with entries still unindexed: all peers hold
// the same tips, no linearizer wants to ack, and nothing becomes final until someone
// writes again (seen here on most heals with 3 indexers). Autobase's own test helper
// confirm() handles this by having indexers append null one after another, syncing in
// between. We do the same, only when the system has been quiescent (same heads everywhere,
// nothing applying) for QUIET_MS: one indexer per quiet period, round-robin, appends a null
// node (skipping the author of a sole tip: never self-ack). All indexers acking at once
// instead was seen to livelock Autobase (hundreds of ack rounds, indexed length stuck).
function makeNudger (bases) {
  let lastSig = ''
  let since = now()
  let inflight = false
  let next = 0
  const stats = { nudges: 0, nullAppends: 0 }
  return {
    stats,
    tick () {
      const sig = bases.map(headsSig).join('|') + bases.map((b) => b.length).join(',')
      if (sig !== lastSig) { lastSig = sig; since = now(); return }
      if (inflight || now() - since < QUIET_MS || !quiescent(bases)) return
      const tips = bases[0].heads()
      for (let k = 0; k < bases.length; k++) {
        const b = bases[(next + k) % bases.length]
        if (!b.isIndexer) continue
        if (tips.length === 1 && b4a.equals(tips[0].key, b.local.key)) continue
        next = (bases.indexOf(b) + 1) % bases.length
        stats.nudges++
        stats.nullAppends++
        inflight = true
        since = now()
        b.append(null).catch(() => {}).finally(() => { inflight = false })
        return
      }
    }
  }
}

async function main () {
  console.log(`autobase-reconcile: Autobase 7.28.1, ${WRITERS} indexers, N=${fmt(N)} entries each (${ENTRY_BYTES} B), ` +
    `base.append batches of ${BATCH}, ack: ${DRIVE_ACKS ? 'driven on update + ' : ''}timer ${ACK_INTERVAL} ms`)

  const stores = []
  for (let i = 0; i < WRITERS; i++) stores.push(new Corestore(tmpDir('autobase-' + 'abc'[i])))

  const setupStart = now()
  const a = makeBase(stores[0], null)
  await a.ready()
  const bases = [a]
  for (let i = 1; i < WRITERS; i++) {
    const b = makeBase(stores[i], a.key)
    await b.ready()
    bases.push(b)
  }
  const stopAcks = driveAcks(bases)

  await a.append(bases.slice(1).map((b) => addMessage(b.local.key, true)))
  let net = mesh(bases)
  // Added indexers must write once (their first ack) to become active. Autobase usually
  // does that by itself from its update loop but not reliably here, so ask them.
  const joining = new Set()
  await waitUntil(() => {
    for (const b of bases) {
      if (!b.writable || b.isIndexer || joining.has(b)) continue
      joining.add(b)
      b.ack().catch(() => {}).finally(() => joining.delete(b))
    }
    return bases.every((b) => b.isIndexer && b.system && b.system.indexers.length === WRITERS) && quiescent(bases)
  }, {
    emitters: bases, timeoutMs: SETUP_TIMEOUT_MS, label: 'setup: 3 active indexers, same heads', describe: () => describe(bases)
  })
  const setupMs = now() - setupStart
  const sysBefore = a.length

  // Partition.
  await net.destroy()
  const appendStart = now()
  await Promise.all(bases.map(async (b, w) => {
    for (let i = 0; i < N; i += BATCH) await b.append(dataEntries(w, i, Math.min(BATCH, N - i)))
  }))
  const appendMs = now() - appendStart

  // Heal and time convergence.
  const expected = WRITERS * N
  const nudger = makeNudger(bases)
  let indexedMs = null
  const healStart = now()
  const progress = setInterval(async () => {
    console.error(`[autobase] ${fmtMs(now() - healStart)} after heal: ${await describe(bases)}`)
  }, 15_000)
  net = mesh(bases)
  try {
    await waitUntil(async () => {
      nudger.tick()
      const ag = await agreement(bases, expected)
      if (ag.indexed && indexedMs === null) indexedMs = now() - healStart
      return ag.signed
    }, {
      emitters: bases, timeoutMs: TIMEOUT_MS, label: `all ${expected} entries indexed and signed everywhere`, describe: () => describe(bases)
    })
  } finally {
    clearInterval(progress)
  }
  const signedMs = now() - healStart
  const convergeMs = Math.min(indexedMs ?? signedMs, signedMs)
  const sysAfter = a.length

  stopAcks()
  await net.destroy()
  for (const b of bases) await b.close()
  for (const s of stores) await s.close()

  const result = {
    bench: 'autobase-reconcile',
    impl: 'autobase@7.28.1',
    writers: WRITERS,
    n: N,
    entries: expected,
    entryBytes: ENTRY_BYTES,
    batch: BATCH,
    ack: { driven: DRIVE_ACKS, intervalMs: ACK_INTERVAL },
    setupMs,
    appendMs,
    convergeMs,
    indexedMs,
    signedMs,
    nudges: nudger.stats.nudges,
    nullAppends: nudger.stats.nullAppends,
    entriesPerSec: perSecond(expected, convergeMs),
    msPerEntry: convergeMs / expected,
    systemBlocks: sysAfter - sysBefore,
    peakRssMiB: peakRssMiB()
  }

  printTable(`Autobase reconcile (${WRITERS} x ${fmt(N)})`, [
    { key: 'k', title: 'measure', align: 'left' },
    { key: 'v', title: 'value' }
  ], [
    { k: 'setup (bootstrap + add 2 indexers + agree)', v: fmtMs(setupMs) },
    { k: `append while partitioned (${WRITERS} x ${fmt(N)})`, v: fmtMs(appendMs) },
    { k: 'heal -> all 3N indexed, same view hash everywhere', v: fmtMs(indexedMs) },
    { k: 'heal -> all 3N also signed by quorum everywhere', v: fmtMs(signedMs) },
    { k: 'forced acks (one null append per ' + QUIET_MS + ' ms quiet)', v: fmt(nudger.stats.nullAppends) },
    { k: 'entries/s (3N / time to indexed)', v: fmt(result.entriesPerSec, 1) },
    { k: 'ms per entry', v: fmt(result.msPerEntry, 3) },
    { k: 'system blocks added (entries + acks)', v: fmt(result.systemBlocks) },
    { k: 'peak RSS (MiB)', v: fmt(result.peakRssMiB) }
  ])
  emitResult(result)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
