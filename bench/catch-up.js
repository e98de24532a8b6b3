// `catch-up`: a fresh peer joins a chain of N = 100,000 entries from 3 writers over a local
// HyperDHT testnet bound to 127.0.0.1; time until its final length and head equal the writers'.
//
// Build: three writer processes (finality.js's chain worker: Corestore + Network + ChainNode),
// A creates the chain and adds B and C as indexers; all three append their share of N
// concurrently, `append(array of 1,000)` at a time (one block each), then wait until all three
// agree on the final length (set-up entries + N) and head.
// Joiners, one process at a time, each with an empty store and a Network with the product's
// default options (what a user gets), started with everything it needs in its environment (so
// it starts working as soon as node is up):
//   feedchain - Network + ChainNode({ key }); done when node.finalLength and node.head equal
//               the writers' (checked on every 'update', 20 ms fallback poll);
//   raw       - the anchor: the same three writer feeds as plain Hypercores, opened by key in a
//               Corestore on the same kind of Network (same transport, same feedchain/net
//               handshake the writers require, same topic), each downloaded in full
//               (core.download({ start: 0, end: length }).done()). The same bytes, no chain
//               logic: no decoding, ordering, view. It knows all keys and lengths up front
//               (feedchain learns the writers from the chain itself).
// The two kinds alternate (raw, feedchain, raw, feedchain, ...) BENCH_CATCHUP_REPEAT times
// each, because the first download warms the writers' caches; the median of each is reported.
// Times: "process start" = the parent's clock just before fork(); "ready" = the joiner's
// ChainNode ready (raw: Network ready and the three cores opened). Every joiner timestamps in
// its own process (lib/proc.js clock(); offsets checked by IPC ping-pong and corrected).
//
// Env: BENCH_CATCHUP_N (100,000 entries in all), BENCH_CATCHUP_BATCH (1,000),
//      BENCH_ENTRY_BYTES (100), BENCH_CATCHUP_REPEAT (5 joins of each kind),
//      BENCH_CATCHUP_FIRST (raw | feedchain: which kind joins first in each pair),
//      BENCH_CATCHUP_NET_DEFAULTS (1: joiners use the Network's product defaults, what a user
//      gets; 0 = finality.js NET_OPTS, a faster discovery refresh, as the writers use),
//      BENCH_CATCHUP_TIMEOUT_MS (120,000 per join), BENCH_CATCHUP_SETUP_TIMEOUT_MS (60,000),
//      BENCH_CATCHUP_BUILD_TIMEOUT_MS (300,000).
import { EventEmitter } from 'node:events'
import Corestore from 'corestore'
import ids from 'hypercore-id-encoding'
import { envInt } from './lib/env.js'
import { fmt, fmtMs, fmtRatio } from './lib/timing.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { waitUntil } from './lib/wait.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { makeEntries, median } from './lib/entries.js'
import { loadFeedchain } from './lib/feedchain.js'
import {
  clock, spawnWorker, stopWorkers, request, measureClockOffsets, isWorker, workerChannel, guardProcesses, liveCount
} from './lib/proc.js'
import { chainWorker, assertLoopback, nudgeMesh, NET_OPTS } from './finality.js'

const N = Math.max(3, envInt('BENCH_CATCHUP_N', 100_000))
const BATCH = Math.max(1, envInt('BENCH_CATCHUP_BATCH', 1000))
const ENTRY_BYTES = Math.max(1, envInt('BENCH_ENTRY_BYTES', 100))
const REPEAT = Math.max(1, envInt('BENCH_CATCHUP_REPEAT', 5))
const TIMEOUT_MS = envInt('BENCH_CATCHUP_TIMEOUT_MS', 120_000)
const SETUP_TIMEOUT_MS = envInt('BENCH_CATCHUP_SETUP_TIMEOUT_MS', 60_000)
const BUILD_TIMEOUT_MS = envInt('BENCH_CATCHUP_BUILD_TIMEOUT_MS', 300_000)
const JOINER_NET_DEFAULTS = envInt('BENCH_CATCHUP_NET_DEFAULTS', 1) === 1
const FIRST = process.env.BENCH_CATCHUP_FIRST === 'feedchain' ? 'feedchain' : 'raw'
const TARGET_MS = 10_000
const TARGET_N = 100_000
const NAMES = ['A', 'B', 'C']

