// Anchor for `finality`: the same workload on Autobase 7.28.1, three indexers in three processes
// over a local HyperDHT testnet bound to 127.0.0.1 (@hyperswarm/testnet, host 127.0.0.1; every
// worker's HyperDHT binds 127.0.0.1 and bootstraps only from it).
//
// Each worker: a Corestore in a temp dir, an Autobase (valueEncoding binary, apply appends data
// values to a 'view' core and handles add-writer messages), a Hyperswarm whose connections run
// base.replicate(conn) (the Corestore plus Autobase's wakeup protocol), joined on
// base.discoveryKey. A bootstraps and appends add-writer messages for B and C (indexers); a
// newly added indexer acks once to become active (as in autobase-reconcile.js). Setup ends when
// all three are active indexers with 3 indexers in the system and 2 live connections each.
// Set-up helpers (none active during the measurement): exactly one side of each pair dials (A
// announces, B announces and looks up, C looks up), because simultaneous dials plus the
// one-sided connections described in finality.js (NET_OPTS) left pairs unconnected for
// Hyperswarm's 5-15 s back-off; a dialed connection that has read nothing after 1 s is closed and
// discovery refreshed; and after 500 ms without progress an active indexer appends a null node
// (Autobase's policy sometimes went quiet with an added indexer not yet active: 5-35 s).
// Workload and measurement: the very same driver as finality.js (collectFinality): A appends
// one "fin:<i>:" value per tick at BENCH_FINALITY_RATE, warm-up first, measured entries, then
// more at the same rate until every measured entry is final everywhere. "Final" for Autobase =
// indexed: the entry is inside the view as of the system's indexed point
// (base.getIndexedInfo(), what the linearizer will never reorder; the same criterion as
// autobase-reconcile.js), checked on every 'update' and on a 20 ms fallback poll; the
// timestamp is the moment of the event that triggered the check (never later than the
// indexing, so this errs in Autobase's favour by up to one check).
// Acks: Autobase indexes only what indexers have acknowledged; its background ack timer fires
// every ackInterval..2*ackInterval ms (and sooner once ackThreshold = 4 nodes are unindexed).
// BENCH_AUTOBASE_FIN_ACK_INTERVAL defaults to 10 ms, the lowest that works well here. Tried at
// 20/s, p50 over 100 measured entries: 1 ms 0.16-0.2 s, 3 ms 0.6-4.6 s (ack storms: the
// timer fires before the previous ack is indexed), 10 ms 0.06-0.25 s, 30 ms 0.12 s,
// 100 ms 0.31-0.38 s, 1 s 0.36-0.42 s; at 2/s (sparse): 10 ms 52 ms, 1 s 3.0 s (the
// "3-4 s at a 1 s interval" figure); default 10 s at 1/s: 15 s p50, 18 s p99.
//
// Env: BENCH_FINALITY_RATE / BENCH_FINALITY_WARMUP_SECONDS / BENCH_ENTRY_BYTES (shared with
//      finality.js), BENCH_AUTOBASE_FIN_SECONDS (default BENCH_FINALITY_SECONDS or 10),
//      BENCH_AUTOBASE_FIN_ACK_INTERVAL (10), BENCH_AUTOBASE_FIN_TIMEOUT_MS (120,000 after the
//      last measured append), BENCH_AUTOBASE_FIN_SETUP_TIMEOUT_MS (60,000).
import { EventEmitter } from 'node:events'
import Corestore from 'corestore'
import Autobase from 'autobase'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import createTestnet from '@hyperswarm/testnet'
import b4a from 'b4a'
import { envInt } from './lib/env.js'
import { fmt, fmtMs } from './lib/timing.js'
import { tmpDir } from './lib/tmp.js'
import { waitUntil } from './lib/wait.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import {
  clock, spawnWorker, stopWorkers, request, measureClockOffsets, isWorker, workerChannel, guardProcesses
} from './lib/proc.js'
import { appendLoop, assertLoopback, collectFinality, combineOffsets, latencyStats, payloadIndex } from './finality.js'

