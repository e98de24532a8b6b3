// `entry-delay`: how late do a peer's chain entries arrive while a file is fetched from it over a
// narrow link? The file's blocks and the chain's messages share one connection; fair sending
// (src/net/fair-send.ts) lets the chain's channels take turns with the file's at the sender.
//
// The link: a UDP relay on 127.0.0.1 (lib/delay-proxy.js) with a round trip of BENCH_ENTRY_RTT ms
// that passes at most BENCH_ENTRY_RATE_MB MB/s each way, queueing 192 KiB (a router's buffer).
// Two worker processes point one UDX stream each at it and run secret-stream over it, as
// Hyperswarm would after connecting. No DHT.
//
// Peer A creates the chain and sends a file of BENCH_ENTRY_MB MiB (1 MiB blocks); peer B follows
// the chain. A appends an entry holding its clock every 250 ms; B notes how long each took to
// appear in its chain view (same machine, same clock). Each entry counts in the phase it was
// appended in: the 6 s before the get (the anchor: the same link with no file moving), during
// B's `get` of the file, the 3 s after it.
// Modes, each with fresh processes and stores:
//   fair     replicated as feedchain's Network does (net/replicate.ts);
//   fifo     messages one by one but no turns (unbatch only): the code before fair sending.
// Report: p50, p90 and max entry delay per phase and mode, and the get's time. No target: the
// figures are in docs/architecture.md ("Chain messages and file blocks on one connection").
//
// Env: BENCH_ENTRY_MB (16), BENCH_ENTRY_RATE_MB (1.25), BENCH_ENTRY_RTT (40),
//      BENCH_ENTRY_MODES (fair,fifo), BENCH_ENTRY_TIMEOUT_MS (120,000 per step), BENCH_TMPDIR.
import path from 'node:path'
import { envInt } from './lib/env.js'
import { fmt, fmtMs } from './lib/timing.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { loadFeedchain } from './lib/feedchain.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { startDelayProxy, udxEndpoint } from './lib/delay-proxy.js'
import { clock, guardProcesses, isWorker, percentile, spawnWorker, stopWorkers, workerChannel } from './lib/proc.js'
import { makeFile, until } from './transfer.js'
import { waitUntil } from './lib/wait.js'

const MB = 1e6
const MiB = 1024 * 1024
const SIZE_MIB = Math.max(1, envInt('BENCH_ENTRY_MB', 16))
const RATE = Math.max(0.1, Number(process.env.BENCH_ENTRY_RATE_MB || 1.25)) * MB
const RTT = Math.max(0, envInt('BENCH_ENTRY_RTT', 40))
const MODES = (process.env.BENCH_ENTRY_MODES || 'fair,fifo').split(',').map((s) => s.trim()).filter(Boolean)
const TIMEOUT_MS = envInt('BENCH_ENTRY_TIMEOUT_MS', 120_000)
const EVERY_MS = 250
const BEFORE_MS = 6000
const AFTER_MS = 3000

// ------------------------------------------------------------------ worker

async function worker () {
  const { Storage, ChainNode, tuneAllocator } = await loadFeedchain()
  const { ChainFiles } = await import(new URL('../dist/files/chain-files.js', import.meta.url))
  const { replicateOn } = await import(new URL('../dist/net/replicate.js', import.meta.url))
  const { unbatch } = await import(new URL('../dist/net/unbatch.js', import.meta.url))
  tuneAllocator()
  let storage = null
  let node = null
  let files = null
  let net = null
  let stream = null

  const open = async (dir, key) => {
    storage = await Storage.open(dir, { create: true })
    node = new ChainNode(storage.store, key ? { key: Buffer.from(key, 'hex') } : {})
    await node.ready()
    files = new ChainFiles(node)
    await files.ready()
    net = await udxEndpoint()
  }

  workerChannel({
    async 'open-a' (m, reply) {
      await open(m.dir, null)
      const info = await files.send(m.file)
      reply({ type: 'opened', key: node.key.toString('hex'), id: info.id, port: net.port })
    },
    async 'open-b' (m, reply) {
      await open(m.dir, m.key)
      let seen = 0
      let busy = false
      const check = async () => {
        if (busy) return
        busy = true
        try {
          while (seen < node.length) {
            const e = await node.get(seen)
            seen++
            if (e !== null && e.type === 'data') {
              const t = Number(e.data.toString())
              if (Number.isFinite(t)) reply({ type: 'seen', t, ms: clock() - t })
            }
          }
        } finally { busy = false }
      }
      node.on('update', () => { check().catch(() => {}) })
      reply({ type: 'opened', port: net.port })
    },
    async connect (m, reply) {
      stream = net.open(m.initiator, m.id, m.remoteId, m.relay).stream
      if (m.mode === 'fair') replicateOn(storage.store, stream)
      else { storage.store.replicate(stream); unbatch(stream) }
      reply({ type: 'connected' })
    },
    async append (m, reply) {
      await node.append(String(clock()))
      reply({ type: 'appended' })
    },
    async get (m, reply) {
      await until(async () => (await files.list()).some((f) => f.id === m.id), [node], m.timeoutMs, `file ${m.id}`)
      const t0 = clock()
      reply({ type: 'get-start', at: t0 })
      const got = await files.get(m.id, { output: path.join(m.dir, 'out.bin') })
      reply({ type: 'got', at: clock(), ms: clock() - t0, bytes: got.file.size })
    },
    async close () {
      stream?.destroy()
      if (files) await files.close().catch(() => {})
      if (node) await node.close().catch(() => {})
      if (storage) await storage.close().catch(() => {})
      if (net) await net.close().catch(() => {})
    }
  })
}

