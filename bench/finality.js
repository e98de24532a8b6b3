// `finality`: time from `append` returning to the entry being final on all three indexers,
// each indexer in its own process, syncing over a local HyperDHT testnet bound to 127.0.0.1.
//
// Setup: the parent starts a 3-node testnet (createLocalTestnet: 127.0.0.1 only) and forks 3
// workers (this file with --worker), each with its own Corestore, Network and ChainNode. A
// creates the chain and adds B and C as indexers; the run starts once all three show 3 active
// indexers, 2 peers each, and the same final length and head.
// Workload: A appends one entry (BENCH_ENTRY_BYTES, unique payload "fin:<i>:") at a steady
// rate (timer-paced, BENCH_FINALITY_RATE per second): warm-up entries first (not measured),
// then BENCH_FINALITY_SECONDS worth of measured entries, then more unmeasured entries at the
// same rate until every measured entry is final everywhere (so the last measured entries see
// the same steady state as the others).
// Measurement: A timestamps `append` returning (t_ret) and sends it with the entry's block seq
// (one entry = one block of A's feed). Every worker listens to its node's 'final' segments and
// timestamps when a block of A's feed becomes final locally. Timestamps are taken in the
// processes (lib/proc.js clock(): performance.timeOrigin + performance.now(), one machine so
// one clock; IPC only carries the numbers, its latency is not measured; the offsets between
// the processes' clocks are measured with IPC ping-pongs before and after the run, printed and
// subtracted: they come out at a few µs to ~1 ms). Finality on all three
// = max over A, B, C of (final time - t_ret). Also measured: when A's block arrives at B and C
// (hypercore 'download' on a second session of A's feed), to split replication from consensus.
// At the end every node reads its final chain: each measured payload exactly once, in order,
// same head everywhere.
//
// Anchor: autobase-finality.js (Autobase 7.28.1, the same workload in 3 processes over the same
// kind of testnet), run first as a tracked child in this same run. Context: published
// time-to-finality of public chains (Avalanche, Solana, Ethereum, Bitcoin).
//
// Env: BENCH_FINALITY_RATE (20/s), BENCH_FINALITY_SECONDS (10), BENCH_FINALITY_WARMUP_SECONDS (2),
//      BENCH_ENTRY_BYTES (100), BENCH_FINALITY_ACK_DEBOUNCE / BENCH_FINALITY_LEADER_WAIT (ms;
//      unset = ChainNode defaults 20 / 250), BENCH_FINALITY_TIMEOUT_MS (30,000: after the last
//      measured append), BENCH_FINALITY_SETUP_TIMEOUT_MS (60,000), BENCH_AUTOBASE_FINALITY
//      (1; 0 skips the anchor), plus the anchor's own (see autobase-finality.js).
import { EventEmitter } from 'node:events'
import Corestore from 'corestore'
import { envInt } from './lib/env.js'
import { fmt, fmtMs, fmtRatio } from './lib/timing.js'
import { tmpDir } from './lib/tmp.js'
import { waitUntil } from './lib/wait.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { loadFeedchain } from './lib/feedchain.js'
import {
  clock, spawnWorker, stopWorkers, request, runTracked, measureClockOffsets, isWorker, workerChannel,
  percentile, guardProcesses, liveCount
} from './lib/proc.js'

const RATE = Math.max(1, envInt('BENCH_FINALITY_RATE', 20))
const SECONDS = Math.max(1, envInt('BENCH_FINALITY_SECONDS', 10))
const WARMUP_SECONDS = envInt('BENCH_FINALITY_WARMUP_SECONDS', 2)
const ENTRY_BYTES = Math.max(16, envInt('BENCH_ENTRY_BYTES', 100))
const ACK_DEBOUNCE = process.env.BENCH_FINALITY_ACK_DEBOUNCE ? envInt('BENCH_FINALITY_ACK_DEBOUNCE', 20) : undefined
const LEADER_WAIT = process.env.BENCH_FINALITY_LEADER_WAIT ? envInt('BENCH_FINALITY_LEADER_WAIT', 250) : undefined
const TIMEOUT_MS = envInt('BENCH_FINALITY_TIMEOUT_MS', 30_000)
const SETUP_TIMEOUT_MS = envInt('BENCH_FINALITY_SETUP_TIMEOUT_MS', 60_000)
const RUN_ANCHOR = envInt('BENCH_AUTOBASE_FINALITY', 1) !== 0
const NAMES = ['A', 'B', 'C']
const TARGET_P50 = 150
const TARGET_P99 = 500

