// `latency`: does feedchain's `get` keep up with Hypercore on a link with a long round trip?
//
// `get` downloads through a sliding window (src/files/download-window.ts) of 16 blocks per
// connected peer and 8 more. Hypercore's own replicator lets a peer have more requests in flight
// as the round trip grows (16 up to 50 ms, 96 at 300 ms with one peer), and a window smaller
// than what the link holds in one round trip would cap the download. This measures it.
//
// The link: a UDP relay in this process (lib/delay-proxy.js) that holds every datagram for half
// the round trip each way, between two worker processes on 127.0.0.1. No DHT: each side points
// one UDX stream at the relay and runs @hyperswarm/secret-stream over it, as Hyperswarm would
// after connecting.
//
// For each round trip (BENCH_LATENCY_RTTS, ms), three downloads of the same BENCH_LATENCY_MB MiB
// of random bytes from one sender process, each by a fresh receiver process:
//   raw        the sender pushes the bytes over the secret-stream: the transport's ceiling;
//   hypercore  one range download of a plain Hypercore of 1 MiB blocks (batched messages, as
//              Hypercore does by default): the anchor;
//   feedchain  ChainFiles.get of the same bytes sent as a file (1 MiB blocks), replicated as
//              feedchain's Network does (net/replicate.ts: messages one by one, channels taking
//              turns), file written, hashed and renamed.
// Timing starts once the peers are connected and the receiver knows what to fetch.
// Target: feedchain >= 90% of hypercore at every round trip.
//
// Env: BENCH_LATENCY_RTTS (100,300), BENCH_LATENCY_MB (128), BENCH_LATENCY_RATE_MB (0: no limit;
// else the relay also limits each direction to this many MB/s, with a 256 KiB queue),
// BENCH_LATENCY_TIMEOUT_MS (300,000 per step), BENCH_TMPDIR.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { envInt } from './lib/env.js'
import { fmt, fmtMs } from './lib/timing.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { loadFeedchain } from './lib/feedchain.js'
import { peakRssMB } from './lib/mem.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { startDelayProxy, udxEndpoint } from './lib/delay-proxy.js'
import { guardProcesses, isWorker, spawnWorker, stopWorkers, workerChannel } from './lib/proc.js'
import { makeFile, until } from './transfer.js'

const MB = 1e6
const MiB = 1024 * 1024
const SIZE_MIB = Math.max(1, envInt('BENCH_LATENCY_MB', 128))
const RTTS = (process.env.BENCH_LATENCY_RTTS || '100,300').split(',').map(Number).filter((n) => n >= 0)
const TIMEOUT_MS = envInt('BENCH_LATENCY_TIMEOUT_MS', 300_000)
const RATE = Math.max(0, Number(process.env.BENCH_LATENCY_RATE_MB || 0)) * MB
const MODES = ['raw', 'hypercore', 'feedchain']
const TARGET = 0.9
const HOST = '127.0.0.1'

// ------------------------------------------------------------------ worker

/**
 * Samples the largest bytes in flight on a UDX stream (sent, not yet acknowledged: the sender's
 * side says how much of the link is used) and requests in flight to a Hypercore peer.
 */
function sampler (raw, core) {
  const peak = { bytes: 0, requests: 0 }
  const timer = setInterval(() => {
    peak.bytes = Math.max(peak.bytes, raw.inflight || 0)
    const p = core?.peers?.[0]
    if (p) peak.requests = Math.max(peak.requests, p.inflight)
  }, 50)
  return { peak, stop: () => clearInterval(timer) }
}