// ------------------------------------------------------------------ workers

// Writers: the finality chain worker plus 'fill' (append a share in batches) and 'snapshot'.
function writerWorker () {
  return chainWorker((ctx, reply) => ({
    async fill (m) {
      const t0 = clock()
      for (let i = 0; i < m.count; i += m.batch) {
        await ctx.node.append(makeEntries(Math.min(m.batch, m.count - i), m.bytes, { writer: m.writer, from: i }))
      }
      reply({ type: 'filled', ms: clock() - t0 })
    },
    async snapshot () {
      const s = ctx.node.status()
      const feeds = []
      for (const w of s.writers) {
        const key = ids.decode(w.key)
        const core = ctx.store.get({ key })
        await core.ready()
        feeds.push({ key: key.toString('hex'), length: core.length, byteLength: core.byteLength })
        await core.close()
      }
      reply({ type: 'snapshot', finalLength: s.finalLength, length: s.length, head: s.head, feeds })
    }
  }))
}

// Joiners: the job comes in the environment; they report { type: 'done', ok, ... } (also when
// their deadline passes: ok false, with the Network's counters) and wait for 'close'.
async function joinerWorker (job) {
  const tModule = clock()
  const { ChainNode, Network, discoveryKey } = await loadFeedchain()
  assertLoopback(job.bootstrap)
  const state = { store: null, network: null, node: null, cores: [] }
  const reply = workerChannel({
    async close () {
      for (const c of state.cores) await c.close().catch(() => {})
      if (state.node) await state.node.close().catch(() => {})
      if (state.network) await state.network.close().catch(() => {})
      if (state.store) await state.store.close().catch(() => {})
    }
  })
  const t = { module: tModule }
  state.store = new Corestore(job.dir)
  state.network = new Network(state.store, { bootstrap: job.bootstrap, host: '127.0.0.1', ...(job.netDefaults ? {} : NET_OPTS) })
  let dead = 0 // connections closed without ever receiving a byte (one-sided, see finality.js NET_OPTS)
  state.network.on('connection', (conn) => {
    if (t.firstConnection === undefined) t.firstConnection = clock()
    conn.once('close', () => { if (!conn.rawBytesRead) dead++ })
  })
  await state.network.ready()
  t.networkReady = clock()
  const key = Buffer.from(job.key, 'hex')
  const wire = () => state.network.peers().reduce((n, p) => n + p.bytesIn, 0)
  const net = () => ({ ...state.network.stats, dead, peers: state.network.peers().length, banned: state.network.banned().length })
  let deadline = null
  const timedOut = new Promise((resolve) => { deadline = setTimeout(() => resolve('timeout'), job.timeoutMs) })

  if (job.role === 'raw') {
    const cores = job.feeds.map((f) => state.store.get({ key: Buffer.from(f.key, 'hex') }))
    state.cores = cores
    await Promise.all(cores.map((c) => c.ready()))
    t.ready = clock()
    state.network.join(discoveryKey(key)).catch((err) => console.error('join failed:', err.message))
    const ranges = cores.map((c, k) => c.download({ start: 0, end: job.feeds[k].length }))
    const r = await Promise.race([timedOut, Promise.all(ranges.map(async (range, k) => {
      await range.done()
      if (process.env.BENCH_DEBUG) console.error(`core ${k} (${job.feeds[k].length} blocks) done at +${fmtMs(clock() - t.ready)}`)
    }))])
    clearTimeout(deadline)
    if (r !== 'timeout') t.done = clock()
    const ok = r !== 'timeout' && cores.every((c, k) => c.contiguousLength >= job.feeds[k].length)
    reply({
      type: 'done',
      t,
      ok,
      error: r === 'timeout' ? `not all blocks downloaded after ${job.timeoutMs} ms (have ${cores.map((c) => c.contiguousLength).join('/')})` : null,
      bytes: wire(),
      blocks: cores.reduce((n, c) => n + c.contiguousLength, 0),
      net: net()
    })
    return
  }

  const node = new ChainNode(state.store, { key, network: state.network })
  state.node = node
  await node.ready()
  t.ready = clock()
  let error = null
  try {
    await waitUntil(() => {
      if (t.seen === undefined && node.length >= job.expect.finalLength) t.seen = clock()
      if (t.writers === undefined && node.status().writers.length >= 3) t.writers = clock()
      return node.finalLength === job.expect.finalLength && node.head === job.expect.head
    }, { emitters: [node], pollMs: 20, timeoutMs: job.timeoutMs, label: `final length ${job.expect.finalLength} and the writers' head`, describe: () => `final ${node.finalLength}, length ${node.length}` })
    t.done = clock()
  } catch (err) {
    error = err.message
  }
  clearTimeout(deadline)
  const s = node.status()
  reply({
    type: 'done',
    t,
    ok: error === null && s.finalLength === job.expect.finalLength && s.head === job.expect.head,
    error,
    finalLength: s.finalLength,
    fed: node.stats.fed,
    bytes: wire(),
    blocks: s.writers.reduce((n, w) => n + w.length, 0),
    net: net()
  })
}