// Network options for the nodes a benchmark sets up (not for what it measures joining: see
// catch-up.js). Between processes on this loopback testnet a dialed connection often opens on
// the dialing side while the other side never gets it (plain Hyperswarm too: a fresh process
// dialing 3 announced ones had at least one such connection in 10 of 10 tries). The Network
// closes such a connection as lost after deadConnectionTimeout (2.5 s + jitter) and refreshes
// discovery (before 4b6c0b1 it counted as a strike and two banned an honest peer). A faster
// discovery refresh than the product default (1 s doubling to 15 s) gets the set-up's mesh
// complete sooner; nudgeMesh() below does the rest. None of this matters once the mesh is up.
export const NET_OPTS = { refreshMin: 250, refreshMax: 2000 }

/**
 * Set-up only: while a worker's status shows fewer than `wanted` peers, ask it to look the
 * topic up again ('discover'), at most once per `everyMs`. A refresh that finds a peer resets
 * Hyperswarm's back-off (1-2 s, 5 s, 15 s, then never) for it, which is what a one-sided
 * connection dropped by the handshake timeout otherwise waits for. Returns stop().
 */
export function nudgeMesh (workers, statuses, { wanted = workers.length - 1, everyMs = 1000 } = {}) {
  const last = workers.map(() => 0)
  const timer = setInterval(() => {
    statuses.forEach((s, k) => {
      if (!s || s.peers >= wanted || clock() - last[k] < everyMs) return
      last[k] = clock()
      try { workers[k].send({ type: 'discover' }) } catch {}
    })
  }, 100)
  return () => clearInterval(timer)
}

/** Published time to finality of public chains, seconds (context rows, not measured). */
export const PUBLIC_CHAINS = [
  { name: 'Avalanche', seconds: 1 },
  { name: 'Solana', seconds: 12.8 },
  { name: 'Ethereum', seconds: 960 },
  { name: 'Bitcoin', seconds: 3600 }
]

// ------------------------------------------------------------------ shared with the anchor

/** The unique payload of entry i: "fin:<i>:" padded with 'x' to `bytes`. */
export function payload (i, bytes) {
  const head = `fin:${i}:`
  return Buffer.from(head.padEnd(Math.max(bytes, head.length), 'x'))
}

/** Entry index of a payload made by payload(), or -1. */
export function payloadIndex (buf) {
  const s = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.byteLength, 24)).toString('latin1')
  const m = /^fin:(\d+):/.exec(s)
  return m ? Number(m[1]) : -1
}

/** Assert a comma list of host:port is all on 127.0.0.0/8 (the benchmarks' network rule). */
export function assertLoopback (bootstrap) {
  const list = typeof bootstrap === 'string' ? bootstrap.split(',').map((s) => s.slice(0, s.lastIndexOf(':'))) : bootstrap.map((n) => n.host)
  if (!list.length || !list.every((h) => /^127\.\d+\.\d+\.\d+$/.test(h))) throw new Error(`refusing a bootstrap outside 127.0.0.0/8: ${JSON.stringify(bootstrap)}`)
}

/**
 * The timer-paced appender loop, worker side. `append(buf)` returns the entry's id (string)
 * once the append returned. Sends { type: 'appended', i, id, tCall, tRet } per entry and
 * { type: 'run-done', count } after a stop request (state.stop) or `max` entries.
 */
