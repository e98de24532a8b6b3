// `transfer`: one large file from one process to another over a local HyperDHT testnet bound to
// 127.0.0.1 (never anything outside 127.0.0.0/8). Every side runs in its own worker process
// (lib/proc.js), fresh for each mode, so its peak RSS is its own.
//
// Modes, all in this run, on the same file (random bytes):
//   raw        the transport ceiling: a Hyperswarm connection (UDX + @hyperswarm/secret-stream,
//              what hypercore replicates over) between two processes; the sender pushes the file's
//              bytes, the receiver counts them. Time: sender's first write -> receiver's last byte.
//   feedchain  ChainFiles.send on the sender (timed apart: "send MB/s"), then ChainFiles.get on
//              the receiver once the FILE entry has synced: download from the seeder, write to a
//              temporary file while hashing, fsync, verify, rename. Time: get() call -> return.
//   hyperdrive Hyperdrive 13 (same hypercore 11.37.1): drive.put by stream on the sender; the
//              receiver pipes drive.createReadStream('/file') into a file. Time: first read -> file closed.
//   hypercore  plain Hypercore replication of the file in 1 MiB blocks (BENCH_TRANSFER_HYPERCORE_BLOCKS_KB
//              for others), core.download().done(), nothing written out, default Corestore: the
//              ceiling of any design that moves blocks with Hypercore's replication, which
//              feedchain's get does (it then also writes and hashes the file).
//   floor      the raw connection again, and the receiver does the work a get cannot skip, without
//              Hypercore's request protocol: cut the bytes into 1 MiB blocks, append them to a
//              Hypercore on the product's storage (Merkle tree hashing + RocksDB write), write the
//              output file, blake2b the whole file, fsync. An upper bound for any design that
//              keeps received blocks in a Hypercore, as design.md §6 has it.
//   budget     no connection: one fresh process times, on the same file size, the CPU of each piece
//              of work a get cannot skip besides the transport: append the blocks to a Hypercore on
//              the product's storage, read them back (what the sender does to serve them), write
//              the output file and fsync, blake2b it; and reading the source file, which the raw
//              sender does and a seeder does not. With raw's CPU (both processes) it gives a bound:
//              cores x bytes / (transport + pieces) is the fastest any design that keeps received
//              blocks in a Hypercore, writes and hashes the file could go on this machine, with
//              every core busy all the time and nothing else to do. Runs with glibc's default
//              allocator settings (the cheaper ones in CPU), so the bound is generous.
// The feedchain sides (and the floor's receiver) call tuneAllocator() and run with the V8 flags the
// CLI starts Node with, as the CLI and the daemon do (src/allocator.ts, src/node-flags.ts); the
// anchors run as their own users run them.
// Report: MB/s (1 MB = 10^6 bytes) and the peak RSS (MB) of each side; ratios against
// Hyperdrive (target >= 2x) and raw (target >= 50%, aim 80%); peak RSS <= 200 MB each side.
//
// Also printed: CPU time of each process by thread during each transfer (lib/cpu.js), and how
// busy the machine was; with BENCH_MEM_TRACE=1 each worker prints its RSS split into V8 heap,
// Buffers and native memory twice a second (lib/mem.js); with BENCH_PROFILE=1 (Linux perf), where
// each process's CPU went during the feedchain, Hyperdrive and Hypercore transfers, in CPU seconds
// per GiB by category: crypto, checksums, page faults, file writes, UDP, GC, JavaScript
// (lib/perf-profile.js).
//
// Env: BENCH_TRANSFER_MB (1024: file size, MiB), BENCH_TRANSFER_BLOCK_KB (ChainFiles block size,
//      default: the library's), BENCH_TRANSFER_MODES (raw,floor,budget,feedchain,hyperdrive,hypercore),
//      BENCH_TRANSFER_HYPERCORE_BLOCKS_KB (1024), BENCH_TRANSFER_INFLIGHT ("min,max" requests per
//      peer on the feedchain receiver; unset: hypercore's default), BENCH_TRANSFER_TIMEOUT_MS
//      (600,000 per mode), BENCH_TRANSFER_SETUP_TIMEOUT_MS (120,000 per setup step),
//      BENCH_TRANSFER_BATCHING=1 (feedchain's Networks batch replication messages as Hypercore does by
//      default: Network's `batching` option, src/net/unbatch.ts),
//      BENCH_WRITE_BUFFER_MB (unset: the product's storage, src/storage.ts; N: a plain Corestore
//      whose RocksDB memtable is N MiB, to measure a storage setting), BENCH_MEM_TRACE, BENCH_TMPDIR.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { envInt } from './lib/env.js'
import { fmt, fmtMs } from './lib/timing.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'
import { loadFeedchain } from './lib/feedchain.js'
import { peakRssMB, memTrace } from './lib/mem.js'
import { threadCpu, cpuDelta, totalCpu, fmtCpu, machineCpu, busyShare, cores } from './lib/cpu.js'
import { clock, spawnWorker, stopWorkers, isWorker, workerChannel, guardProcesses } from './lib/proc.js'
import { PROFILE, startProfile, profileRows } from './lib/perf-profile.js'