async function worker () {
  const { Storage, ChainNode, tuneAllocator, parseKey } = await loadFeedchain()
  const { ChainFiles } = await import(new URL('../dist/files/chain-files.js', import.meta.url))
  const { replicateOn } = await import(new URL('../dist/net/replicate.js', import.meta.url))
  let storage = null
  let node = null
  let files = null
  let net = null
  let plain = null
  const streams = []

  workerChannel({
    // sender: the file, sent through ChainFiles and appended to a plain Hypercore
    async 'send-open' (m, reply) {
      tuneAllocator()
      storage = await Storage.open(m.dir, { create: true })
      node = new ChainNode(storage.store)
      await node.ready()
      files = new ChainFiles(node)
      await files.ready()
      const info = await files.send(m.file)
      plain = storage.store.get({ name: 'latency-plain' })
      await plain.ready()
      const batch = []
      for await (const chunk of fs.createReadStream(m.file, { highWaterMark: MiB })) {
        batch.push(chunk)
        if (batch.length === 16) await plain.append(batch.splice(0))
      }
      if (batch.length) await plain.append(batch)
      net = await udxEndpoint()
      reply({ type: 'sender', port: net.port, chainKey: node.key.toString('hex'), fileId: info.id, coreKey: plain.key.toString('hex'), blocks: plain.length })
    },
    async accept (m, reply) {
      const { raw, stream } = net.open(false, m.id, m.remoteId, m.relay)
      streams.push({ stream, sample: sampler(raw, null) })
      if (m.mode === 'raw') {
        stream.once('connect', async () => {
          const chunk = crypto.randomBytes(MiB)
          for (let i = 0; i < SIZE_MIB; i++) {
            if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve))
          }
          stream.end()
        })
      } else {
        // feedchain: as its Network does; the anchor as Hypercore does by default
        replicateOn(storage.store, stream, { batching: m.mode !== 'feedchain' })
      }
      reply({ type: 'accepted' })
    },
    async drop (m, reply) {
      let peakInflightBytes = 0
      for (const s of streams.splice(0)) {
        s.sample.stop()
        peakInflightBytes = Math.max(peakInflightBytes, s.sample.peak.bytes)
        s.stream.destroy()
      }
      reply({ type: 'dropped', peakInflightBytes })
    },
    // receiver: one download, then exit
    async 'recv-open' (m, reply) {
      if (m.mode === 'feedchain') tuneAllocator() // what the CLI and the daemon do at start
      net = await udxEndpoint()
      reply({ type: 'bound', port: net.port })
    },
    async 'recv-go' (m, reply) {
      const { raw, stream } = net.open(true, m.id, m.remoteId, m.relay)
      let t0 = 0
      let first = null // ms from t0 to the first block (first data for raw)
      let bytes = 0
      let s = null // requests in flight to the Hypercore peer (not for raw)
      if (m.mode === 'raw') {
        await new Promise((resolve, reject) => {
          stream.once('connect', () => { t0 = performance.now() })
          stream.on('data', (d) => { if (bytes === 0) first = performance.now() - t0; bytes += d.byteLength })
          stream.once('end', resolve)
          stream.once('close', () => reject(new Error('raw stream closed before its end')))
        })
      } else {
        storage = await Storage.open(m.dir, { create: true })
        replicateOn(storage.store, stream, { batching: m.mode !== 'feedchain' })
        if (m.mode === 'hypercore') {
          const core = storage.store.get({ key: Buffer.from(m.coreKey, 'hex') })
          await core.ready()
          await until(() => core.length >= m.blocks, [core], TIMEOUT_MS, 'the plain core\'s length', 'append')
          s = sampler(raw, core)
          t0 = performance.now()
          core.once('download', () => { first = performance.now() - t0 })
          await core.download({ start: 0, end: core.length }).done()
          bytes = core.byteLength
        } else {
          node = new ChainNode(storage.store, { key: Buffer.from(m.chainKey, 'hex') })
          await node.ready()
          files = new ChainFiles(node)
          await files.ready()
          await until(async () => (await files.list()).some((f) => f.id === m.fileId), [node], TIMEOUT_MS, `file ${m.fileId}`)
          const [file] = (await files.list()).filter((f) => f.id === m.fileId)
          const blobs = storage.store.get({ key: parseKey(file.blobsKey) })
          s = sampler(raw, blobs)
          t0 = performance.now()
          blobs.once('download', () => { first = performance.now() - t0 })
          const got = await files.get(m.fileId, { output: path.join(m.dir, 'out.bin') })
          bytes = fs.statSync(got.path).size
        }
      }
      const ms = performance.now() - t0
      s?.stop()
      reply({ type: 'done', ms, firstMs: first, bytes, srtt: raw.rtt, peakRequests: s?.peak.requests ?? 0, rss: peakRssMB() })
      stream.destroy()
    },
    async close () {
      for (const st of streams) { st.sample.stop(); st.stream.destroy() }
      if (files) await files.close().catch(() => {})
      if (node) await node.close().catch(() => {})
      if (storage) await storage.close().catch(() => {})
      if (net) await net.close().catch(() => {})
    }
  })
}

// ------------------------------------------------------------------ parent

async function step (w, msg, type) {
  w.send(msg)
  return w.next(type, { timeoutMs: TIMEOUT_MS })
}