export async function appendLoop ({ rate, bytes, max = Infinity }, state, append, reply) {
  const period = 1000 / rate
  const t0 = clock() + period
  let i = 0
  for (; i < max && !state.stop; i++) {
    const wait = t0 + i * period - clock()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait)) // pacing, not synchronization
    if (state.stop) break
    const buf = payload(i, bytes)
    const tCall = clock()
    const id = await append(buf)
    const tRet = clock()
    reply({ type: 'appended', i, id: String(id), tCall, tRet })
  }
  reply({ type: 'run-done', count: i })
}

/** { n, min, p50, p90, p99, max, mean } of a list of ms values (nulls when empty). */
export function summarize (xs) {
  if (!xs.length) return { n: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null }
  return {
    n: xs.length,
    min: Math.min(...xs),
    p50: percentile(xs, 50),
    p90: percentile(xs, 90),
    p99: percentile(xs, 99),
    max: Math.max(...xs),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length
  }
}

/**
 * Parent side of one measured run. workers[0] is the appender; every worker streams
 * { type: 'final', ids, t } (ids of the appender's entries that became final locally, t = its
 * clock) and optionally { type: 'arrived', ids, t }. Sends { type: 'run', rate, bytes } to the
 * appender, waits until the `measured` entries after `warmup` are final on every worker (or
 * the deadline), then sends { type: 'stop' } and waits for 'run-done'.
 * Returns { entries: [{ i, id, tCall, tRet, final: [t per worker|null], arrived: [...] }],
 *           appendedTotal, complete, missing, elapsedMs }.
 */
export async function collectFinality (workers, { rate, bytes, warmup, measured, timeoutMs, label = 'run' }) {
  const appender = workers[0]
  const appended = new Map() // i -> message
  const finals = workers.map(() => new Map()) // id -> t
  const arrivals = workers.map(() => new Map())
  const hub = new EventEmitter()
  let appendedTotal = 0

  appender.on('appended', (m) => { appended.set(m.i, m); appendedTotal++; hub.emit('update') })
  workers.forEach((w, k) => {
    w.on('final', (m) => { for (const id of m.ids) if (!finals[k].has(id)) finals[k].set(id, m.t); hub.emit('update') })
    w.on('arrived', (m) => { for (const id of m.ids) if (!arrivals[k].has(id)) arrivals[k].set(id, m.t) })
  })

  const first = warmup
  const last = warmup + measured // exclusive
  let done = 0 // measured entries known final everywhere, in order of i (scan resumes here)
  const complete = () => {
    while (done < measured) {
      const m = appended.get(first + done)
      if (!m || !finals.every((f) => f.has(m.id))) return false
      done++
    }
    return true
  }

  const start = clock()
  appender.send({ type: 'run', rate, bytes })
  const runMs = (last / rate) * 1000
  let timedOut = false
  try {
    await waitUntil(complete, {
      emitters: [hub],
      timeoutMs: runMs + timeoutMs,
      pollMs: 200,
      label: `${label}: ${measured} measured entries final on all ${workers.length}`,
      describe: () => `appended ${appendedTotal}, measured final everywhere ${done}/${measured}, final per worker ${finals.map((f) => f.size).join('/')}`
    })
  } catch (err) {
    if (!/timed out/.test(err.message)) throw err
    timedOut = true
    console.error(`[bench] ${err.message}`)
  }
  const elapsedMs = clock() - start
  appender.send({ type: 'stop' })
  await appender.next('run-done', { timeoutMs: 30_000 })

  const entries = []
  for (let i = first; i < last; i++) {
    const m = appended.get(i)
    if (!m) continue
    entries.push({
      i,
      id: m.id,
      tCall: m.tCall,
      tRet: m.tRet,
      final: finals.map((f) => (f.has(m.id) ? f.get(m.id) : null)),
      arrived: arrivals.map((a) => (a.has(m.id) ? a.get(m.id) : null))
    })
  }
  const missing = measured - entries.filter((e) => e.final.every((t) => t !== null)).length
  return { entries, appendedTotal, complete: !timedOut && missing === 0, missing, elapsedMs }
}