const MB = 1e6
const MiB = 1024 * 1024
const SIZE_MIB = Math.max(1, envInt('BENCH_TRANSFER_MB', 1024))
const BLOCK_KB = envInt('BENCH_TRANSFER_BLOCK_KB', 0)
/** Blocks requested per peer at once by the receiver ("min,max"; unset: the library's default). */
const INFLIGHT = process.env.BENCH_TRANSFER_INFLIGHT ? process.env.BENCH_TRANSFER_INFLIGHT.split(',').map(Number) : null
const TIMEOUT_MS = envInt('BENCH_TRANSFER_TIMEOUT_MS', 600_000)
/** Deadline of each setup step (connecting, the FILE entry arriving), ms. */
const SETUP_MS = envInt('BENCH_TRANSFER_SETUP_TIMEOUT_MS', 120_000)
const HC_BLOCKS = (process.env.BENCH_TRANSFER_HYPERCORE_BLOCKS_KB || '1024').split(',').map((s) => Number(s.trim()) * 1024).filter((n) => n > 0)
const MODES = (process.env.BENCH_TRANSFER_MODES || 'raw,floor,budget,feedchain,hyperdrive,hypercore').split(',').map((s) => s.trim()).filter(Boolean)
const TARGET_VS_HYPERDRIVE = 2
const TARGET_VS_RAW = 0.5
const TARGET_RSS_MB = 200
/** Network settings for benchmarks: fast rediscovery on a testnet (product defaults suit the public DHT). */
export const FAST_NET = { refreshMin: 250, refreshMax: 2000, handshakeTimeout: 5000, banGrace: 300 }

// ------------------------------------------------------------------ shared helpers

/** Throw unless every bootstrap node is on 127.0.0.0/8 (the benchmarks' network rule). */
export function assertLoopback (bootstrap) {
  const hosts = typeof bootstrap === 'string' ? bootstrap.split(',').map((s) => s.slice(0, s.lastIndexOf(':'))) : bootstrap.map((n) => n.host)
  if (!hosts.length || !hosts.every((h) => /^127\.\d+\.\d+\.\d+$/.test(h))) throw new Error(`refusing a bootstrap outside 127.0.0.0/8: ${JSON.stringify(bootstrap)}`)
}

/**
 * Write `mib` MiB of random bytes to `file` (each MiB distinct), fsync it, return its path. The
 * fsync: a file just written is dirty in the page cache, and the kernel writes it back 30 s later
 * or once dirty pages pass a tenth of memory, so without it that write-back ran during whichever
 * transfer came next (feedchain's, in the default order), not during the others.
 */
export async function makeFile (file, mib) {
  const out = fs.createWriteStream(file)
  const base = crypto.randomBytes(MiB)
  for (let i = 0; i < mib; i++) {
    const chunk = Buffer.from(base)
    chunk.writeUInt32BE(i, 0)
    crypto.randomFillSync(chunk, 4, 4096) // enough entropy per MiB that nothing compresses or dedups
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve))
  }
  await new Promise((resolve, reject) => out.end((e) => e ? reject(e) : resolve()))
  const fh = await fs.promises.open(file, 'r+')
  try { await fh.sync() } finally { await fh.close() }
  return file
}

/** blake2b-256 of a file, hex (the hash a FILE entry carries: dist/files/file-hash.js). */
async function blake2bFile (file) {
  const { FileHasher } = await import(new URL('../dist/files/file-hash.js', import.meta.url))
  const h = new FileHasher()
  for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) h.update(chunk)
  return h.digest().toString('hex')
}

/** Resolve when `check()` is truthy, re-checking on `event` of `emitter` (and a slow poll); reject after ms. */
export function until (check, emitters, ms, what, event = 'update') {
  return new Promise((resolve, reject) => {
    let done = false
    const finish = (e, v) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(poll)
      for (const em of emitters) em.off(event, run)
      if (e) reject(e)
      else resolve(v)
    }
    const run = async () => {
      if (done) return
      try {
        const v = await check()
        if (v) finish(null, v)
      } catch (e) { finish(e) }
    }
    const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    const poll = setInterval(run, 250) // safety net for state that changes without an event
    for (const em of emitters) em.on(event, run)
    run()
  })
}

/**
 * A Corestore on `dir`. With BENCH_WRITE_BUFFER_MB set, its RocksDB memtable is that size instead
 * of hypercore-storage's 64 MiB (two of them may be in memory while one flushes).
 */
export async function openStore (dir) {
  const { default: Corestore } = await import('corestore')
  const mb = envInt('BENCH_WRITE_BUFFER_MB', 0)
  if (mb === 0) return new Corestore(dir)
  const { default: Hypercore } = await import('hypercore')
  return new Corestore(Hypercore.defaultStorage(dir, { writeBufferSize: mb * MiB }))
}

export { peakRssMB }

/**
 * Open a feedchain peer in this (worker) process: Corestore + Network on the testnet +
 * ChainNode + ChainFiles. Returns { store, network, node, files, close() }.
 */
