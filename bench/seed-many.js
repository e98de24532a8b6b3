// `seed-many`: what a daemon does when it joins a chain whose writers each sent a large file:
// `ChainFiles.seed` (the daemon's seeding, src/daemon/daemon.ts) fetches every file of every
// writer at once. Its peak RSS must stay within the memory target of a single `get`
// (<= 200 MB) however many blob cores it fetches from, and its throughput should stay near a
// single `get`'s. Everything on a local HyperDHT testnet bound to 127.0.0.1, every peer in its own
// worker process (lib/proc.js).
//
// Run, in this order:
//   1. writer W1 creates the chain; W2..Wn join and are added as writers; each sends its own file
//      (BENCH_SEED_MB MiB, random bytes) and keeps serving only its own blob core;
//   2. anchor: a fresh process joins and runs ChainFiles.get of W1's file; time it, peak RSS; it leaves;
//   3. a fresh process joins and runs ChainFiles.seed({ wait: true }), which fetches all n files
//      at once; time it (from the moment every file is listed), peak RSS.
// Report: MB/s and peak RSS of both; the ratio seed / get throughput; the RSS target.
//
// Env: BENCH_SEED_MB (256 MiB per file), BENCH_SEED_WRITERS (3), BENCH_SEED_TIMEOUT_MS
//      (600,000 per step), BENCH_MEM_TRACE (lib/mem.js), BENCH_TMPDIR.
import fs from 'node:fs'
import path from 'node:path'
import { envInt } from './lib/env.js'
import { fmt, fmtMs, fmtRatio } from './lib/timing.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { startHarness } from './lib/harness.js'
import { memTrace } from './lib/mem.js'
import { clock, stopWorkers, isWorker, workerChannel } from './lib/proc.js'
import { assertLoopback, makeFile, openFeedchainPeer, peakRssMB, until } from './transfer.js'

const MB = 1e6
const MiB = 1024 * 1024
const SIZE_MIB = Math.max(1, envInt('BENCH_SEED_MB', 256))
const WRITERS = Math.max(2, envInt('BENCH_SEED_WRITERS', 3))
const TIMEOUT_MS = envInt('BENCH_SEED_TIMEOUT_MS', 600_000)
const RSS_TARGET_MB = 200

// ------------------------------------------------------------------ worker

async function worker () {
  memTrace(process.env.BENCH_WORKER_NAME || '')
  let peer = null
  const files = async () => (await peer.files.list())
  const reply = workerChannel({
    async open (m) {
      assertLoopback(m.bootstrap)
      peer = await openFeedchainPeer({ dir: m.dir, bootstrap: m.bootstrap, key: m.key })
      reply({ type: 'opened', key: peer.node.key.toString('hex'), writerKey: peer.node.writerKey.toString('hex') })
    },
    async 'add-writers' (m) {
      for (const k of m.keys) await peer.node.addWriter(Buffer.from(k, 'hex'))
      reply({ type: 'added' })
    },
    async 'wait-writer' (m) {
      await until(() => peer.node.status().isWriter, [peer.node], m.timeoutMs, 'this peer added as a writer')
      reply({ type: 'writer' })
    },
    async send (m) {
      const info = await peer.files.send(m.file)
      reply({ type: 'sent', id: info.id, size: info.size })
    },
    async get (m) {
      await until(async () => (await files()).some((f) => f.id === m.id), [peer.node], m.timeoutMs, 'the FILE entry')
      const t0 = clock()
      await peer.files.get(m.id, { output: m.out })
      const ms = clock() - t0
      reply({ type: 'got', ms, size: fs.statSync(m.out).size, rss: peakRssMB() })
    },
    async seed (m) {
      await until(async () => (await files()).length >= m.count, [peer.node], m.timeoutMs, `${m.count} FILE entries`)
      const t0 = clock()
      await peer.files.seed({ wait: true })
      const ms = clock() - t0
      const list = await files()
      const stored = list.reduce((n, f) => n + f.stored, 0)
      reply({ type: 'seeded', ms, files: list.length, bytes: list.reduce((n, f) => n + f.size, 0), stored, rss: peakRssMB() })
    },
    async close () {
      if (peer) await peer.close()
    }
  })
}

// ------------------------------------------------------------------ parent