const RATE = Math.max(1, envInt('BENCH_FINALITY_RATE', 20))
const SECONDS = Math.max(1, envInt('BENCH_AUTOBASE_FIN_SECONDS', envInt('BENCH_FINALITY_SECONDS', 10)))
const WARMUP_SECONDS = envInt('BENCH_FINALITY_WARMUP_SECONDS', 2)
const ENTRY_BYTES = Math.max(16, envInt('BENCH_ENTRY_BYTES', 100))
const ACK_INTERVAL = Math.max(1, envInt('BENCH_AUTOBASE_FIN_ACK_INTERVAL', 10))
const TIMEOUT_MS = envInt('BENCH_AUTOBASE_FIN_TIMEOUT_MS', 120_000)
const SETUP_TIMEOUT_MS = envInt('BENCH_AUTOBASE_FIN_SETUP_TIMEOUT_MS', 60_000)
const NAMES = ['A', 'B', 'C']

const ADD = 1 // [1, indexer, ...key32] adds a writer; anything else is a data value

async function apply (nodes, view, host) {
  let pending = []
  for (const node of nodes) {
    const v = node.value
    if (v === null) continue // ack
    if (v[0] === ADD && v.byteLength === 34) {
      if (pending.length) { await view.append(pending); pending = [] }
      await host.addWriter(v.subarray(2), { indexer: v[1] === 1 })
      continue
    }
    pending.push(v)
  }
  if (pending.length) await view.append(pending)
}

function headsSig (base) {
  return base.heads().map((h) => h.key.toString('hex') + ':' + h.length).join(',')
}

// ------------------------------------------------------------------ worker