export async function openFeedchainPeer ({ dir, bootstrap, key = null, blockSize = 0, netOpts = {}, filesOpts = {} }) {
  assertLoopback(bootstrap)
  const { ChainNode, Network, Storage, tuneAllocator } = await loadFeedchain()
  // what the feedchain CLI and daemon do at start (src/allocator.ts); the anchors run untuned,
  // as their own users run them
  const tuning = tuneAllocator()
  const { ChainFiles } = await import(new URL('../dist/files/chain-files.js', import.meta.url))
  // the product's storage (src/storage.ts), unless BENCH_WRITE_BUFFER_MB asks for another memtable size
  const storage = envInt('BENCH_WRITE_BUFFER_MB', 0) === 0 ? await Storage.open(dir, { create: true }) : null
  const store = storage !== null ? storage.store : await openStore(dir)
  const batching = process.env.BENCH_TRANSFER_BATCHING === '1' ? { batching: true } : {}
  const network = new Network(store, { bootstrap, host: '127.0.0.1', ...FAST_NET, ...batching, ...netOpts })
  await network.ready()
  const node = new ChainNode(store, key ? { key: Buffer.from(key, 'hex'), network } : { network })
  await node.ready()
  const files = new ChainFiles(node, { network, ...(blockSize ? { blockSize } : {}), ...filesOpts })
  await files.ready()
  return {
    store,
    network,
    node,
    files,
    tuning,
    async close () {
      await files.close().catch(() => {})
      await node.close().catch(() => {})
      await network.close().catch(() => {})
      if (storage !== null) await storage.close().catch(() => {})
      else await store.close().catch(() => {})
    }
  }
}

// ------------------------------------------------------------------ worker

