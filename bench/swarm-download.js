// `swarm-download`: one receiver, seeders that each upload at the same limited rate; the download
// from three seeders must run >= 2.5x as fast as from one. Everything on a local HyperDHT testnet
// bound to 127.0.0.1, every peer in its own worker process (lib/proc.js).
//
// The limit: a token bucket in front of each seeder connection's write (BENCH_SWARM_RATE_MB per
// seeder, MB/s, 1 MB = 10^6 bytes), which reports backpressure like a slow link, so hypercore
// stops scheduling more data to that peer meanwhile.
//
// Run, in this order:
//   1. seeder A creates the chain and sends the file (BENCH_SWARM_MB MiB, random bytes);
//   2. one seeder: A throttled; a fresh receiver R1 joins and runs ChainFiles.get; time it; R1 leaves;
//   3. seeders B and C join and fetch the file from A (unthrottled), then A, B, C are throttled;
//      a fresh receiver R3 joins, waits until all three replicate the file's blob core with it
//      (the peer table can show a connection Hyperswarm is about to swap for a duplicate), runs
//      get; time it.
// Report: both times and MB/s, the bytes each seeder served to R3, the speedup (target >= 2.5x).
//
// Env: BENCH_SWARM_MB (96), BENCH_SWARM_RATE_MB (8), BENCH_SWARM_SEEDERS (3),
//      BENCH_SWARM_INFLIGHT (unset: hypercore's default; "min,max" blocks per peer on the receiver),
//      BENCH_SWARM_TIMEOUT_MS (300,000 per step), BENCH_DEBUG (1: the receiver prints its
//      requests in flight per seeder twice a second), BENCH_TMPDIR.
import fs from 'node:fs'
import path from 'node:path'
import { envInt } from './lib/env.js'
import { fmt, fmtMs, fmtRatio } from './lib/timing.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { startHarness } from './lib/harness.js'
import { clock, stopWorkers, isWorker, workerChannel } from './lib/proc.js'
import { assertLoopback, makeFile, openFeedchainPeer, peakRssMB, until } from './transfer.js'

const MB = 1e6
const SIZE_MIB = Math.max(1, envInt('BENCH_SWARM_MB', 96))
const RATE = Math.max(1, envInt('BENCH_SWARM_RATE_MB', 8)) * MB
const SEEDERS = Math.max(2, envInt('BENCH_SWARM_SEEDERS', 3))
const TIMEOUT_MS = envInt('BENCH_SWARM_TIMEOUT_MS', 300_000)
const INFLIGHT = process.env.BENCH_SWARM_INFLIGHT ? process.env.BENCH_SWARM_INFLIGHT.split(',').map(Number) : null
const TARGET = 2.5

/**
 * Limit what `network` sends on each connection (present and future) to `rate` bytes/s: writes
 * go through a queue drained by a token bucket (bursts of at most 100 ms); write() returns false
 * while more than 256 KiB wait and 'drain' follows, as for a slow socket.
 */
export function throttle (network, rate) {
  const wrap = (conn) => {
    if (conn.__throttle) { conn.__throttle.rate = rate; return }
    const state = { rate }
    conn.__throttle = state
    const write = conn.write.bind(conn)
    const queue = []
    let queued = 0
    let tokens = 0
    let last = Date.now()
    let timer = null
    let needDrain = false
    const pump = () => {
      timer = null
      const now = Date.now()
      tokens = state.rate === 0 ? Infinity : Math.min(state.rate / 10, tokens + ((now - last) / 1000) * state.rate)
      last = now
      while (queue.length > 0 && tokens > 0) {
        const d = queue.shift()
        queued -= d.byteLength
        tokens -= d.byteLength
        if (!conn.destroyed) write(d)
      }
      if (queue.length > 0) timer = setTimeout(pump, 10) // pacing the link, not synchronization
      else if (needDrain) { needDrain = false; conn.emit('drain') }
    }
    conn.write = (data) => {
      queue.push(data)
      queued += data.byteLength
      if (timer === null) pump()
      if (queued < 256 * 1024) return true
      needDrain = true
      return false
    }
  }
  for (const conn of network.swarm?.connections ?? []) wrap(conn)
  if (!network.__throttleHooked) {
    network.__throttleHooked = true
    network.on('connection', (conn) => { if (network.__throttleRate) wrap(conn) })
  }
  network.__throttleRate = rate
  for (const conn of network.swarm?.connections ?? []) if (conn.__throttle) conn.__throttle.rate = rate
}