async function main () {
  const h = await startHarness('seed-many.js', { timeoutMs: TIMEOUT_MS })
  const { bootstrap, dir, step } = h
  const start = (name) => h.start(name, { BENCH_WORKER_NAME: name })
  const size = SIZE_MIB * MiB
  let one, all
  try {
    console.log(`seed-many: ${WRITERS} writers, ${SIZE_MIB} MiB each, testnet ${bootstrap}`)
    const writers = []
    for (let i = 0; i < WRITERS; i++) writers.push(start('writer-' + (i + 1)))
    const first = await step(writers[0], { type: 'open', dir: dir('seed-w1'), bootstrap }, 'opened')
    const key = first.key
    const others = await Promise.all(writers.slice(1).map((w, i) => step(w, { type: 'open', dir: dir('seed-w' + (i + 2)), bootstrap, key }, 'opened')))
    await step(writers[0], { type: 'add-writers', keys: others.map((o) => o.writerKey) }, 'added')
    await Promise.all(writers.slice(1).map((w) => step(w, { type: 'wait-writer', timeoutMs: TIMEOUT_MS }, 'writer')))
    const ids = []
    for (let i = 0; i < WRITERS; i++) {
      const fileDir = dir('seed-file')
      const file = await makeFile(path.join(fileDir, 'file.bin'), SIZE_MIB)
      ids.push((await step(writers[i], { type: 'send', file }, 'sent')).id)
      fs.rmSync(file)
    }
    console.log(`  ${WRITERS} files sent`)

    const r = start('get-1')
    await step(r, { type: 'open', dir: dir('seed-get'), bootstrap, key }, 'opened')
    one = await step(r, { type: 'get', id: ids[0], out: path.join(dir('seed-out'), 'out.bin'), timeoutMs: TIMEOUT_MS }, 'got')
    if (one.size !== size) throw new Error(`get: ${one.size} bytes received, expected ${size}`)
    await stopWorkers([r]) // it holds W1's file now: it must not serve the seeder
    console.log(`  get of one file: ${fmtMs(one.ms)}, peak RSS ${fmt(one.rss)} MB`)

    const d = start('seeder')
    await step(d, { type: 'open', dir: dir('seed-d'), bootstrap, key }, 'opened')
    all = await step(d, { type: 'seed', count: WRITERS, timeoutMs: TIMEOUT_MS }, 'seeded')
    if (all.stored !== WRITERS * size) throw new Error(`seed: ${all.stored} bytes stored, expected ${WRITERS * size}`)
    console.log(`  seed of ${WRITERS} files: ${fmtMs(all.ms)}, peak RSS ${fmt(all.rss)} MB`)
  } finally {
    await h.close()
  }

  const oneMbs = size / MB / (one.ms / 1000)
  const allMbs = (WRITERS * size) / MB / (all.ms / 1000)
  printTable(`\nseeding ${WRITERS} files of ${SIZE_MIB} MiB, one per writer, against a get of one`, [
    { key: 'run', title: 'run', align: 'left' },
    { key: 'mib', title: 'MiB' },
    { key: 'time', title: 'time' },
    { key: 'mbs', title: 'MB/s' },
    { key: 'rss', title: 'peak RSS MB' }
  ], [
    { run: 'get, one file (anchor)', mib: fmt(SIZE_MIB), time: fmtMs(one.ms), mbs: fmt(oneMbs, 1), rss: fmt(one.rss) },
    { run: `seed, ${WRITERS} blob cores at once`, mib: fmt(WRITERS * SIZE_MIB), time: fmtMs(all.ms), mbs: fmt(allMbs, 1), rss: fmt(all.rss) }
  ])
  console.log(`seed / get throughput ${fmtRatio(allMbs / oneMbs)}; seeder peak RSS ${fmt(all.rss)} MB (target <= ${RSS_TARGET_MB} MB)`)
  emitResult({
    bench: 'seed-many',
    sizeMiB: SIZE_MIB,
    writers: WRITERS,
    rows: [{
      name: `seed ${WRITERS} writers' files at once: peak RSS`,
      feedchain: all.rss,
      anchor: one.rss,
      anchorName: 'get of one file, same run',
      unit: 'MB',
      ratio: all.rss / one.rss,
      target: `<= ${RSS_TARGET_MB} MB`,
      pass: all.rss <= RSS_TARGET_MB
    }, {
      name: `seed ${WRITERS} writers' files at once: throughput`,
      feedchain: allMbs,
      anchor: oneMbs,
      anchorName: 'get of one file, same run',
      unit: 'MB/s',
      ratio: allMbs / oneMbs,
      target: 'none (reported)',
      pass: null
    }]
  })
}

if (isWorker() && isMain(import.meta.url)) worker()
else if (isMain(import.meta.url)) main().catch((e) => { console.error(e); process.exitCode = 1 })