/**
 * Latency figures of collectFinality() entries: all (max over workers), first node, per worker,
 * block arrivals, the append call. `offsets[k]` (worker k's clock minus the parent's, from
 * measureClockOffsets) puts every timestamp on the parent's clock first.
 */
export function latencyStats (entries, names, offsets = names.map(() => 0)) {
  const fix = (t, k) => (t === null ? null : t - offsets[k])
  const es = entries.map((e) => ({
    tRet: fix(e.tRet, 0),
    tCall: fix(e.tCall, 0),
    final: e.final.map(fix),
    arrived: e.arrived.map(fix)
  }))
  const done = es.filter((e) => e.final.every((t) => t !== null))
  return {
    all: summarize(done.map((e) => Math.max(...e.final) - e.tRet)),
    first: summarize(done.map((e) => Math.min(...e.final) - e.tRet)),
    perWorker: names.map((name, k) => ({ name, ...summarize(es.filter((e) => e.final[k] !== null).map((e) => e.final[k] - e.tRet)) })),
    arrival: names.map((name, k) => ({ name, ...summarize(es.filter((e) => e.arrived[k] !== null).map((e) => e.arrived[k] - e.tRet)) })),
    appendCall: summarize(es.map((e) => e.tRet - e.tCall))
  }
}

/** Clock offsets measured before and after a run: the mean per worker and the largest drift. */
export function combineOffsets (before, after) {
  return before.map((b, k) => ({
    name: b.name,
    offsetMs: (b.offsetMs + after[k].offsetMs) / 2,
    driftMs: after[k].offsetMs - b.offsetMs,
    rttMs: Math.max(b.rttMs, after[k].rttMs)
  }))
}

// ------------------------------------------------------------------ worker

/**
 * The worker side of a feedchain node process (also used by catch-up.js): one Corestore,
 * Network and ChainNode, driven over IPC. `extra(ctx, reply)` may add message handlers; ctx
 * holds { store, network, node } once 'open' ran.
 */