async function worker () {
  memTrace('')
  let peer = null // feedchain
  let store = null
  let network = null
  let swarm = null
  let drive = null
  let core = null
  const cleanup = []

  const openStoreNet = async (m) => {
    assertLoopback(m.bootstrap)
    const { Network } = await loadFeedchain()
    store = await openStore(m.dir)
    // the anchors replicate as Hypercore does by default, batching messages (src/net/unbatch.ts)
    network = new Network(store, { bootstrap: m.bootstrap, host: '127.0.0.1', ...FAST_NET, batching: true })
    await network.ready()
  }

  // the floor receiver: what a get must do with the bytes, without Hypercore's request protocol
  // (cut into 1 MiB blocks, append them to a Hypercore on the product's storage, which hashes
  // them into its Merkle tree and writes them to RocksDB; write the output file; blake2b the file)
  let floor = null
  const openFloor = async (m) => {
    const { Storage, tuneAllocator } = await loadFeedchain()
    const { FileHasher } = await import(new URL('../dist/files/file-hash.js', import.meta.url))
    const { rechunk } = await import(new URL('../dist/files/file-source.js', import.meta.url))
    tuneAllocator() // as feedchain's own sides do: this is a floor for feedchain's work
    const storage = await Storage.open(m.dir, { create: true })
    const fcore = storage.store.get({ name: 'floor' })
    await fcore.ready()
    floor = { storage, core: fcore, fh: await fs.promises.open(m.out, 'w'), FileHasher, rechunk }
    cleanup.push(async () => { await floor.fh.close().catch(() => {}); await floor.core.close(); await floor.storage.close() })
  }
  const storeLoop = async (c, m) => {
    const hasher = new floor.FileHasher()
    let batch = []
    let position = 0
    // up to two batches being stored while the next one arrives (a get overlaps them too)
    const inflight = []
    const flush = () => {
      if (batch.length === 0) return
      for (const b of batch) hasher.update(b)
      const bytes = batch.reduce((n, b) => n + b.byteLength, 0)
      inflight.push(Promise.all([floor.core.append(batch), floor.fh.writev(batch, position)]))
      position += bytes
      batch = []
    }
    // the file is a whole number of MiB, so every block is full and the last one comes without
    // waiting for the connection to end (send's rechunk, as a get's blocks were cut)
    // (no break at the end: leaving the loop would destroy the connection under the sender)
    for await (const block of floor.rechunk(c, MiB)) {
      if (got >= m.size) continue
      batch.push(block)
      got += block.byteLength
      if (batch.length >= 4 || got >= m.size) flush()
      while (inflight.length > 2) await inflight.shift()
      if (got < m.size) continue
      await Promise.all(inflight)
      await floor.fh.sync()
      const hash = hasher.digest()
      reply({ type: 'received', bytes: got, last: clock(), rss: peakRssMB(), blocks: floor.core.length, hash: hash.toString('hex') })
    }
  }
  let got = 0

  const reply = workerChannel({
    // ---- feedchain
    async 'fc-open' (m) {
      peer = await openFeedchainPeer({ dir: m.dir, bootstrap: m.bootstrap, key: m.key, blockSize: m.blockSize, filesOpts: m.inflight ? { inflightRange: m.inflight } : {} })
      reply({ type: 'opened', key: peer.node.key.toString('hex'), tuning: peer.tuning })
    },
    async 'fc-send' (m) {
      const t0 = clock()
      const info = await peer.files.send(m.file)
      const t1 = clock()
      reply({ type: 'sent', id: info.id, ms: t1 - t0, bytes: info.size, blocks: info.blockLength, rss: peakRssMB() })
    },
    async 'fc-get' (m) {
      // wait for the FILE entry (the chain syncs first), then time the download alone
      await until(async () => (await peer.files.list()).some((f) => f.id === m.id), [peer.node], m.timeoutMs, 'the FILE entry')
      reply({ type: 'start' }) // the parent starts counting CPU time here, after the setup
      const t0 = clock()
      // when the last block was stored and written: what follows is the hash's tail, fsync, rename
      let verifying = null
      const onProgress = (p) => { if (p.phase === 'verifying' && verifying === null) verifying = clock() }
      const r = await peer.files.get(m.id, { output: m.out, onProgress })
      const t1 = clock()
      reply({ type: 'got', ms: t1 - t0, tailMs: verifying === null ? null : t1 - verifying, downloaded: r.downloaded, sources: r.sources, size: fs.statSync(m.out).size })
    },

    // ---- budget: the CPU of each piece of a get's work besides the transport, in this process
    async 'budget' (m) {
      reply({ type: 'budget', pieces: await budgetPieces(m) })
    },

    // ---- raw secret-stream
    async 'raw-open' (m) {
      assertLoopback(m.bootstrap)
      if (m.store) await openFloor(m)
      const { default: Hyperswarm } = await import('hyperswarm')
      const { default: HyperDHT } = await import('hyperdht')
      swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: m.bootstrap.split(','), host: '127.0.0.1' }) })
      const topic = Buffer.from(m.topic, 'hex')
      let conn = null
      let done = false
      swarm.on('connection', (c) => {
        c.on('error', () => {})
        if (conn === null) { conn = c; swarm.emit('update') }
        // the receiver counts bytes on every connection, so the count is right even if a
        // connection were replaced (one dial direction below makes that unlikely)
        if (m.role === 'recv' && m.store && conn === c) {
          storeLoop(c, m).catch((e) => reply({ type: 'error', message: 'floor receiver: ' + e.message }))
        } else if (m.role === 'recv' && !m.store) {
          c.on('data', (d) => {
            got += d.byteLength
            if (got >= m.size && !done) {
              done = true
              reply({ type: 'received', bytes: got, last: clock(), rss: peakRssMB() })
            }
          })
        }
      })
      // one dial direction (the receiver dials the sender): both sides dialing each other makes
      // two connections, and Hyperswarm closes one of them, possibly the one chosen to push on
      const discovery = swarm.join(topic, m.role === 'send' ? { server: true, client: false } : { server: false, client: true })
      await discovery.flushed()
      reply({ type: 'joined' })
      // the peer may have announced after our lookup: look up again until connected
      const refresher = setInterval(() => { if (conn === null) discovery.refresh().catch(() => {}) }, 1000)
      try {
        await until(() => conn !== null, [swarm], m.timeoutMs, 'a raw connection')
      } finally {
        clearInterval(refresher)
      }
      swarm.conn = conn
      reply({ type: 'connected' })
    },
    async 'raw-push' (m) {
      const conn = swarm.conn
      if (conn.destroyed) throw new Error('the raw connection closed before the push')
      const t0 = clock()
      for await (const chunk of fs.createReadStream(m.file, { highWaterMark: MiB })) {
        if (conn.write(chunk)) continue
        await new Promise((resolve, reject) => {
          const closed = () => reject(new Error('the raw connection closed during the push'))
          conn.once('drain', () => { conn.off('close', closed); resolve() })
          conn.once('close', closed)
        })
      }
      reply({ type: 'pushed', t0, rss: peakRssMB() })
    },

    // ---- hyperdrive
    async 'hd-open' (m) {
      await openStoreNet(m)
      const { default: Hyperdrive } = await import('hyperdrive')
      drive = new Hyperdrive(store, m.key ? Buffer.from(m.key, 'hex') : undefined)
      await drive.ready()
      await network.join(drive.discoveryKey)
      reply({ type: 'opened', key: drive.key.toString('hex') })
    },
    async 'hd-put' (m) {
      const t0 = clock()
      await pipeline(fs.createReadStream(m.file, { highWaterMark: MiB }), drive.createWriteStream('/file'))
      reply({ type: 'sent', ms: clock() - t0 })
    },
    async 'hd-get' (m) {
      await until(async () => {
        await drive.update({ wait: true }).catch(() => {})
        return (await drive.entry('/file', { wait: true, timeout: 3000 }).catch(() => null)) !== null
      }, [drive.core], m.timeoutMs, 'the drive entry', 'append')
      reply({ type: 'start' })
      const t0 = clock()
      await pipeline(drive.createReadStream('/file'), fs.createWriteStream(m.out))
      const t1 = clock()
      reply({ type: 'got', ms: t1 - t0, size: fs.statSync(m.out).size })
    },

    // ---- plain hypercore
    async 'hc-open' (m) {
      await openStoreNet(m)
      core = m.key ? store.get({ key: Buffer.from(m.key, 'hex') }) : store.get({ name: 'bench-file' })
      await core.ready()
      network.trackCore(core)
      await network.join(core.discoveryKey)
      reply({ type: 'opened', key: core.key.toString('hex') })
    },
    async 'hc-put' (m) {
      let batch = []
      let bytes = 0
      for await (const chunk of fs.createReadStream(m.file, { highWaterMark: m.blockSize })) {
        batch.push(chunk)
        bytes += chunk.byteLength
        if (bytes >= 16 * MiB) { await core.append(batch); batch = []; bytes = 0 }
      }
      if (batch.length) await core.append(batch)
      reply({ type: 'sent', length: core.length })
    },
    async 'hc-get' (m) {
      await until(async () => { await core.update({ wait: false }).catch(() => {}); return core.length >= m.length }, [core], m.timeoutMs, 'the core length', 'append')
      reply({ type: 'start' })
      const t0 = clock()
      const range = core.download({ start: 0, end: m.length })
      await range.done()
      reply({ type: 'got', ms: clock() - t0 })
    },

    rss () { reply({ type: 'rss', peak: peakRssMB(), now: process.memoryUsage().rss / MB }) },
    async close () {
      for (const c of cleanup) await c().catch(() => {})
      if (peer) await peer.close()
      if (drive) await drive.close().catch(() => {})
      if (core) await core.close().catch(() => {})
      if (network) await network.close().catch(() => {})
      if (store) await store.close().catch(() => {})
      if (swarm) await swarm.destroy().catch(() => {})
    }
  })
}

