// One process of the "many peers" test (test/net-many-peers.test.js): runs `count` feedchain
// nodes, each a ChainNode on its own Storage (its own RocksDB) with its own Network (its own
// Hyperswarm and HyperDHT node, bound to 127.0.0.1, bootstrapped only from the parent's loopback
// testnet in FEEDCHAIN_BOOTSTRAP). The parent drives it with one JSON request per stdin line and
// reads one JSON reply per stdout line ({ id, ok, ... } or { id, ok: false, error }).
//
//   node many-peers-child.js <dir> <count> <maxPeers>
//
// Requests: open { key? } (no key: node 0 creates the chain), add { writers: [{ key, indexer }] }
// (node 0 adds them), append { nodes: [i], count, batch } (those nodes append concurrently),
// status { full? }, close. A status reply carries the per-node state and the process's peaks:
// connections per swarm (sampled every SAMPLE_MS and on every swarm 'update') and RSS (every
// SAMPLE_MS), plus CPU time by thread and event-loop delay.
import fs from 'node:fs'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import readline from 'node:readline'
import { ChainNode, Network, Storage } from '../../dist/index.js'
import { FAST } from './net.js'
import { assertLoopback } from './proc.js'

const [dir, countArg, maxPeersArg] = process.argv.slice(2)
const count = Number(countArg)
const maxPeers = Number(maxPeersArg)
const bootstrap = process.env.FEEDCHAIN_BOOTSTRAP ?? ''
assertLoopback(bootstrap) // throws on anything off 127.0.0.0/8: this process never sees another DHT
if (!dir || !(count > 0) || !(maxPeers > 0)) throw new Error('usage: many-peers-child.js <dir> <count> <maxPeers>')

const SAMPLE_MS = 100
// how late this process's timers run: high values mean the process (or the machine) is CPU-bound
const loopDelay = monitorEventLoopDelay({ resolution: 20 })
loopDelay.enable()

/** @type {{ storage: Storage, network: Network, node: ChainNode | null }[]} */
const slots = []
const peak = { rss: 0, at: null, connections: 0, clientConnections: 0 }
let sampler = null

// Cheap on purpose (it runs on every swarm 'update'): connection counts straight from the swarm,
// never network.peers(), whose rows compute every core's remote bitfield.
function sample () {
  for (const { network } of slots) {
    const swarm = network.swarm
    if (swarm === null) continue
    peak.connections = Math.max(peak.connections, swarm.connections.size)
    let client = 0
    for (const c of swarm.connections) if (c.isInitiator) client++
    peak.clientConnections = Math.max(peak.clientConnections, client)
  }
}

function sampleRss () {
  const rss = process.memoryUsage.rss()
  if (rss <= peak.rss) return
  peak.rss = rss
  // where the peak sits: V8 heap, Buffers (arrayBuffers), other native memory (RocksDB, UDX, …)
  const m = process.memoryUsage()
  peak.at = { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }
}

/**
 * CPU seconds of this process: the main (JavaScript) thread, the others (libuv's pool, which runs
 * RocksDB reads and writes, V8's helpers, RocksDB's own background threads) by thread name, and
 * the thread count; from /proc (Linux; null elsewhere).
 */
function cpuByThread () {
  try {
    const tick = 100 // USER_HZ on Linux
    const out = { main: 0, threads: 0, byName: {} }
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const secs = (Number(f[11]) + Number(f[12])) / tick // utime + stime
      out.threads++
      if (Number(tid) === process.pid) out.main += secs
      else out.byName[comm] = Math.round(((out.byName[comm] ?? 0) + secs) * 100) / 100
    }
    return out
  } catch {
    return null
  }
}

async function open ({ key }) {
  const t0 = Date.now()
  // stores and networks first (all in parallel), then the nodes: node 0 may create the chain
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const storage = await Storage.open(path.join(dir, `n${i}`), { create: true })
    const network = new Network(storage.store, { ...FAST, bootstrap, host: '127.0.0.1', maxPeers })
    await network.ready()
    network.swarm.on('update', sample)
    slots[i] = { storage, network, node: null }
  }))
  sampler = setInterval(() => { sampleRss(); sample() }, SAMPLE_MS)
  let chainKey = key === undefined ? undefined : Buffer.from(key, 'hex')
  for (let i = 0; i < count; i++) {
    const { storage, network } = slots[i]
    const node = new ChainNode(storage.store, { key: chainKey, network, flushDelay: 100 })
    await node.ready()
    slots[i].node = node
    chainKey = node.key
  }
  return {
    key: chainKey.toString('hex'),
    writerKeys: slots.map((s) => s.node.writerKey.toString('hex')),
    ms: Date.now() - t0,
  }
}

async function add ({ writers }) {
  const creator = slots[0].node
  for (const w of writers) await creator.addWriter(Buffer.from(w.key, 'hex'), { indexer: w.indexer })
  return { added: writers.length }
}

async function append ({ nodes, count: n, batch }) {
  const t0 = Date.now()
  await Promise.all(nodes.map(async (i) => {
    const node = slots[i].node
    for (let k = 0; k < n; k += batch) {
      const entries = []
      for (let j = k; j < Math.min(n, k + batch); j++) entries.push(`mp-${node.writerKey.toString('hex').slice(0, 8)}-${j}`)
      await node.append(entries)
    }
  }))
  return { appended: nodes.length * n, ms: Date.now() - t0 }
}

/**
 * Per-node state. `full`: ChainNode.status() (writers, peers: it computes every peer's remote
 * lengths, too costly to poll 52 nodes several times a second); otherwise the cheap getters only.
 */
function status ({ full = false }) {
  sampleRss()
  sample()
  return {
    pid: process.pid,
    cpu: cpuByThread(),
    loopDelayMs: { p50: Math.round(loopDelay.percentile(50) / 1e6), p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
    rss: process.memoryUsage.rss(),
    peak: { ...peak },
    nodes: slots.map(({ network, node }) => {
      const cheap = {
        length: node.length,
        finalLength: node.finalLength,
        pending: node.length - node.finalLength,
        head: node.head,
        connections: network.swarm.connections.size,
      }
      if (!full) return cheap
      const s = node.status()
      return {
        ...cheap,
        isWriter: s.isWriter,
        indexers: s.writers.filter((w) => w.indexer).length,
        writers: s.writers.filter((w) => !w.removed).length,
        forked: s.writers.some((w) => w.forked),
        halted: s.halted,
        peers: s.peers.length,
        // where this node's DHT socket is bound (null before its first use)
        dhtHost: network.swarm.dht.address()?.host ?? null,
      }
    }),
  }
}

async function close () {
  const t0 = Date.now()
  clearInterval(sampler)
  await Promise.all(slots.map(async (s) => { await s.node?.close().catch(() => {}) }))
  await Promise.all(slots.map(async (s) => { await s.network.close().catch(() => {}) }))
  await Promise.all(slots.map(async (s) => { await s.storage.close().catch(() => {}) }))
  return { closed: slots.length, ms: Date.now() - t0 }
}

const ops = { open, add, append, status, close }
const reply = (msg) => process.stdout.write(JSON.stringify(msg) + '\n')

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const req = JSON.parse(line)
  try {
    const res = await ops[req.op](req)
    reply({ id: req.id, ok: true, ...res })
    if (req.op === 'close') process.exit(0)
  } catch (e) {
    reply({ id: req.id, ok: false, error: e.stack ?? String(e) })
  }
})
// the parent gone (stdin closed) means the test is over: never linger
process.stdin.on('end', () => process.exit(0))