async function worker () {
  let store = null
  let swarm = null
  let discovery = null
  let base = null
  let joining = false
  let setupPhase = true
  let watching = false
  let indexedSeen = 0
  let statusQueued = false
  let lastStatus = ''
  let poll = null
  let setupTimer = null
  let stalls = 0
  const runState = { stop: false }

  const summary = () => ({
    isIndexer: base.isIndexer,
    writable: base.writable,
    indexers: base.system ? base.system.indexers.length : 0,
    heads: headsSig(base),
    busy: !!(base.updating || base.flushing || base._appending !== null),
    // connections that have carried data (a stalled one is not a peer yet)
    peers: [...swarm.connections].filter((c) => c.rawBytesRead > 0).length,
    indexedLength: base.indexedLength,
    length: base.length
  })
  const pushStatus = (force = false) => {
    if (!base || (!setupPhase && !force) || (statusQueued && !force)) return
    statusQueued = true
    setImmediate(() => {
      statusQueued = false
      const s = summary()
      const str = JSON.stringify(s)
      if (str === lastStatus && !force) return
      lastStatus = str
      reply({ type: 'status', ...s })
    })
  }

  // The indexed view's length (the user view as of the system's indexed point).
  const indexedViewLength = async () => {
    // _applyState is null while Autobase reboots its apply state (seen under load): no news then
    if (!base._applyState) return indexedSeen
    let info = null
    try { info = await base.getIndexedInfo() } catch { return indexedSeen }
    if (!info || !info.views.length) return 0
    const key = base.view.key
    const v = info.views.find((x) => key && b4a.equals(x.key, key)) || info.views[0]
    return v.length
  }

  // Serialized checks; t = time of the first event since the last check started.
  let checking = false
  let again = false
  let firstEventAt = null
  const trigger = () => {
    if (!watching) return
    if (firstEventAt === null) firstEventAt = clock()
    if (checking) { again = true; return }
    check().catch((err) => reply({ type: 'error', message: String(err.stack || err) }))
  }
  const check = async () => {
    checking = true
    try {
      do {
        again = false
        const t = firstEventAt
        firstEventAt = null
        const len = await indexedViewLength()
        if (len > indexedSeen) {
          const ids = []
          for (let pos = indexedSeen; pos < len; pos++) {
            const i = payloadIndex(await base.view.get(pos))
            if (i >= 0) ids.push(String(i))
          }
          indexedSeen = len
          if (ids.length) reply({ type: 'final', ids, t })
        }
      } while (again && watching)
    } finally {
      checking = false
    }
  }

  const reply = workerChannel({
    async open (m) {
      assertLoopback(m.bootstrap)
      store = new Corestore(m.dir)
      swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: m.bootstrap, host: '127.0.0.1' }) })
      base = new Autobase(store, m.key ? Buffer.from(m.key, 'hex') : null, {
        open: (s) => s.get('view'),
        apply,
        valueEncoding: 'binary',
        ackInterval: m.ackInterval
      })
      base.on('error', (err) => console.error('[autobase] error:', err))
      await base.ready()
      swarm.on('connection', (conn, info) => {
        conn.on('error', () => {})
        conn.on('close', () => pushStatus())
        // Seen here with plain Hyperswarm too, in about 1 of 3 multi-process set-ups on the
        // loopback testnet: the dialing side's connection opens but the other side never gets
        // it, and nothing flows. A connection that has read nothing after 1 s is closed and
        // discovery refreshed, which dials again at once.
        if (info.client) {
          const stall = setTimeout(() => {
            if (conn.destroyed || conn.rawBytesRead > 0) return
            stalls++
            conn.destroy()
            discovery.refresh({ server: m.server, client: m.client }).catch(() => {})
          }, 1000)
          conn.once('close', () => clearTimeout(stall))
        }
        base.replicate(conn)
        pushStatus()
      })
      // an added indexer writes once (an ack) to become active; Autobase does not always do it
      // by itself, and ack() returns early while the base is busy: retried on every update and
      // every 50 ms during setup
      const joinAck = () => {
        if (setupPhase && base.writable && !base.isIndexer && !joining) {
          joining = true
          base.ack().catch(() => {}).finally(() => { joining = false })
        }
      }
      setupTimer = setInterval(() => { joinAck(); pushStatus() }, 50)
      base.on('update', () => {
        joinAck()
        pushStatus()
        trigger()
      })
      await swarm.dht.fullyBootstrapped()
      discovery = swarm.join(base.discoveryKey, { server: m.server, client: m.client })
      reply({ type: 'opened', key: base.key.toString('hex'), localKey: base.local.key.toString('hex') })
      pushStatus(true)
    },
    async discover (m) {
      await discovery.flushed()
      await discovery.refresh({ server: m.server, client: m.client })
      await swarm.flush()
      reply({ type: 'discovered' })
    },
    async 'add-writers' (m) {
      await base.append(m.keys.map((k) => b4a.concat([b4a.from([ADD, 1]), Buffer.from(k, 'hex')])))
      reply({ type: 'added' })
    },
    status () { pushStatus(true) },
    async nudge () {
      // setup only: a null node (an ack by hand, as Autobase's own confirm() test helper does)
      if (base.writable) await base.append(null)
    },
    async watch () {
      setupPhase = false
      clearInterval(setupTimer)
      indexedSeen = await indexedViewLength()
      watching = true
      poll = setInterval(trigger, 20)
      reply({ type: 'watching' })
    },
    async run (m) {
      runState.stop = false
      await appendLoop(m, runState, async (buf) => { await base.append(buf); return payloadIndex(buf) }, reply)
    },
    stop () { runState.stop = true },
    async verify () {
      const len = await indexedViewLength()
      const ids = []
      for (let pos = 0; pos < len; pos++) {
        const i = payloadIndex(await base.view.get(pos))
        if (i >= 0) ids.push(i)
      }
      reply({ type: 'verified', ids, indexedLength: len, systemLength: base.length, localLength: base.local.length, stalls })
    },
    async close () {
      runState.stop = true
      watching = false
      if (poll) clearInterval(poll)
      if (setupTimer) clearInterval(setupTimer)
      if (swarm) await swarm.destroy().catch(() => {})
      if (base) await base.close().catch(() => {})
      if (store) await store.close().catch(() => {})
    }
  })
}

// ------------------------------------------------------------------ parent