// ------------------------------------------------------------------ parent

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function runMode (mode, file, dir) {
  const a = spawnWorker('entry-delay.js', { name: `${mode}-A` })
  const b = spawnWorker('entry-delay.js', { name: `${mode}-B` })
  const relay = await startDelayProxy({ delayMs: RTT / 2, rate: RATE, queueBytes: 192 * 1024 })
  let timer = null
  try {
    a.send({ type: 'open-a', dir: dir(`entry-${mode}-a`), file })
    const sa = await a.next('opened', { timeoutMs: TIMEOUT_MS })
    b.send({ type: 'open-b', dir: dir(`entry-${mode}-b`), key: sa.key })
    const sb = await b.next('opened', { timeoutMs: TIMEOUT_MS })
    relay.connect(sa.port, sb.port)
    a.send({ type: 'connect', mode, initiator: false, id: 1, remoteId: 2, relay: relay.port })
    b.send({ type: 'connect', mode, initiator: true, id: 2, remoteId: 1, relay: relay.port })
    await Promise.all([a.next('connected', { timeoutMs: TIMEOUT_MS }), b.next('connected', { timeoutMs: TIMEOUT_MS })])

    // an entry belongs to the phase it was appended in (its own clock), wherever it arrives
    const seen = []
    let sent = 0
    let appended = 0
    b.on('seen', (m) => { seen.push(m) })
    a.on('appended', () => { appended++ })
    timer = setInterval(() => { sent++; a.send({ type: 'append' }) }, EVERY_MS)
    await sleep(BEFORE_MS)
    b.send({ type: 'get', id: sa.id, dir: dir(`entry-${mode}-out`), timeoutMs: TIMEOUT_MS })
    const start = await b.next('get-start', { timeoutMs: TIMEOUT_MS })
    const got = await b.next('got', { timeoutMs: TIMEOUT_MS })
    await sleep(AFTER_MS)
    clearInterval(timer)
    timer = null
    // every entry A appended has reached B before the phases are counted
    await waitUntil(() => appended === sent && seen.length >= sent, {
      timeoutMs: TIMEOUT_MS, label: 'every appended entry at B', describe: () => `${sent} sent, ${appended} appended, ${seen.length} seen`
    })
    const delays = { before: [], during: [], after: [] }
    for (const m of seen) delays[m.t < start.at ? 'before' : m.t <= got.at ? 'during' : 'after'].push(m.ms)
    if (got.bytes !== SIZE_MIB * MiB) throw new Error(`${mode}: got ${got.bytes} bytes, expected ${SIZE_MIB * MiB}`)
    return { mode, getMs: got.ms, delays, datagrams: relay.datagrams, dropped: relay.dropped }
  } finally {
    if (timer !== null) clearInterval(timer)
    await stopWorkers([a, b])
    await relay.close()
  }
}

async function main () {
  guardProcesses() // first: children die before their temp dirs are removed
  const dirs = []
  const dir = (label) => { const d = tmpDir(label); dirs.push(d); return d }
  const results = []
  try {
    const file = await makeFile(path.join(dir('entry-src'), 'data.bin'), SIZE_MIB)
    console.log(`entry-delay: ${SIZE_MIB} MiB file, link ${fmt(RATE / MB, 2)} MB/s each way, round trip ${RTT} ms; an entry every ${EVERY_MS} ms`)
    for (const mode of MODES) {
      const r = await runMode(mode, file, dir)
      results.push(r)
      console.log(`  ${mode}: get in ${fmtMs(r.getMs)}; entries appended before/during/after and seen: ${r.delays.before.length}/${r.delays.during.length}/${r.delays.after.length}; relay dropped ${r.dropped} of ${r.datagrams} datagrams`)
    }
  } finally {
    for (const d of dirs) removeTmpDir(d)
  }

  const cell = (xs) => xs.length === 0 ? 'none' : `${fmtMs(percentile(xs, 50))} / ${fmtMs(percentile(xs, 90))} / ${fmtMs(Math.max(...xs))}`
  printTable(`\nentry delay A -> B, p50 / p90 / max (${fmt(RATE / MB, 2)} MB/s, ${RTT} ms round trip, ${SIZE_MIB} MiB get)`, [
    { key: 'mode', title: 'mode', align: 'left' },
    { key: 'get', title: 'get', align: 'right' },
    { key: 'before', title: 'no get (anchor)', align: 'right' },
    { key: 'during', title: 'during the get', align: 'right' },
    { key: 'after', title: 'after it', align: 'right' }
  ], results.map((r) => ({ mode: r.mode, get: fmtMs(r.getMs), before: cell(r.delays.before), during: cell(r.delays.during), after: cell(r.delays.after) })))
  const rows = results.filter((r) => r.delays.before.length > 0).map((r) => {
    const during = r.delays.during.length > 0 ? percentile(r.delays.during, 50) : r.getMs
    const before = percentile(r.delays.before, 50)
    return {
      name: `entry delay during a get (${r.mode}, p50)`,
      feedchain: during,
      anchor: before,
      anchorName: 'no get, same link',
      unit: 'ms',
      ratio: during / before,
      target: 'none: reported',
      targetRatio: null,
      pass: null
    }
  })
  emitResult({ bench: 'entry-delay', sizeMiB: SIZE_MIB, rateMBs: RATE / MB, rttMs: RTT, rows, results })
}

if (isWorker() && isMain(import.meta.url)) worker()
else if (isMain(import.meta.url)) main().catch((e) => { console.error(e); process.exitCode = 1 })
