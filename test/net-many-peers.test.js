// Many peers (faults.md): 52 swarms in 4 processes on one loopback testnet join one chain; 6 of
// them are writers (2 of those indexers, with the creator 3) and append 600 entries at once.
// Pass: every node converges to the same final length and chain hash; every swarm dials at most
// maxPeers connections, so the network holds at most swarms × maxPeers of them (not a full
// mesh); each process's peak RSS stays under a bound. Prints one line with the figures.
//
// Each child (test/helpers/many-peers-child.js) runs PER nodes: a ChainNode on its own Storage
// (its own RocksDB) with its own Network — its own Hyperswarm and HyperDHT node on 127.0.0.1,
// bootstrapped only from the testnet this process runs (childEnv checks it is loopback).
//
// Knobs for exploring (the defaults are what `npm test` runs): FEEDCHAIN_MP_PROCS,
// FEEDCHAIN_MP_PER (nodes per process), FEEDCHAIN_MP_MAX_PEERS, FEEDCHAIN_MP_BATCH (entries per
// append), FEEDCHAIN_MP_TRACE=1 (print every convergence poll).
import test from 'brittle'
import path from 'node:path'
import { ROOT, childEnv, localTestnet, spawnNode, tmpDir, until } from './helpers/proc.js'

const PROCS = Number(process.env.FEEDCHAIN_MP_PROCS) || 4
const PER = Number(process.env.FEEDCHAIN_MP_PER) || 13
const MAX_PEERS = Number(process.env.FEEDCHAIN_MP_MAX_PEERS) || 8
const WRITERS = 6 // besides the creator; the first INDEXERS of them are indexers too
const INDEXERS = 2
const ENTRIES = 600 // in all, split evenly over the writers
const BATCH = Number(process.env.FEEDCHAIN_MP_BATCH) || 5
const CONVERGE_MS = 60_000
const TRACE = process.env.FEEDCHAIN_MP_TRACE === '1'
/**
 * Peak RSS bound per process, MB. Measured on the 2-core test machine, shared with other work
 * (load 5–13): one idle node in a process 89 MB, 13 idle nodes 111 MB; this test's peaks with
 * maxPeers 8 were 207–302 MB in 11 runs (V8 heap 79–136 MB and Buffers 37–76 MB of that; the
 * process holding the creator and the first-joined swarms, which collect the most incoming
 * connections, is always the highest), with maxPeers 4 183–216 MB, and with the default maxPeers
 * 64 (a full mesh, 51 connections per swarm) 395–440 MB. So: 100 MB for the process plus 23 MB per
 * node, 399 MB for 13 nodes, a third above the worst peak measured and below the full mesh's.
 */
const RSS_BOUND_MB = 100 + 23 * PER

const CHILD = path.join(ROOT, 'test', 'helpers', 'many-peers-child.js')

/** Spawn a child and return { proc, call(op, args) }: one JSON request per line, one reply per line. */
function startChild (t, env, dir) {
  const proc = spawnNode(t, [CHILD, dir, String(PER), String(MAX_PEERS)], { env, keepStdin: true })
  const waiting = new Map()
  let buf = ''
  let seq = 0
  proc.child.stdout.on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      let msg
      try { msg = JSON.parse(line) } catch { continue }
      const w = waiting.get(msg.id)
      if (w === undefined) continue
      waiting.delete(msg.id)
      if (msg.ok) w.resolve(msg)
      else w.reject(new Error(`child ${proc.pid} ${w.op} failed: ${msg.error}`))
    }
  })
  proc.exited.then(({ code, signal }) => {
    for (const w of waiting.values()) w.reject(new Error(`child ${proc.pid} exited (${code ?? signal}) during ${w.op}; stderr: ${proc.err().slice(-800)}`))
    waiting.clear()
  })
  return {
    proc,
    call (op, args = {}) {
      const id = ++seq
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject, op })
        proc.child.stdin.write(JSON.stringify({ id, op, ...args }) + '\n')
      })
    },
  }
}