// ------------------------------------------------------------------ worker

async function worker () {
  let peer = null
  const reply = workerChannel({
    async open (m) {
      assertLoopback(m.bootstrap)
      peer = await openFeedchainPeer({ dir: m.dir, bootstrap: m.bootstrap, key: m.key, filesOpts: m.inflight ? { inflightRange: m.inflight } : {} })
      reply({ type: 'opened', key: peer.node.key.toString('hex') })
    },
    async send (m) {
      const info = await peer.files.send(m.file)
      reply({ type: 'sent', id: info.id, size: info.size })
    },
    async fetch (m) {
      // a seeder: wait for the entry, store the whole file, keep serving it
      await until(async () => (await peer.files.list()).some((f) => f.id === m.id), [peer.node], m.timeoutMs, 'the FILE entry')
      await peer.files.seed({ wait: true })
      reply({ type: 'fetched' })
    },
    throttle (m) {
      throttle(peer.network, m.rate)
      reply({ type: 'throttled' })
    },
    async get (m) {
      await until(async () => (await peer.files.list()).some((f) => f.id === m.id), [peer.node], m.timeoutMs, 'the FILE entry')
      // time the download, not the connecting: wait until every seeder replicates the blob core
      // with us (a connection can still be swapped for a duplicate after the peer table shows it)
      const f = (await peer.files.list()).find((x) => x.id === m.id)
      const ids = (await import('hypercore-id-encoding')).default
      const core = peer.store.get({ key: ids.decode(f.blobsKey) })
      await core.ready()
      await until(() => core.peers.filter((p) => p.remoteContiguousLength >= f.blockOffset + f.blockLength).length >= m.peers, [core], m.timeoutMs, `${m.peers} peers with the whole blob`, 'peer-add')
      const debug = process.env.BENCH_DEBUG
        ? setInterval(() => console.error('inflight per peer', core.peers.map((p) => `${ids.encode(p.remotePublicKey).slice(0, 4)}:${p.inflight}`).join(' ')), 500)
        : null
      const t0 = clock()
      const r = await peer.files.get(m.id, { output: m.out })
      const ms = clock() - t0
      if (debug) clearInterval(debug)
      await core.close()
      reply({ type: 'got', ms, sources: r.sources, downloaded: r.downloaded, duplicates: r.duplicates, size: fs.statSync(m.out).size, rss: peakRssMB() })
    },
    publicKey () {
      reply({ type: 'public-key', key: peer.network.publicKey.toString('hex') })
    },
    async close () {
      if (peer) await peer.close()
    }
  })
}

// ------------------------------------------------------------------ parent