async function main () {
  guardProcesses()
  const warmup = WARMUP_SECONDS * RATE
  const measured = SECONDS * RATE
  console.log(`autobase-finality: Autobase 7.28.1, 3 indexers in 3 processes on a 127.0.0.1 testnet, A appends ${RATE}/s ` +
    `(${ENTRY_BYTES} B), ${fmt(warmup)} warm-up + ${fmt(measured)} measured, ack interval ${ACK_INTERVAL} ms`)

  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const bootstrap = testnet.bootstrap.map((n) => ({ host: n.host, port: n.port }))
  assertLoopback(bootstrap)
  const workers = []
  let out = null
  try {
    const setupStart = clock()
    const mark = (what) => { if (process.env.BENCH_DEBUG) console.error(`[setup] ${fmtMs(clock() - setupStart)} ${what}`) }
    for (const name of NAMES) workers.push(spawnWorker('autobase-finality.js', { name: `ab-${name}` }))
    const statuses = workers.map(() => null)
    const hub = new EventEmitter()
    let lastChange = clock()
    workers.forEach((w, k) => w.on('status', (m) => {
      statuses[k] = m
      lastChange = clock()
      if (process.env.BENCH_DEBUG) mark(`${NAMES[k]} ${JSON.stringify(m).replace(/[0-9a-f]{56}/g, '')}`)
      hub.emit('update')
    }))
    const [a, b, c] = workers
    const base = { bootstrap, ackInterval: ACK_INTERVAL }
    // Who dials whom: when two Hyperswarm peers dial each other at once, one duplicate is closed
    // and here that sometimes left a pair unconnected for Hyperswarm's 5-15 s retry back-off
    // (setups of 15-36 s). So exactly one side of each pair dials: A only announces, B announces
    // and looks up, C only looks up (after A's and B's announces are done).
    const roles = [{ server: true, client: false }, { server: true, client: true }, { server: false, client: true }]
    a.send({ type: 'open', dir: tmpDir('ab-finality-a'), ...base, ...roles[0] })
    const opened = [await a.next('opened', { timeoutMs: SETUP_TIMEOUT_MS })]
    b.send({ type: 'open', dir: tmpDir('ab-finality-b'), key: opened[0].key, ...base, ...roles[1] })
    c.send({ type: 'open', dir: tmpDir('ab-finality-c'), key: opened[0].key, ...base, ...roles[2] })
    opened.push(...await Promise.all([b, c].map((w) => w.next('opened', { timeoutMs: SETUP_TIMEOUT_MS }))))
    mark('opened')
    await Promise.all([a, b].map((w, k) => request([w], { type: 'discover', ...roles[k] }, 'discovered', { timeoutMs: SETUP_TIMEOUT_MS })))
    await request([c], { type: 'discover', ...roles[2] }, 'discovered', { timeoutMs: SETUP_TIMEOUT_MS })
    mark('discovered')
    a.send({ type: 'add-writers', keys: [opened[1].localKey, opened[2].localKey] })
    await a.next('added', { timeoutMs: SETUP_TIMEOUT_MS })
    mark('added')
    // (not waiting for equal heads: with a short ack interval the indexers keep acking each
    // other for a while; the warm-up entries absorb that)
    // Autobase's ack policy sometimes goes quiet before the last added indexer is active (seen:
    // 5-35 s): after 500 ms without any change an active indexer appends a null node (round-robin).
    let nudges = 0
    const nudger = setInterval(() => {
      if (clock() - lastChange < 500) return
      const active = statuses.map((s, k) => (s && s.isIndexer ? k : -1)).filter((k) => k >= 0)
      if (!active.length) return
      workers[active[nudges++ % active.length]].send({ type: 'nudge' })
      lastChange = clock()
    }, 100)
    try {
      await waitUntil(() => statuses.every((s) => s && s.isIndexer && s.indexers === 3 && s.peers >= 2), {
        emitters: [hub],
        timeoutMs: SETUP_TIMEOUT_MS,
        pollMs: 250,
        label: 'setup: 3 active indexers, full mesh',
        describe: () => JSON.stringify(statuses)
      })
    } finally {
      clearInterval(nudger)
    }
    mark(`setup done (${nudges} null nodes appended)`)
    const setupMs = clock() - setupStart
    const before = await measureClockOffsets(workers)
    await request(workers, { type: 'watch' }, 'watching', { timeoutMs: 30_000 })
    const run = await collectFinality(workers, { rate: RATE, bytes: ENTRY_BYTES, warmup, measured, timeoutMs: TIMEOUT_MS, label: 'autobase' })
    const offsets = combineOffsets(before, await measureClockOffsets(workers))
    const verified = await request(workers, { type: 'verify' }, 'verified', { timeoutMs: 60_000 })
    const problems = []
    verified.forEach((v, k) => {
      if (!v.ids.every((x, j) => j === 0 || v.ids[j - 1] < x)) problems.push(`${NAMES[k]}: payloads out of order`)
      const seen = v.ids.filter((i) => i >= warmup && i < warmup + measured).length
      if (run.complete && seen !== measured) problems.push(`${NAMES[k]}: ${seen} of ${measured} measured payloads indexed`)
    })
    out = {
      setupMs,
      offsets,
      stats: latencyStats(run.entries, NAMES, offsets.map((o) => o.offsetMs)),
      complete: run.complete,
      missing: run.missing,
      appendedTotal: run.appendedTotal,
      problems,
      systemLength: verified.map((v) => v.systemLength),
      localLengths: verified.map((v) => v.localLength),
      stalls: verified.reduce((n, v) => n + v.stalls, 0)
    }
  } finally {
    const killed = await stopWorkers(workers)
    if (killed.length) console.error(`[bench] had to kill ${killed.join(', ')}`)
    await testnet.destroy()
  }

  const s = out.stats
  printTable(`Autobase finality: append returned -> indexed on all 3 (ack interval ${ACK_INTERVAL} ms)`, [
    { key: 'm', title: 'measure', align: 'left' }, { key: 'v', title: 'value' }
  ], [
    { m: 'entries indexed everywhere / measured', v: `${s.all.n}/${measured}` },
    { m: 'p50', v: fmtMs(s.all.p50) },
    { m: 'p90', v: fmtMs(s.all.p90) },
    { m: 'p99', v: fmtMs(s.all.p99) },
    { m: 'max', v: fmtMs(s.all.max) },
    { m: 'p50 indexed on the first node', v: fmtMs(s.first.p50) },
    { m: 'p50 append() call itself', v: fmtMs(s.appendCall.p50) },
    ...s.perWorker.map((w) => ({ m: `${w.name}: p50 / p99`, v: `${fmtMs(w.p50)} / ${fmtMs(w.p99)}` })),
    { m: 'setup', v: fmtMs(out.setupMs) },
    { m: 'stalled connections closed and re-dialed', v: fmt(out.stalls) },
    { m: 'local oplog blocks per base (entries + acks)', v: out.localLengths.join(' / ') },
    { m: 'clock offsets (worker - parent)', v: out.offsets.map((o) => fmtMs(o.offsetMs)).join(' / ') }
  ])
  if (out.problems.length) console.log(`PROBLEMS: ${out.problems.join('; ')}`)
  if (!out.complete) console.log(`INCOMPLETE: ${out.missing} measured entries not indexed everywhere within the deadline`)
  emitResult({
    bench: 'autobase-finality',
    impl: 'autobase@7.28.1',
    ackInterval: ACK_INTERVAL,
    rate: RATE,
    measured,
    setupMs: out.setupMs,
    stats: s,
    complete: out.complete,
    missing: out.missing,
    problems: out.problems,
    offsets: out.offsets,
    localLengths: out.localLengths,
    stalls: out.stalls
  })
  if (out.problems.length) process.exitCode = 1
}

if (isMain(import.meta.url)) {
  if (isWorker()) {
    worker().catch((err) => { console.error(err); process.exit(1) })
  } else {
    main().catch((err) => {
      console.error(err)
      process.exit(1)
    })
  }
}