// ------------------------------------------------------------------ parent

/**
 * Starts counting the CPU time of each worker's threads, and with `profile` and BENCH_PROFILE=1
 * sampling them with perf (lib/perf-profile.js). stop() ends both: { cpu, profile } (profile null
 * when not sampled).
 */
function measureWorkers (workers, { profile = false } = {}) {
  const before = workers.map((w) => threadCpu(w.pid))
  const m0 = machineCpu()
  const prof = profile && PROFILE ? startProfile(workers) : null
  return {
    async stop () {
      const cpu = {
        ...Object.fromEntries(workers.map((w, i) => [w.name, cpuDelta(threadCpu(w.pid), before[i])])),
        busy: busyShare(machineCpu(), m0)
      }
      return { cpu, profile: prof === null ? null : await prof.stop() }
    }
  }
}

/** CPU ms of each worker, all its threads together, from measureWorkers()'s `cpu`. */
function workerCpu (cpu) {
  return Object.fromEntries(Object.entries(cpu).filter(([k]) => k !== 'busy').map(([k, v]) => [k, totalCpu(v)]))
}

/** BENCH_PROFILE=1: where each process's CPU went during the transfer, CPU s per GiB (lib/perf-profile.js). */
function printProfile (r, gib) {
  const { names, rows } = profileRows(r.profile, workerCpu(r.cpu), gib)
  const samples = names.map((n) => `${n} ${r.profile[n].samples}`).join(', ')
  printTable(`where the CPU went, ${r.mode} (perf samples: ${samples}); CPU s per GiB:`, [
    { key: 'category', title: 'category', align: 'left' },
    ...names.map((n) => ({ key: n, title: n })),
    { key: 'all', title: 'both' },
    { key: 'share', title: 'share' }
  ], rows.map((row) => ({
    category: row.category,
    ...Object.fromEntries(names.map((n, i) => [n, fmt(row.per[i], 2)])),
    all: fmt(row.all, 2),
    share: `${fmt(row.all / rows.reduce((a, b) => a + b.all, 0) * 100, 1)}%`
  })))
}

/** CPU ms of every thread of this process so far (RocksDB's flush threads included). */
function ownCpu () {
  return totalCpu(threadCpu(process.pid))
}

/**
 * The budget worker: CPU ms of each piece, on m.size bytes in 1 MiB blocks, in the order a
 * transfer does them. Blocks come from 16 MiB of random bytes in memory, so nothing but the piece
 * is counted (RocksDB does not compress, so repeats cost the same as fresh bytes).
 */
async function budgetPieces (m) {
  const { Storage } = await loadFeedchain()
  const { FileHasher } = await import(new URL('../dist/files/file-hash.js', import.meta.url))
  const n = Math.ceil(m.size / MiB)
  const pool = Array.from({ length: 16 }, () => crypto.randomBytes(MiB))
  const block = (i) => pool[i % pool.length]
  const pieces = {}
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1000)) // let RocksDB's flush finish inside the piece
  const measure = async (name, fn, wait = false) => {
    const c0 = ownCpu()
    await fn()
    if (wait) await settle()
    pieces[name] = ownCpu() - c0
  }
  await measure('source read', async () => {
    for await (const chunk of fs.createReadStream(m.file, { highWaterMark: MiB })) chunk.byteLength.toString() // eslint-disable-line no-unused-expressions
  })
  const storage = await Storage.open(m.dir, { create: true })
  try {
    const core = storage.store.get({ name: 'budget' })
    await core.ready()
    await measure('append', async () => {
      const inflight = []
      for (let i = 0; i < n; i += 4) {
        inflight.push(core.append(Array.from({ length: Math.min(4, n - i) }, (_, k) => block(i + k))))
        if (inflight.length > 2) await inflight.shift()
      }
      await Promise.all(inflight)
    }, true)
    if (core.length !== n) throw new Error(`budget: ${core.length} blocks appended, expected ${n}`)
    await measure('read back', () => pipelined(n, 8, (i) => core.get(i)))
    await core.close()
  } finally {
    await storage.close()
  }
  await measure('file write', async () => {
    const fh = await fs.promises.open(path.join(m.dir, 'out.bin'), 'w')
    try {
      await pipelined(n, 4, (i) => fh.write(block(i), 0, MiB, i * MiB))
      await fh.sync()
    } finally {
      await fh.close()
    }
  })
  await measure('blake2b', async () => {
    const h = new FileHasher()
    for (let i = 0; i < n; i++) h.update(block(i))
    h.digest()
  })
  return pieces
}

/** Run step(0) … step(n - 1) in order with up to `depth` of them pending at once. */
async function pipelined (n, depth, step) {
  const pending = []
  for (let i = 0; i < n; i++) {
    pending.push(step(i))
    if (pending.length >= depth) await pending.shift()
  }
  await Promise.all(pending)
}

async function runBudget (ctx) {
  const w = spawnWorker('transfer.js', { name: 'budget' })
  const dir = tmpDir('budget')
  try {
    w.send({ type: 'budget', file: ctx.file, size: ctx.size, dir })
    const { pieces } = await w.next('budget', { timeoutMs: TIMEOUT_MS })
    return { mode: 'budget', pieces }
  } finally {
    await stopWorkers([w])
    removeTmpDir(dir)
  }
}