// ------------------------------------------------------------------ parent

async function buildChain (testnet) {
  const workers = NAMES.map((name) => spawnWorker('catch-up.js', { name: `writer-${name}` }))
  const statuses = workers.map(() => null)
  const hub = new EventEmitter()
  workers.forEach((w, k) => w.on('status', (m) => { statuses[k] = m; hub.emit('update') }))
  const agree = (finalLength = null) => statuses.every((s) => s && !s.halted && s.length === s.finalLength &&
    s.finalLength === statuses[0].finalLength && s.head === statuses[0].head && (finalLength === null || s.finalLength === finalLength))

  const setupStart = clock()
  const [a, b, c] = workers
  const base = { bootstrap: testnet.bootstrapString }
  a.send({ type: 'open', dir: tmpDir('catchup-writer-a'), ...base })
  const opened = [await a.next('opened', { timeoutMs: SETUP_TIMEOUT_MS })]
  b.send({ type: 'open', dir: tmpDir('catchup-writer-b'), key: opened[0].key, ...base })
  c.send({ type: 'open', dir: tmpDir('catchup-writer-c'), key: opened[0].key, ...base })
  opened.push(...await Promise.all([b, c].map((w) => w.next('opened', { timeoutMs: SETUP_TIMEOUT_MS }))))
  await request(workers, { type: 'discover' }, 'discovered', { timeoutMs: SETUP_TIMEOUT_MS }) // see finality.js
  a.send({ type: 'add-writers', keys: [opened[1].writerKey, opened[2].writerKey] })
  await a.next('added', { timeoutMs: SETUP_TIMEOUT_MS })
  const stopNudging = nudgeMesh(workers, statuses)
  try {
    await waitUntil(() => agree() && statuses.every((s) => s.indexers === 3 && s.pendingIndexers === 0 && s.peers >= 2), {
      emitters: [hub], timeoutMs: SETUP_TIMEOUT_MS, pollMs: 250, label: 'writers: 3 indexers, full mesh, same final prefix', describe: () => JSON.stringify(statuses)
    })
  } finally {
    stopNudging()
  }
  const setupMs = clock() - setupStart
  const setupFinal = statuses[0].finalLength

  const buildStart = clock()
  const shares = NAMES.map((_, k) => Math.floor(N / 3) + (k < N % 3 ? 1 : 0))
  workers.forEach((w, k) => w.send({ type: 'fill', count: shares[k], batch: BATCH, bytes: ENTRY_BYTES, writer: k }))
  const filled = await Promise.all(workers.map((w) => w.next('filled', { timeoutMs: BUILD_TIMEOUT_MS })))
  const expected = setupFinal + N
  await waitUntil(() => agree(expected), {
    emitters: [hub], timeoutMs: BUILD_TIMEOUT_MS, pollMs: 250, label: `writers: ${fmt(expected)} entries final, same head`, describe: () => JSON.stringify(statuses)
  })
  const buildMs = clock() - buildStart
  const snaps = await request(workers, { type: 'snapshot' }, 'snapshot', { timeoutMs: 30_000 })
  if (!snaps.every((s) => s.finalLength === expected && s.head === snaps[0].head)) throw new Error(`writers disagree after the build: ${JSON.stringify(snaps.map((s) => [s.finalLength, s.head]))}`)
  return { workers, key: opened[0].key, setupMs, buildMs, appendMs: Math.max(...filled.map((f) => f.ms)), setupFinal, expected, head: snaps[0].head, feeds: snaps[0].feeds }
}