export async function chainWorker (extra = () => ({})) {
  const { ChainNode, Network } = await loadFeedchain()
  const ctx = { store: null, network: null, node: null }
  let store = null
  let network = null
  let node = null
  let watchHex = null
  let watchCore = null
  let statusOn = true
  let statusQueued = false
  let lastStatus = ''
  const runState = { stop: false }
  let deadConnections = 0 // closed without ever receiving a byte (one-sided, see NET_OPTS)

  const summary = () => {
    const s = node.status()
    return {
      length: s.length,
      finalLength: s.finalLength,
      head: s.head,
      indexers: s.writers.filter((w) => w.indexer && !w.removed).length,
      pendingIndexers: s.writers.filter((w) => w.pendingIndexer).length,
      peers: s.peers.length,
      halted: s.halted,
      net: { ...network.stats, dead: deadConnections }
    }
  }
  const pushStatus = (force = false) => {
    if (!node || (!statusOn && !force)) return
    if (statusQueued && !force) return
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

  const reply = workerChannel({
    async open (m) {
      assertLoopback(m.bootstrap)
      store = new Corestore(m.dir)
      network = new Network(store, { bootstrap: m.bootstrap, host: '127.0.0.1', ...NET_OPTS })
      network.on('connection', (conn) => conn.once('close', () => { if (!conn.rawBytesRead) deadConnections++ }))
      await network.ready()
      const opts = { network }
      if (m.key) opts.key = Buffer.from(m.key, 'hex')
      if (m.ackDebounce !== undefined) opts.ackDebounce = m.ackDebounce
      if (m.leaderWait !== undefined) opts.leaderWait = m.leaderWait
      node = new ChainNode(store, opts)
      await node.ready()
      Object.assign(ctx, { store, network, node })
      node.on('update', () => pushStatus())
      network.on('update', () => pushStatus())
      node.on('final', (seg) => {
        const t = clock()
        if (watchHex === null) return
        const ids = []
        for (const b of seg.blocks) if (b.writer === watchHex && b.entries > 0) ids.push(String(b.seq))
        if (ids.length) reply({ type: 'final', ids, t })
      })
      reply({ type: 'opened', key: node.key.toString('hex'), writerKey: node.writerKey.toString('hex') })
      pushStatus(true)
    },
    async 'add-writers' (m) {
      for (const k of m.keys) await node.addWriter(Buffer.from(k, 'hex'), { indexer: true })
      reply({ type: 'added' })
    },
    status () { pushStatus(true) },
    async discover () {
      // join() again resolves once the first announce + lookup are done; then look up again,
      // so nodes that joined at the same moment find each other (see setup in the parent)
      await network.join(node.discoveryKey)
      await network.refresh()
      reply({ type: 'discovered' })
    },
    async watch (m) {
      statusOn = false
      watchHex = m.writer
      if (m.writer !== node.writerKey.toString('hex')) {
        // a second session of the appender's feed: its 'download' events say when a block arrived
        watchCore = store.get({ key: Buffer.from(m.writer, 'hex') })
        await watchCore.ready()
        watchCore.on('download', (index) => reply({ type: 'arrived', ids: [String(index)], t: clock() }))
      }
      reply({ type: 'watching' })
    },
    async run (m) {
      runState.stop = false
      await appendLoop(m, runState, async (buf) => (await node.append(buf)).seq, reply)
    },
    stop () { runState.stop = true },
    async verify (m) {
      // the final chain: the appender's "fin:" payloads in chain order, head, and block counts
      const ids = []
      for await (const e of node.read({ final: true })) {
        if (e.writer.toString('hex') === m.writer) {
          const i = payloadIndex(e.data)
          if (i >= 0) ids.push(i)
        }
      }
      const s = node.status()
      reply({
        type: 'verified',
        ids,
        finalLength: s.finalLength,
        head: s.head,
        writers: s.writers.map((w) => ({ key: w.key, length: w.length, finalLength: w.finalLength, self: w.self })),
        warnings: node.warnings.slice(-5)
      })
    },
    ...extra(ctx, (msg) => reply(msg)),
    async close () {
      runState.stop = true
      if (watchCore) await watchCore.close().catch(() => {})
      if (node) await node.close().catch(() => {})
      if (network) await network.close().catch(() => {})
      if (store) await store.close().catch(() => {})
    }
  })
}

// ------------------------------------------------------------------ parent

async function runFeedchain () {
  const { createLocalTestnet } = await loadFeedchain()
  const warmup = WARMUP_SECONDS * RATE
  const measured = SECONDS * RATE
  const testnet = await createLocalTestnet(3)
  assertLoopback(testnet.bootstrap)
  const workers = []
  try {
    const setupStart = clock()
    const mark = (what) => { if (process.env.BENCH_DEBUG) console.error(`[setup] ${fmtMs(clock() - setupStart)} ${what}`) }
    for (const name of NAMES) {
      workers.push(spawnWorker('finality.js', { name: `fc-${name}` }))
    }
    const statuses = workers.map(() => null)
    const hub = new EventEmitter()
    workers.forEach((w, k) => w.on('status', (m) => { statuses[k] = m; hub.emit('update') }))

    const base = { bootstrap: testnet.bootstrapString, ackDebounce: ACK_DEBOUNCE, leaderWait: LEADER_WAIT }
    const [a, b, c] = workers
    a.send({ type: 'open', dir: tmpDir('fc-finality-a'), ...base })
    const opened = [await a.next('opened', { timeoutMs: SETUP_TIMEOUT_MS })]
    for (const [k, w] of [[1, b], [2, c]]) w.send({ type: 'open', dir: tmpDir('fc-finality-' + 'abc'[k]), key: opened[0].key, ...base })
    opened.push(...await Promise.all([b, c].map((w) => w.next('opened', { timeoutMs: SETUP_TIMEOUT_MS }))))
    mark('opened')
    // B and C join at the same moment: each one's lookup may run before the other's announce
    // lands, and the Network refreshes discovery only while a topic has no peers (B and C both
    // have A), so they might not connect for Hyperswarm's 10 min refresh. One more lookup after
    // every announce is done makes the mesh complete.
    await request(workers, { type: 'discover' }, 'discovered', { timeoutMs: SETUP_TIMEOUT_MS })
    mark('discovered')
    a.send({ type: 'add-writers', keys: [opened[1].writerKey, opened[2].writerKey] })
    await a.next('added', { timeoutMs: SETUP_TIMEOUT_MS })
    mark('added')

    const stopNudging = nudgeMesh(workers, statuses)
    try {
      await waitUntil(() => statuses.every((s) => s && !s.halted && s.indexers === 3 && s.pendingIndexers === 0 && s.peers >= 2 &&
        s.length === s.finalLength && s.finalLength === statuses[0].finalLength && s.head === statuses[0].head), {
        emitters: [hub],
        timeoutMs: SETUP_TIMEOUT_MS,
        pollMs: 250,
        label: 'setup: 3 active indexers, full mesh, same final prefix',
        describe: () => JSON.stringify(statuses)
      })
    } finally {
      stopNudging()
    }
    const setupMs = clock() - setupStart
    const setupNet = statuses.map((st) => st.net)
    const before = await measureClockOffsets(workers)

    await request(workers, { type: 'watch', writer: opened[0].writerKey }, 'watching', { timeoutMs: 10_000 })
    const run = await collectFinality(workers, { rate: RATE, bytes: ENTRY_BYTES, warmup, measured, timeoutMs: TIMEOUT_MS, label: 'feedchain' })
    const offsets = combineOffsets(before, await measureClockOffsets(workers))

    // Correctness: every node's final chain holds the measured payloads once each, in order; same head.
    const verified = await request(workers, { type: 'verify', writer: opened[0].writerKey }, 'verified', { timeoutMs: 30_000 })
    const problems = []
    verified.forEach((v, k) => {
      const seen = v.ids.filter((i) => i >= warmup && i < warmup + measured)
      const inOrder = v.ids.every((x, j) => j === 0 || v.ids[j - 1] < x)
      if (!inOrder) problems.push(`${NAMES[k]}: payloads out of order`)
      if (run.complete && seen.length !== measured) problems.push(`${NAMES[k]}: ${seen.length} of ${measured} measured payloads in the final chain`)
    })
    // heads are compared at equal final lengths only (the appender may be a block ahead)
    const minFinal = Math.min(...verified.map((v) => v.finalLength))
    const sameHead = verified.every((v) => v.finalLength !== minFinal || v.head === verified.find((x) => x.finalLength === minFinal).head)
    if (!sameHead) problems.push('different heads at the same final length')
    const blocks = verified.map((v, k) => {
      const self = v.writers.find((w) => w.self)
      return { name: NAMES[k], blocks: self ? self.length : 0 }
    })
    return { setupMs, setupNet, offsets, run, stats: latencyStats(run.entries, NAMES, offsets.map((o) => o.offsetMs)), problems, blocks, appendedTotal: run.appendedTotal, warmup, measured }
  } finally {
    const killed = await stopWorkers(workers)
    if (killed.length) console.error(`[bench] had to kill ${killed.join(', ')}`)
    await testnet.destroy()
  }
}

function statRow (s, key) {
  return s ? fmtMs(s[key]) : 'n/a'
}

async function main () {
  guardProcesses()
  const warmup = WARMUP_SECONDS * RATE
  const measured = SECONDS * RATE
  console.log(`finality: 3 indexers in 3 processes on a 127.0.0.1 testnet; A appends ${RATE}/s (${ENTRY_BYTES} B entries), ` +
    `${fmt(warmup)} warm-up + ${fmt(measured)} measured; append returned -> final on all three. ` +
    `ChainNode ackDebounce ${ACK_DEBOUNCE ?? 'default (20)'} ms, leaderWait ${LEADER_WAIT ?? 'default (250)'} ms`)

  let anchor = null
  let anchorError = null
  if (RUN_ANCHOR) {
    const child = await runTracked('autobase-finality.js', { prefix: '  | ', timeoutMs: 6 * 60_000 })
    if (child.code === 0 && child.result && child.result.stats) anchor = child.result
    else anchorError = `autobase-finality.js exited with ${child.timedOut ? 'timeout' : child.signal || child.code}`
  } else {
    anchorError = 'skipped (BENCH_AUTOBASE_FINALITY=0)'
  }

  let fc = null
  let fcError = null
  try {
    fc = await runFeedchain()
  } catch (err) {
    fcError = err
    console.error(`\nfeedchain side FAILED: ${err.stack || err}`)
  }

  const fs = fc?.stats
  const as = anchor?.stats
  const anchorName = anchor ? `Autobase 7.28.1, ack ${anchor.ackInterval} ms` : 'Autobase 7.28.1'
  const complete = fc && fc.run.complete && fc.problems.length === 0
  const p50 = complete ? fs.all.p50 : null
  const p99 = complete ? fs.all.p99 : null
  const ratio = (a, b) => (a != null && b != null && b > 0 ? a / b : null)

  if (fc) {
    printTable('Clock check: worker clock - parent clock (best of 20 IPC ping-pongs, before and after; timestamps corrected by it)', [
      { key: 'n', title: 'process', align: 'left' }, { key: 'o', title: 'offset' }, { key: 'd', title: 'drift over the run' }, { key: 'r', title: 'round trip' }
    ], fc.offsets.map((o) => ({ n: o.name, o: fmtMs(o.offsetMs), d: fmtMs(o.driftMs), r: fmtMs(o.rttMs) })))
  }
  printTable(`Finality: append returned -> final on all 3 indexers (3 processes, loopback testnet, ${RATE}/s)`, [
    { key: 'm', title: 'measure', align: 'left' },
    { key: 'fc', title: 'feedchain' },
    { key: 'ab', title: anchorName }
  ], [
    { m: 'entries measured (final everywhere / measured)', fc: fc ? `${fs.all.n}/${fc.measured}` : 'n/a', ab: anchor ? `${as.all.n}/${anchor.measured}` : 'n/a' },
    { m: 'p50', fc: statRow(fs?.all, 'p50'), ab: statRow(as?.all, 'p50') },
    { m: 'p90', fc: statRow(fs?.all, 'p90'), ab: statRow(as?.all, 'p90') },
    { m: 'p99', fc: statRow(fs?.all, 'p99'), ab: statRow(as?.all, 'p99') },
    { m: 'max', fc: statRow(fs?.all, 'max'), ab: statRow(as?.all, 'max') },
    { m: 'mean', fc: statRow(fs?.all, 'mean'), ab: statRow(as?.all, 'mean') },
    { m: 'p50 final on the first node', fc: statRow(fs?.first, 'p50'), ab: statRow(as?.first, 'p50') },
    { m: 'p50 append() call itself', fc: statRow(fs?.appendCall, 'p50'), ab: statRow(as?.appendCall, 'p50') },
    { m: 'setup (3 processes, 2 indexers added, agree)', fc: fmtMs(fc?.setupMs), ab: fmtMs(anchor?.setupMs) }
  ])
  if (fc) {
    printTable('feedchain per node (append returned -> ...)', [
      { key: 'n', title: 'node', align: 'left' },
      { key: 'ap50', title: 'block arrived p50' }, { key: 'ap99', title: 'arrived p99' },
      { key: 'p50', title: 'final p50' }, { key: 'p99', title: 'final p99' }, { key: 'blocks', title: 'own blocks written' }
    ], fs.perWorker.map((w, k) => ({
      n: w.name + (k === 0 ? ' (appender)' : ''),
      ap50: k === 0 ? '-' : fmtMs(fs.arrival[k].p50),
      ap99: k === 0 ? '-' : fmtMs(fs.arrival[k].p99),
      p50: fmtMs(w.p50),
      p99: fmtMs(w.p99),
      blocks: fmt(fc.blocks[k].blocks)
    })))
    const dead = fc.setupNet.reduce((n, x) => n + (x?.dead || 0), 0)
    const struck = fc.setupNet.reduce((n, x) => n + (x?.strikes || 0), 0)
    if (dead || struck) console.log(`  set-up: ${dead} one-sided connection(s) closed without a byte and re-dialed, ${struck} strike(s) (see NET_OPTS)`)
    console.log(`  appended ${fmt(fc.appendedTotal)} entries in all (warm-up ${fmt(fc.warmup)}, measured ${fmt(fc.measured)}, the rest kept the rate up until the measured ones were final); ` +
      `blocks beyond A's entries are ACKs`)
  }
  printTable('Context: published time to finality of public chains (not measured here)', [
    { key: 'n', title: 'chain', align: 'left' }, { key: 't', title: 'time to finality' }, { key: 'x', title: 'vs feedchain p50' }
  ], PUBLIC_CHAINS.map((c) => ({ n: c.name, t: fmtMs(c.seconds * 1000), x: p50 ? fmtRatio((c.seconds * 1000) / p50) : 'n/a' })))

  const rows = [
    {
      name: 'finality p50 (3 procs)',
      unit: 'ms',
      feedchain: p50,
      anchor: as ? as.all.p50 : null,
      anchorName,
      ratio: ratio(as?.all.p50, p50),
      target: `<= ${TARGET_P50} ms`,
      targetRatio: null,
      pass: p50 !== null ? p50 <= TARGET_P50 : false
    },
    {
      name: 'finality p99 (3 procs)',
      unit: 'ms',
      feedchain: p99,
      anchor: as ? as.all.p99 : null,
      anchorName,
      ratio: ratio(as?.all.p99, p99),
      target: `<= ${TARGET_P99} ms`,
      targetRatio: null,
      pass: p99 !== null ? p99 <= TARGET_P99 : false
    }
  ]
  console.log(`\nfeedchain finality p50 ${fmtMs(p50)} (target <= ${TARGET_P50} ms) -> ${rows[0].pass ? 'PASS' : 'MISS'}; ` +
    `p99 ${fmtMs(p99)} (target <= ${TARGET_P99} ms) -> ${rows[1].pass ? 'PASS' : 'MISS'}; vs Autobase p50: ${fmtRatio(rows[0].ratio)} faster`)
  if (fc && fc.problems.length) console.log(`PROBLEMS: ${fc.problems.join('; ')}`)
  if (fc && !fc.run.complete) console.log(`INCOMPLETE: ${fc.run.missing} measured entries not final everywhere within the deadline`)
  if (anchorError) console.log(`anchor: ${anchorError}`)

  emitResult({
    bench: 'finality',
    rate: RATE,
    seconds: SECONDS,
    rows,
    context: PUBLIC_CHAINS,
    feedchain: fc ? { setupMs: fc.setupMs, setupNet: fc.setupNet, offsets: fc.offsets, stats: fs, complete: fc.run.complete, problems: fc.problems, blocks: fc.blocks, appendedTotal: fc.appendedTotal } : null,
    anchor: anchor ? { ackInterval: anchor.ackInterval, stats: as, setupMs: anchor.setupMs, complete: anchor.complete } : null,
    error: fcError ? String(fcError.message || fcError) : (fc && !complete ? 'incomplete or inconsistent run' : null)
  })
  if (fcError || !complete || (RUN_ANCHOR && !anchor)) process.exitCode = 1
  if (liveCount() > 0) console.error(`[bench] ${liveCount()} child process(es) still tracked at exit: killing`)
}

if (isMain(import.meta.url)) {
  if (isWorker()) {
    chainWorker().catch((err) => { console.error(err); process.exit(1) })
  } else {
    main().catch((err) => {
      console.error(err)
      process.exit(1)
    })
  }
}