test('many peers: 50+ swarms in a few processes join one chain, converge, connections and memory bounded', { timeout: 180_000 }, async (t) => {
  const t0 = Date.now()
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t, 'feedchain-many-')
  const children = Array.from({ length: PROCS }, (_, i) => startChild(t, env, path.join(dir, `p${i}`)))
  const all = (op, args) => Promise.all(children.map((c) => c.call(op, args)))
  const statuses = async (full = false) => (await all('status', { full })).flatMap((r) => r.nodes)

  // process 0's node 0 creates the chain; everyone else opens it by key
  const first = await children[0].call('open')
  const rest = await Promise.all(children.slice(1).map((c) => c.call('open', { key: first.key })))
  const opened = [first, ...rest]
  const swarms = opened.reduce((n, o) => n + o.writerKeys.length, 0)
  t.ok(swarms >= 50, `${swarms} swarms (ChainNode + Network each) in ${PROCS} processes`)
  const openMs = Date.now() - t0

  // writers spread over the processes (never the creator): node 1, 2, … of process i % PROCS
  const writers = Array.from({ length: WRITERS }, (_, w) => ({ proc: w % PROCS, node: 1 + Math.floor(w / PROCS), indexer: w < INDEXERS }))
  await children[0].call('add', { writers: writers.map((w) => ({ key: opened[w.proc].writerKeys[w.node], indexer: w.indexer })) })
  const members = await until(async () => {
    const list = await statuses(true)
    return list.every((s) => s.writers === 1 + WRITERS && s.indexers === 1 + INDEXERS && s.finalLength >= 1 + WRITERS) ? list : { ok: false, list }
  }, { ms: CONVERGE_MS, what: `every node to see ${WRITERS} writers added`, interval: 250, describe: summary })
  t.ok(writers.every((w) => members[w.proc * PER + w.node].isWriter), 'every added writer knows it is one')
  const membersMs = Date.now() - t0 - openMs

  // all writers append at once, spread over the processes
  const tAppend = Date.now()
  const per = ENTRIES / WRITERS
  const appending = Promise.all(children.map((c, p) => {
    const nodes = writers.filter((w) => w.proc === p).map((w) => w.node)
    return nodes.length === 0 ? null : c.call('append', { nodes, count: per, batch: BATCH })
  }))
  // final length: GENESIS + one MEMBERSHIP per writer + one JOIN per added indexer + the data
  const expected = 1 + WRITERS + INDEXERS + ENTRIES
  let allHaveMs = null
  const final = await until(async () => {
    const list = await statuses()
    if (allHaveMs === null && list.every((s) => s.length === expected)) allHaveMs = Date.now() - tAppend
    if (TRACE) t.comment(`${((Date.now() - tAppend) / 1000).toFixed(1)} s: ${summary({ list })}`)
    const ok = list.every((s) => s.finalLength === expected && s.length === expected && s.pending === 0 && s.head === list[0].head)
    return ok ? list : { ok: false, list }
  }, { ms: CONVERGE_MS, what: `${swarms} nodes to converge on ${expected} final entries`, interval: 250, describe: summary })
  const convergedMs = Date.now() - tAppend
  const appended = await appending

  const report = await all('status', { full: true })
  const nodes = report.flatMap((r) => r.nodes)
  t.is(nodes.length, swarms, 'every node reported')
  t.ok(nodes.every((s) => s.finalLength === expected && s.head === final[0].head), 'and still agrees on the final length and hash')
  t.ok(nodes.every((s) => !s.forked && s.halted === null), 'no forked writer, no halted node')
  // the run counts only if it really was 50+ live swarms: every one connected and on loopback
  t.ok(nodes.every((s) => s.peers >= 1), 'every node replicates with at least one peer')
  t.ok(nodes.every((s) => s.dhtHost === '127.0.0.1'), `every one of the ${swarms} DHT nodes is bound to 127.0.0.1`)

  // Connections. Hyperswarm dials only while a swarm has fewer than maxPeers connections (in or
  // out, index.js _shouldConnect), so dialed ≤ maxPeers per swarm and the whole network holds at
  // most swarms × maxPeers connections (each has one dialer) instead of a full mesh. Incoming
  // connections are not capped per swarm (maxServerConnections is never checked), so the most
  // connected swarm is reported, not bounded by maxPeers.
  const maxConns = Math.max(...report.map((r) => r.peak.connections))
  const maxDialed = Math.max(...report.map((r) => r.peak.clientConnections))
  const total = nodes.reduce((n, s) => n + s.connections, 0) / 2
  t.ok(maxDialed <= MAX_PEERS, `dialed connections per swarm ≤ maxPeers ${MAX_PEERS} at every sample (max ${maxDialed})`)
  t.ok(total <= swarms * MAX_PEERS, `${total} connections in all ≤ ${swarms} × ${MAX_PEERS} (a full mesh is ${swarms * (swarms - 1) / 2})`)

  // Memory: peak RSS of each process, sampled every 100 ms. See RSS_BOUND_MB for the measurements.
  const peakRss = Math.max(...report.map((r) => r.peak.rss))
  t.ok(peakRss <= RSS_BOUND_MB * 1e6, `peak RSS per process ≤ ${RSS_BOUND_MB} MB (max ${mb(peakRss)} MB)`)

  t.comment(`per process: ${report.map((r) => `pid ${r.pid}: peak RSS ${mb(r.peak.rss)} MB (V8 heap ${mb(r.peak.at.heapTotal)}, buffers ${mb(r.peak.at.arrayBuffers)}), ` +
    `max ${r.peak.connections} connections per swarm (${r.peak.clientConnections} dialed), CPU ${r.cpu === null ? '?' : `${r.cpu.main.toFixed(1)} s main + ${Object.values(r.cpu.byName).reduce((a, b) => a + b, 0).toFixed(1)} s other threads`}, ` +
    `event loop delay p50 ${r.loopDelayMs.p50} / p99 ${r.loopDelayMs.p99} / max ${r.loopDelayMs.max} ms`).join('; ')}`)
  t.comment(`connections per swarm at the end: ${nodes.map((s) => s.connections).join(' ')}`)
  t.comment(`open ${(openMs / 1000).toFixed(1)} s, membership ${(membersMs / 1000).toFixed(1)} s; appends took ${appended.filter(Boolean).map((a) => a.ms).join(', ')} ms; ` +
    `every node had all ${expected} entries after ${(allHaveMs / 1000).toFixed(1)} s, all final after ${(convergedMs / 1000).toFixed(1)} s`)

  const line = `many-peers: ${swarms} swarms in ${PROCS} processes, ${WRITERS} writers, ${ENTRIES} entries, ` +
    `converged in ${(convergedMs / 1000).toFixed(1)} s, max ${maxConns} connections per swarm (${total} in all, ≤ ${MAX_PEERS} dialed each), peak RSS ${mb(peakRss)} MB per process`
  t.pass(line)
  console.log(line)

  const closed = await all('close')
  await Promise.all(children.map((c) => c.proc.exited))
  t.comment(`closed in ${closed.map((c) => c.ms).join(', ')} ms; whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`)
})

function mb (bytes) {
  return Math.round(bytes / 1e6)
}

/** A poll's state in one line: how many nodes stand at each final/length, and their connection counts. */
function summary (last) {
  const list = last?.list
  if (!Array.isArray(list)) return String(last)
  const lens = new Map()
  for (const s of list) {
    const k = `${s.finalLength}/${s.length}`
    lens.set(k, (lens.get(k) ?? 0) + 1)
  }
  return `final/length: ${[...lens].map(([k, n]) => `${k}×${n}`).join(', ')}; connections: ${list.map((s) => s.connections).join(' ')}`
}