/**
 * The bound from the budget and raw's CPU: cores x bytes / CPU seconds that any design storing
 * the blocks in a Hypercore must spend. Null without both rows.
 */
function bound (budgetRow, raw, size) {
  if (!budgetRow || !raw || !raw.cpu) return null
  const transport = totalCpu(workerCpu(raw.cpu))
  const p = budgetRow.pieces
  const parts = { transport: transport - p['source read'], append: p.append, 'read back': p['read back'], 'file write': p['file write'], blake2b: p.blake2b }
  const cpuMs = Object.values(parts).reduce((a, b) => a + b, 0)
  return { parts, cpuMs, mbs: cores() * size / MB / (cpuMs / 1000) }
}

/** Two workers; `nodeFlags` for feedchain's sides, which run as the CLI starts Node (src/node-flags.ts). */
async function pair (label, nodeFlags = []) {
  return [spawnWorker('transfer.js', { name: `${label}-send`, nodeFlags }), spawnWorker('transfer.js', { name: `${label}-recv`, nodeFlags })]
}

async function runRaw (ctx, store = false) {
  const [s, r] = await pair(store ? 'floor' : 'raw', store ? (await loadFeedchain()).NODE_FLAGS ?? [] : [])
  const dir = store ? tmpDir('floor-recv') : null
  try {
    const topic = crypto.randomBytes(32).toString('hex')
    const base = { bootstrap: ctx.bootstrap, topic, size: ctx.size, timeoutMs: SETUP_MS }
    s.send({ type: 'raw-open', role: 'send', ...base })
    r.send({ type: 'raw-open', role: 'recv', ...base, ...(store ? { store: true, dir, out: path.join(dir, 'out.bin') } : {}) })
    await Promise.all([s.next('connected', { timeoutMs: TIMEOUT_MS }), r.next('connected', { timeoutMs: TIMEOUT_MS })])
    const measured = measureWorkers([s, r])
    s.send({ type: 'raw-push', file: ctx.file })
    const got = await r.next('received', { timeoutMs: TIMEOUT_MS })
    const pushed = await s.next('pushed', { timeoutMs: TIMEOUT_MS })
    const ms = got.last - pushed.t0
    const { cpu: cpuUsed } = await measured.stop()
    if (!store) return { mode: 'raw secret-stream', ms, mbs: ctx.size / MB / (ms / 1000), sendRss: pushed.rss, recvRss: got.rss, cpu: cpuUsed }
    if (got.blocks !== Math.ceil(ctx.size / MiB)) throw new Error(`floor: ${got.blocks} blocks stored, expected ${Math.ceil(ctx.size / MiB)}`)
    if (got.hash !== ctx.hash) throw new Error('floor: the written file\'s hash differs from the source')
    return { mode: 'floor: raw + store + file', ms, mbs: ctx.size / MB / (ms / 1000), sendRss: pushed.rss, recvRss: got.rss, cpu: cpuUsed, note: 'no request protocol: 1 MiB blocks appended to a Hypercore, file written, blake2b' }
  } finally {
    await stopWorkers([s, r])
    if (dir !== null) removeTmpDir(dir)
  }
}

async function rssOf (w) {
  w.send({ type: 'rss' })
  return (await w.next('rss', { timeoutMs: 30_000 })).peak
}

async function runFeedchain (ctx) {
  const [s, r] = await pair('fc', (await loadFeedchain()).NODE_FLAGS ?? [])
  const dirs = [tmpDir('fc-send'), tmpDir('fc-recv')]
  try {
    const blockSize = BLOCK_KB ? BLOCK_KB * 1024 : 0
    s.send({ type: 'fc-open', dir: dirs[0], bootstrap: ctx.bootstrap, blockSize })
    const { key, tuning } = await s.next('opened', { timeoutMs: TIMEOUT_MS })
    s.send({ type: 'fc-send', file: ctx.file })
    const sent = await s.next('sent', { timeoutMs: TIMEOUT_MS })
    r.send({ type: 'fc-open', dir: dirs[1], bootstrap: ctx.bootstrap, key, inflight: INFLIGHT })
    await r.next('opened', { timeoutMs: TIMEOUT_MS })
    const out = path.join(dirs[1], 'out.bin')
    r.send({ type: 'fc-get', id: sent.id, out, timeoutMs: SETUP_MS })
    await r.next('start', { timeoutMs: TIMEOUT_MS })
    const measured = measureWorkers([s, r], { profile: true })
    const got = await r.next('got', { timeoutMs: TIMEOUT_MS })
    const { cpu: cpuUsed, profile } = await measured.stop()
    if (got.size !== ctx.size) throw new Error(`feedchain: received ${got.size} bytes, expected ${ctx.size}`)
    const [sendRss, recvRss] = await Promise.all([rssOf(s), rssOf(r)])
    return {
      mode: `feedchain (${fmt(sent.bytes / sent.blocks / 1024)} KiB blocks)`,
      ms: got.ms,
      mbs: ctx.size / MB / (got.ms / 1000),
      sendMbs: ctx.size / MB / (sent.ms / 1000),
      sendRss,
      recvRss,
      cpu: cpuUsed,
      profile,
      tailMs: got.tailMs,
      note: `send ${fmt(ctx.size / MB / (sent.ms / 1000), 1)} MB/s; hash verified${got.tailMs === null ? '' : ` (fsync and rename after the last block: ${fmtMs(got.tailMs)})`}; ${tuning.tuned ? `mmap threshold ${tuning.threshold / 1024} KiB` : `allocator untuned: ${tuning.reason}`}`
    }
  } finally {
    await stopWorkers([s, r])
    for (const d of dirs) removeTmpDir(d)
  }
}