async function main () {
  guardProcesses() // first: children die before their temp dirs are removed
  const dirs = []
  const dir = (label) => { const d = tmpDir(label); dirs.push(d); return d }
  const sender = spawnWorker('latency.js', { name: 'sender' })
  const workers = [sender]
  let ids = 1
  const results = []
  try {
    const src = dir('latency-src')
    const file = await makeFile(path.join(src, 'data.bin'), SIZE_MIB)
    const { type: _, ...s } = await step(sender, { type: 'send-open', dir: dir('latency-send'), file }, 'sender')
    console.log(`latency: ${SIZE_MIB} MiB, round trips ${RTTS.join(', ')} ms${RATE > 0 ? `, ${fmt(RATE / MB, 1)} MB/s each way` : ''}; sender on ${HOST}:${s.port}`)
    for (const rtt of RTTS) {
      for (const mode of MODES) {
        const relay = await startDelayProxy({ delayMs: rtt / 2, rate: RATE })
        const r = spawnWorker('latency.js', { name: `${mode}@${rtt}` })
        workers.push(r)
        let dropped = false // the sender's end of this run's connection
        try {
          const { port } = await step(r, { type: 'recv-open', mode }, 'bound')
          relay.connect(s.port, port)
          const [mine, theirs] = [ids++, ids++]
          await step(sender, { type: 'accept', mode, id: theirs, remoteId: mine, relay: relay.port }, 'accepted')
          const { type: _, ...done } = await step(r, { type: 'recv-go', mode, id: mine, remoteId: theirs, relay: relay.port, dir: dir(`latency-${mode}`), ...s }, 'done')
          done.peakInflightBytes = (await step(sender, { type: 'drop' }, 'dropped')).peakInflightBytes
          dropped = true
          if (done.bytes !== SIZE_MIB * MiB) throw new Error(`${mode} at ${rtt} ms: received ${done.bytes} bytes, expected ${SIZE_MIB * MiB}`)
          results.push({ rtt, mode, mbs: done.bytes / MB / (done.ms / 1000), ...done, datagrams: relay.datagrams, dropped: relay.dropped })
          const last = results.at(-1)
          console.log(`  ${mode} at ${rtt} ms: ${fmt(last.mbs, 1)} MB/s in ${fmtMs(done.ms)} (first block after ${done.firstMs === null ? '?' : fmtMs(done.firstMs)}); measured srtt ${done.srtt} ms; most bytes in flight ${fmt(done.peakInflightBytes / MiB, 2)} MiB` +
            (mode === 'raw' ? '' : `, most requests in flight ${done.peakRequests}`))
        } finally {
          await stopWorkers([r])
          if (!dropped) await step(sender, { type: 'drop' }, 'dropped')
          await relay.close()
        }
      }
    }
  } finally {
    await stopWorkers(workers)
    for (const d of dirs) removeTmpDir(d)
  }

  const rows = []
  const table = []
  for (const rtt of RTTS) {
    const by = Object.fromEntries(results.filter((x) => x.rtt === rtt).map((x) => [x.mode, x]))
    const cap = 4 * MiB / MB / (rtt / 1000) // UDX's default receive window, per round trip
    table.push({
      rtt: `${rtt} ms`,
      raw: fmt(by.raw.mbs, 1),
      hc: fmt(by.hypercore.mbs, 1),
      fc: fmt(by.feedchain.mbs, 1),
      ratio: `${fmt(by.feedchain.mbs / by.hypercore.mbs * 100, 0)}%`,
      req: `${by.hypercore.peakRequests} / ${by.feedchain.peakRequests}`,
      infl: `${fmt(by.raw.peakInflightBytes / MiB, 1)} / ${fmt(by.hypercore.peakInflightBytes / MiB, 1)} / ${fmt(by.feedchain.peakInflightBytes / MiB, 1)}`,
      cap: rtt > 0 ? fmt(cap, 1) : '-',
      rss: fmt(by.feedchain.rss, 0)
    })
    rows.push({
      name: `latency: get at ${rtt} ms round trip`,
      feedchain: by.feedchain.mbs,
      anchor: by.hypercore.mbs,
      anchorName: 'hypercore range',
      unit: 'MB/s',
      ratio: by.feedchain.mbs / by.hypercore.mbs,
      target: `>= ${TARGET * 100}% of Hypercore`,
      targetRatio: TARGET,
      pass: by.feedchain.mbs / by.hypercore.mbs >= TARGET
    })
  }
  printTable(`\nlatency: ${SIZE_MIB} MiB over one connection through a delaying relay (MB/s)`, [
    { key: 'rtt', title: 'round trip', align: 'right' },
    { key: 'raw', title: 'raw secret-stream', align: 'right' },
    { key: 'hc', title: 'hypercore range', align: 'right' },
    { key: 'fc', title: 'feedchain get', align: 'right' },
    { key: 'ratio', title: 'get / hypercore', align: 'right' },
    { key: 'req', title: 'most requests in flight hc / fc', align: 'right' },
    { key: 'infl', title: 'most MiB in flight raw / hc / fc', align: 'right' },
    { key: 'cap', title: '4 MiB per round trip', align: 'right' },
    { key: 'rss', title: 'get peak RSS MB', align: 'right' }
  ], table)
  emitResult({ bench: 'latency', sizeMiB: SIZE_MIB, rows, results })
}

if (isWorker() && isMain(import.meta.url)) worker()
else if (isMain(import.meta.url)) main().catch((e) => { console.error(e); process.exitCode = 1 })