async function join (role, testnet, chain, round) {
  const dir = tmpDir(`catchup-${role}`)
  const job = {
    role,
    dir,
    bootstrap: testnet.bootstrapString,
    key: chain.key,
    expect: { finalLength: chain.expected, head: chain.head },
    feeds: chain.feeds.map((f) => ({ key: f.key, length: f.length })),
    timeoutMs: TIMEOUT_MS,
    netDefaults: JOINER_NET_DEFAULTS
  }
  const w = spawnWorker('catch-up.js', { name: `${role}-${round + 1}`, env: { BENCH_CATCHUP_JOB: JSON.stringify(job) } })
  try {
    const done = await w.next('done', { timeoutMs: TIMEOUT_MS + 30_000 })
    const [off] = await measureClockOffsets([w], { rounds: 10 })
    const at = (x) => (x === undefined ? null : x - off.offsetMs - w.spawnedAt)
    if (!done.ok) console.log(`  ${role} #${round + 1} FAILED: ${done.error || 'final head differs'}; network: ${JSON.stringify(done.net)}`)
    return {
      role,
      ok: done.ok,
      error: done.error,
      net: done.net,
      startToDone: at(done.t.done),
      readyToDone: done.t.done === undefined ? null : done.t.done - done.t.ready,
      startToModule: at(done.t.module),
      startToReady: at(done.t.ready),
      startToConnection: at(done.t.firstConnection),
      startToWriters: at(done.t.writers),
      startToSeen: at(done.t.seen),
      bytes: done.bytes,
      blocks: done.blocks,
      fed: done.fed ?? null,
      connections: done.net.connections,
      dead: done.net.dead,
      strikes: done.net.strikes,
      banned: done.net.banned,
      offsetMs: off.offsetMs
    }
  } finally {
    await stopWorkers([w])
    removeTmpDir(dir)
  }
}

function med (runs, key) {
  const xs = runs.map((r) => r[key]).filter((x) => x !== null && x !== undefined)
  return xs.length ? median(xs) : null
}

function best (runs, key) {
  const xs = runs.map((r) => r[key]).filter((x) => x !== null && x !== undefined)
  return xs.length ? Math.min(...xs) : null
}