async function runHyperdrive (ctx) {
  const [s, r] = await pair('hd')
  const dirs = [tmpDir('hd-send'), tmpDir('hd-recv')]
  try {
    s.send({ type: 'hd-open', dir: dirs[0], bootstrap: ctx.bootstrap })
    const { key } = await s.next('opened', { timeoutMs: TIMEOUT_MS })
    s.send({ type: 'hd-put', file: ctx.file })
    const sent = await s.next('sent', { timeoutMs: TIMEOUT_MS })
    r.send({ type: 'hd-open', dir: dirs[1], bootstrap: ctx.bootstrap, key })
    await r.next('opened', { timeoutMs: TIMEOUT_MS })
    const out = path.join(dirs[1], 'out.bin')
    r.send({ type: 'hd-get', out, timeoutMs: SETUP_MS })
    await r.next('start', { timeoutMs: TIMEOUT_MS })
    const measured = measureWorkers([s, r], { profile: true })
    const got = await r.next('got', { timeoutMs: TIMEOUT_MS })
    const { cpu: cpuUsed, profile } = await measured.stop()
    if (got.size !== ctx.size) throw new Error(`hyperdrive: received ${got.size} bytes, expected ${ctx.size}`)
    const [sendRss, recvRss] = await Promise.all([rssOf(s), rssOf(r)])
    return { mode: 'hyperdrive 13', ms: got.ms, mbs: ctx.size / MB / (got.ms / 1000), sendRss, recvRss, cpu: cpuUsed, profile, note: `put ${fmt(ctx.size / MB / (sent.ms / 1000), 1)} MB/s` }
  } finally {
    await stopWorkers([s, r])
    for (const d of dirs) removeTmpDir(d)
  }
}

async function runHypercore (ctx, blockSize) {
  const [s, r] = await pair(`hc${blockSize / 1024}k`)
  const dirs = [tmpDir('hc-send'), tmpDir('hc-recv')]
  try {
    s.send({ type: 'hc-open', dir: dirs[0], bootstrap: ctx.bootstrap })
    const { key } = await s.next('opened', { timeoutMs: TIMEOUT_MS })
    s.send({ type: 'hc-put', file: ctx.file, blockSize })
    const { length } = await s.next('sent', { timeoutMs: TIMEOUT_MS })
    r.send({ type: 'hc-open', dir: dirs[1], bootstrap: ctx.bootstrap, key })
    await r.next('opened', { timeoutMs: TIMEOUT_MS })
    r.send({ type: 'hc-get', length, timeoutMs: SETUP_MS })
    await r.next('start', { timeoutMs: TIMEOUT_MS })
    const measured = measureWorkers([s, r], { profile: true })
    const got = await r.next('got', { timeoutMs: TIMEOUT_MS })
    const { cpu: cpuUsed, profile } = await measured.stop()
    const [sendRss, recvRss] = await Promise.all([rssOf(s), rssOf(r)])
    return { mode: `hypercore ${blockSize / 1024} KiB blocks`, ms: got.ms, mbs: ctx.size / MB / (got.ms / 1000), sendRss, recvRss, cpu: cpuUsed, profile, note: 'replication only, nothing written out' }
  } finally {
    await stopWorkers([s, r])
    for (const d of dirs) removeTmpDir(d)
  }
}