async function main () {
  const h = await startHarness('swarm-download.js', { timeoutMs: TIMEOUT_MS })
  const { bootstrap, dir, start, step } = h
  const size = SIZE_MIB * 1024 * 1024
  let one, many, keys
  try {
    const fileDir = dir('swarm-file')
    const file = await makeFile(path.join(fileDir, 'file.bin'), SIZE_MIB)
    console.log(`swarm-download: ${SIZE_MIB} MiB, ${SEEDERS} seeders at ${fmt(RATE / MB)} MB/s each, testnet ${bootstrap}`)

    const a = start('seed-A')
    const { key } = await step(a, { type: 'open', dir: dir('swarm-a'), bootstrap }, 'opened')
    const { id } = await step(a, { type: 'send', file }, 'sent')
    fs.rmSync(file)

    // one seeder
    await step(a, { type: 'throttle', rate: RATE }, 'throttled')
    const r1 = start('recv-1')
    await step(r1, { type: 'open', dir: dir('swarm-r1'), bootstrap, key, inflight: INFLIGHT }, 'opened')
    one = await step(r1, { type: 'get', id, out: path.join(dir('swarm-out1'), 'out.bin'), peers: 1, timeoutMs: TIMEOUT_MS }, 'got')
    if (one.size !== size) throw new Error(`one seeder: ${one.size} bytes received, expected ${size}`)
    await stopWorkers([r1]) // it holds the file now: it must not serve the next receiver
    console.log(`  one seeder: ${fmtMs(one.ms)}`)

    // more seeders: fetch from A at full speed, then everyone throttled
    await step(a, { type: 'throttle', rate: 0 }, 'throttled')
    const others = []
    for (let i = 1; i < SEEDERS; i++) {
      const w = start('seed-' + String.fromCharCode(65 + i))
      await step(w, { type: 'open', dir: dir('swarm-s' + i), bootstrap, key }, 'opened')
      others.push(w)
    }
    await Promise.all(others.map((w) => step(w, { type: 'fetch', id, timeoutMs: TIMEOUT_MS }, 'fetched')))
    const seeders = [a, ...others]
    await Promise.all(seeders.map((w) => step(w, { type: 'throttle', rate: RATE }, 'throttled')))
    keys = await Promise.all(seeders.map(async (w) => ({ name: w.name, key: (await step(w, { type: 'publicKey' }, 'public-key')).key })))
    const r3 = start('recv-' + SEEDERS)
    await step(r3, { type: 'open', dir: dir('swarm-r3'), bootstrap, key, inflight: INFLIGHT }, 'opened')
    many = await step(r3, { type: 'get', id, out: path.join(dir('swarm-out3'), 'out.bin'), peers: SEEDERS, timeoutMs: TIMEOUT_MS }, 'got')
    if (many.size !== size) throw new Error(`${SEEDERS} seeders: ${many.size} bytes received, expected ${size}`)
    console.log(`  ${SEEDERS} seeders: ${fmtMs(many.ms)}`)
  } finally {
    await h.close()
  }

  const ids = await import('hypercore-id-encoding')
  const nameOf = new Map(keys.map((k) => [ids.default.encode(Buffer.from(k.key, 'hex')), k.name]))
  const split = Object.entries(many.sources).map(([k, bytes]) => `${nameOf.get(k) ?? k.slice(0, 8)} ${fmt(bytes / MB, 1)} MB`).join(', ')
  const speedup = one.ms / many.ms
  printTable(`\nswarm download of ${SIZE_MIB} MiB, each seeder limited to ${fmt(RATE / MB)} MB/s`, [
    { key: 'run', title: 'seeders', align: 'left' },
    { key: 'time', title: 'time' },
    { key: 'mbs', title: 'MB/s' },
    { key: 'rss', title: 'receiver peak RSS MB' },
    { key: 'split', title: 'bytes served per seeder', align: 'left' }
  ], [
    { run: '1', time: fmtMs(one.ms), mbs: fmt(size / MB / (one.ms / 1000), 1), rss: fmt(one.rss), split: Object.values(one.sources).map((b) => `${fmt(b / MB, 1)} MB`).join(', ') },
    { run: String(SEEDERS), time: fmtMs(many.ms), mbs: fmt(size / MB / (many.ms / 1000), 1), rss: fmt(many.rss), split }
  ])
  console.log(`speedup ${fmtRatio(speedup)} (target >= ${TARGET}x; ideal ${SEEDERS}x); blocks received twice: ${fmt(one.duplicates / MB, 1)} MB / ${fmt(many.duplicates / MB, 1)} MB`)
  emitResult({
    bench: 'swarm-download',
    sizeMiB: SIZE_MIB,
    rateMBs: RATE / MB,
    rows: [{
      name: `download from ${SEEDERS} rate-limited seeders`,
      feedchain: size / MB / (many.ms / 1000),
      anchor: size / MB / (one.ms / 1000),
      anchorName: 'one seeder, same run',
      unit: 'MB/s',
      ratio: speedup,
      target: `>= ${TARGET}x one seeder`,
      targetRatio: TARGET,
      pass: speedup >= TARGET
    }],
    one: { ms: one.ms, sources: one.sources },
    many: { ms: many.ms, sources: many.sources }
  })
}

if (isWorker() && isMain(import.meta.url)) worker()
else if (isMain(import.meta.url)) main().catch((e) => { console.error(e); process.exitCode = 1 })