async function main () {
  guardProcesses()
  console.log(`catch-up: a fresh peer joins a chain of ${fmt(N)} entries (${ENTRY_BYTES} B) from 3 writers, over a 127.0.0.1 testnet; ` +
    `anchor: raw Hypercore download of the same 3 writer feeds; ${REPEAT} joins of each kind, alternating`)
  console.log(`joiners' Network options: ${JOINER_NET_DEFAULTS ? 'product defaults' : JSON.stringify(NET_OPTS) + ' (finality.js NET_OPTS)'}`)
  const { createLocalTestnet } = await loadFeedchain()
  const testnet = await createLocalTestnet(3)
  assertLoopback(testnet.bootstrap)
  let chain = null
  const runs = { raw: [], feedchain: [] }
  let error = null
  try {
    chain = await buildChain(testnet)
    const totalBytes = chain.feeds.reduce((n, f) => n + f.byteLength, 0)
    console.log(`chain built: ${fmt(chain.expected)} final entries (${fmt(chain.setupFinal)} set-up + ${fmt(N)}), ` +
      `${chain.feeds.length} writer feeds, ${fmt(chain.feeds.reduce((n, f) => n + f.length, 0))} blocks, ${fmt(totalBytes / 2 ** 20, 1)} MiB; ` +
      `set-up ${fmtMs(chain.setupMs)}, appends ${fmtMs(chain.appendMs)}, all final everywhere after ${fmtMs(chain.buildMs)}`)
    for (let r = 0; r < REPEAT; r++) {
      for (const role of FIRST === 'feedchain' ? ['feedchain', 'raw'] : ['raw', 'feedchain']) {
        const res = await join(role, testnet, chain, r)
        runs[role].push(res)
        console.log(`  ${role.padEnd(9)} #${r + 1}: process start -> ${role === 'raw' ? 'all blocks downloaded' : 'caught up'} ${fmtMs(res.startToDone)} ` +
          `(ready -> done ${fmtMs(res.readyToDone)})${res.ok ? '' : '  NOT OK'}`)
      }
    }
  } catch (err) {
    error = err
    console.error(`\ncatch-up FAILED: ${err.stack || err}`)
  } finally {
    if (chain) await stopWorkers(chain.workers)
    await testnet.destroy()
  }

  // medians over the joins that completed; a failed feedchain join makes the target a MISS
  const fc = runs.feedchain.filter((r) => r.ok)
  const raw = runs.raw.filter((r) => r.ok)
  const fcAllOk = !error && runs.feedchain.length === REPEAT && fc.length === REPEAT
  const ok = fcAllOk && raw.length === REPEAT
  const fcStart = med(fc, 'startToDone')
  const fcReady = med(fc, 'readyToDone')
  const rawStart = med(raw, 'startToDone')
  const rawReady = med(raw, 'readyToDone')
  const cols = [
    { key: 'm', title: 'measure (median)', align: 'left' },
    { key: 'fc', title: 'feedchain' },
    { key: 'raw', title: 'raw Hypercore (anchor)' }
  ]
  printTable(`Catch-up: fresh peer, ${fmt(N)} entries from 3 writers (${REPEAT} joins each, median of those that completed)`, cols, [
    { m: 'joins that caught up', fc: `${fc.length}/${runs.feedchain.length}`, raw: `${raw.length}/${runs.raw.length}` },
    { m: 'process start -> caught up (final head = writers\')', fc: fmtMs(fcStart), raw: fmtMs(rawStart) },
    { m: 'ready -> caught up', fc: fmtMs(fcReady), raw: fmtMs(rawReady) },
    { m: 'best join: process start -> caught up', fc: fmtMs(best(fc, 'startToDone')), raw: fmtMs(best(raw, 'startToDone')) },
    { m: 'best join: ready -> caught up', fc: fmtMs(best(fc, 'readyToDone')), raw: fmtMs(best(raw, 'readyToDone')) },
    { m: 'process start -> modules loaded', fc: fmtMs(med(fc, 'startToModule')), raw: fmtMs(med(raw, 'startToModule')) },
    { m: 'process start -> ready', fc: fmtMs(med(fc, 'startToReady')), raw: fmtMs(med(raw, 'startToReady')) },
    { m: 'process start -> first connection', fc: fmtMs(med(fc, 'startToConnection')), raw: fmtMs(med(raw, 'startToConnection')) },
    { m: 'process start -> all 3 writers known', fc: fmtMs(med(fc, 'startToWriters')), raw: '(given)' },
    { m: 'process start -> all entries seen (final or not)', fc: fmtMs(med(fc, 'startToSeen')), raw: '' },
    { m: 'blocks downloaded', fc: fmt(med(fc, 'blocks')), raw: fmt(med(raw, 'blocks')) },
    { m: 'MiB received on the wire (all connections)', fc: fmt((med(fc, 'bytes') ?? 0) / 2 ** 20, 1), raw: fmt((med(raw, 'bytes') ?? 0) / 2 ** 20, 1) }
  ])
  printTable('Every join', [
    { key: 'n', title: 'join', align: 'left' }, { key: 's', title: 'start -> done' }, { key: 'r', title: 'ready -> done' }, { key: 'c', title: 'start -> 1st conn' },
    { key: 'k', title: 'connections' }, { key: 'd', title: 'dead conns' }, { key: 'h', title: 'strikes' }, { key: 'x', title: 'bans' }, { key: 'b', title: 'MiB in' }, { key: 'ok', title: 'ok', align: 'left' }
  ], [...runs.raw, ...runs.feedchain].map((x, i) => ({
    n: `${x.role} #${(i % REPEAT) + 1}`,
    s: fmtMs(x.startToDone),
    r: fmtMs(x.readyToDone),
    c: fmtMs(x.startToConnection),
    k: fmt(x.connections),
    d: fmt(x.dead),
    h: fmt(x.strikes),
    x: fmt(x.banned),
    b: fmt(x.bytes / 2 ** 20, 1),
    ok: x.ok ? 'yes' : 'NO'
  })))
  console.log('  (dead conns: opened on the joiner\'s side only, closed by the Network after 2.5-3.75 s without a byte, then re-dialed; ' +
    'more than 3 connections otherwise = Hyperswarm replaced one, e.g. writers and joiner dialing each other; MiB in above the chain size = blocks fetched twice)')

  const ratio = (a, b) => (a !== null && b !== null && b > 0 ? a / b : null)
  const evaluated = N === TARGET_N
  const rows = [
    {
      name: `catch-up ${fmt(N)} (process start)`,
      unit: 'ms',
      feedchain: fcStart,
      anchor: rawStart,
      anchorName: 'raw Hypercore download, same feeds',
      ratio: ratio(rawStart, fcStart),
      target: evaluated ? `<= ${TARGET_MS / 1000} s` : `<= ${TARGET_MS / 1000} s at N=${fmt(TARGET_N)} (not evaluated)`,
      targetRatio: null,
      pass: evaluated ? fcAllOk && fcStart !== null && fcStart <= TARGET_MS : null
    },
    {
      name: `catch-up ${fmt(N)} (from ready)`,
      unit: 'ms',
      feedchain: fcReady,
      anchor: rawReady,
      anchorName: 'raw Hypercore download, same feeds',
      ratio: ratio(rawReady, fcReady),
      target: evaluated ? `<= ${TARGET_MS / 1000} s` : '(not evaluated)',
      targetRatio: null,
      pass: evaluated ? fcAllOk && fcReady !== null && fcReady <= TARGET_MS : null
    }
  ]
  console.log(`\nfeedchain catch-up of ${fmt(N)} entries: ${fmtMs(fcStart)} from process start, ${fmtMs(fcReady)} from ready ` +
    `(target <= ${TARGET_MS / 1000} s) -> ${rows[0].pass === null ? 'not evaluated' : rows[0].pass ? 'PASS' : 'MISS'}; ` +
    `raw Hypercore replication of the same feeds: ${fmtMs(rawStart)} / ${fmtMs(rawReady)}; feedchain takes ${fmtRatio(ratio(fcStart, rawStart))} the raw time from process start, ${fmtRatio(ratio(fcReady, rawReady))} from ready`)

  emitResult({
    bench: 'catch-up',
    n: N,
    rows,
    chain: chain ? { expected: chain.expected, setupMs: chain.setupMs, buildMs: chain.buildMs, feeds: chain.feeds } : null,
    runs,
    error: error ? String(error.message || error) : (ok ? null : 'a join did not catch up')
  })
  if (error || !fc.length) process.exitCode = 1
  if (liveCount() > 0) console.error(`[bench] ${liveCount()} child process(es) still tracked at exit: killing`)
}

if (isMain(import.meta.url)) {
  const fail = (err) => { console.error(err); process.exit(1) }
  if (isWorker()) {
    if (process.env.BENCH_CATCHUP_JOB) joinerWorker(JSON.parse(process.env.BENCH_CATCHUP_JOB)).catch(fail)
    else writerWorker().catch(fail)
  } else {
    main().catch(fail)
  }
}