async function main () {
  guardProcesses()
  const { createLocalTestnet } = await loadFeedchain()
  const testnet = await createLocalTestnet(3)
  assertLoopback(testnet.bootstrap)
  const fileDir = tmpDir('transfer-file')
  const results = []
  try {
    const file = await makeFile(path.join(fileDir, 'file.bin'), SIZE_MIB)
    const ctx = { file, size: SIZE_MIB * MiB, bootstrap: testnet.bootstrapString, hash: MODES.includes('floor') ? await blake2bFile(file) : null }
    console.log(`transfer: ${SIZE_MIB} MiB file, modes ${MODES.join(', ')}, testnet ${testnet.bootstrapString}`)
    for (const mode of MODES) {
      const t0 = clock()
      if (mode === 'raw') results.push(await runRaw(ctx))
      else if (mode === 'floor') results.push(await runRaw(ctx, true))
      else if (mode === 'budget') results.push(await runBudget(ctx))
      else if (mode === 'feedchain') results.push(await runFeedchain(ctx))
      else if (mode === 'hyperdrive') results.push(await runHyperdrive(ctx))
      else if (mode === 'hypercore') for (const bs of HC_BLOCKS) results.push(await runHypercore(ctx, bs))
      else throw new Error(`unknown mode ${mode}`)
      console.log(`  ${mode} done in ${fmtMs(clock() - t0)}`)
    }
  } finally {
    await testnet.destroy()
    removeTmpDir(fileDir)
  }

  printTable(`\ntransfer of ${SIZE_MIB} MiB between two processes (loopback testnet)`, [
    { key: 'mode', title: 'mode', align: 'left' },
    { key: 'mbs', title: 'MB/s' },
    { key: 'time', title: 'time' },
    { key: 'send', title: 'sender peak RSS MB' },
    { key: 'recv', title: 'receiver peak RSS MB' },
    { key: 'note', title: 'note', align: 'left' }
  ], results.filter((r) => r.ms !== undefined).map((r) => ({ mode: r.mode, mbs: fmt(r.mbs, 1), time: fmtMs(r.ms), send: fmt(r.sendRss), recv: fmt(r.recvRss), note: r.note || '' })))

  console.log(`\nCPU time during each transfer, by thread, and how busy the machine's ${cores()} cores were (both processes share them):`)
  for (const r of results) {
    if (!r.cpu) continue
    for (const [w, d] of Object.entries(r.cpu)) if (w !== 'busy') console.log(`  ${r.mode.padEnd(28)} ${w.padEnd(12)} ${fmtCpu(d)}`)
    if (r.cpu.busy !== null) console.log(`  ${r.mode.padEnd(28)} ${'machine'.padEnd(12)} ${fmt(r.cpu.busy * 100, 0)}% busy`)
  }
  for (const r of results) if (r.profile) printProfile(r, SIZE_MIB / 1024)

  const fc = results.find((r) => r.mode.startsWith('feedchain'))
  const raw = results.find((r) => r.mode.startsWith('raw'))
  const hd = results.find((r) => r.mode.startsWith('hyperdrive'))
  const floorRow = results.find((r) => r.mode.startsWith('floor'))
  if (floorRow && (hd || raw)) {
    // what the targets ask for against what storing the blocks at all allows, in this run
    const parts = []
    if (hd) parts.push(`${TARGET_VS_HYPERDRIVE}x Hyperdrive needs ${fmt(hd.mbs * TARGET_VS_HYPERDRIVE, 1)} MB/s`)
    if (raw) parts.push(`${TARGET_VS_RAW * 100}% of raw needs ${fmt(raw.mbs * TARGET_VS_RAW, 1)} MB/s`)
    console.log(`\nceiling: the floor (no request protocol) moved ${fmt(floorRow.mbs, 1)} MB/s${hd ? ` = ${fmt(floorRow.mbs / hd.mbs, 2)}x Hyperdrive` : ''}${raw ? ` = ${fmt(floorRow.mbs / raw.mbs * 100, 0)}% of raw` : ''}; ${parts.join(', ')}`)
  }
  const budgetRow = results.find((r) => r.mode === 'budget')
  const b = bound(budgetRow, raw, SIZE_MIB * MiB)
  if (budgetRow) budgetRow.bound = b
  if (b !== null) {
    const sum = Object.entries(b.parts).map(([k, v]) => `${k} ${fmt(v / 1000, 1)}`).join(' + ')
    const vs = []
    if (hd) vs.push(`${fmt(b.mbs / hd.mbs, 2)}x Hyperdrive (target ${TARGET_VS_HYPERDRIVE}x: ${fmt(hd.mbs * TARGET_VS_HYPERDRIVE, 1)} MB/s)`)
    vs.push(`${fmt(b.mbs / raw.mbs * 100, 0)}% of raw (target ${TARGET_VS_RAW * 100}%: ${fmt(raw.mbs * TARGET_VS_RAW, 1)} MB/s)`)
    console.log(`\nbound: CPU seconds per ${fmt(SIZE_MIB)} MiB that storing the blocks in a Hypercore costs at least: ${sum} = ${fmt(b.cpuMs / 1000, 1)} s ` +
      `(transport: raw's, both processes, less reading its source). On ${cores()} cores, every one busy all the time: at most ${fmt(b.mbs, 1)} MB/s = ${vs.join(', ')}`)
  }
  const rows = []
  if (fc && hd) rows.push(row('transfer MB/s vs Hyperdrive', fc.mbs, hd.mbs, 'hyperdrive', 'MB/s', TARGET_VS_HYPERDRIVE, `>= ${TARGET_VS_HYPERDRIVE}x Hyperdrive`))
  if (fc && raw) rows.push(row('transfer MB/s vs raw transport', fc.mbs, raw.mbs, 'raw secret-stream', 'MB/s', TARGET_VS_RAW, '>= 50% of raw (aim 80%)'))
  if (fc) {
    rows.push({ name: 'transfer sender peak RSS', feedchain: fc.sendRss, anchor: hd ? hd.sendRss : null, anchorName: hd ? 'hyperdrive' : null, unit: 'MB', ratio: null, target: `<= ${TARGET_RSS_MB} MB`, targetRatio: null, pass: fc.sendRss <= TARGET_RSS_MB })
    rows.push({ name: 'transfer receiver peak RSS', feedchain: fc.recvRss, anchor: hd ? hd.recvRss : null, anchorName: hd ? 'hyperdrive' : null, unit: 'MB', ratio: null, target: `<= ${TARGET_RSS_MB} MB`, targetRatio: null, pass: fc.recvRss <= TARGET_RSS_MB })
  }
  emitResult({ bench: 'transfer', sizeMiB: SIZE_MIB, rows, results })
}

function row (name, value, anchor, anchorName, unit, targetRatio, target) {
  const ratio = value / anchor
  return { name, feedchain: value, anchor, anchorName, unit, ratio, target, targetRatio, pass: ratio >= targetRatio }
}

if (isWorker() && isMain(import.meta.url)) worker()
else if (isMain(import.meta.url)) main().catch((e) => { console.error(e); process.exitCode = 1 })
