// Helpers for tests of ChainNode over in-process replication. Every helper takes `t` and
// registers its own teardown; nothing sleeps: waits are on 'update' events with a deadline.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { ChainNode } from '../../dist/index.js'
import { waitFor as waitAny } from './wait.js'

/** A fresh temporary directory, removed at teardown. */
export function tmpdir (t, prefix = 'feedchain-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }), { order: Infinity })
  return dir
}

/** A Corestore on a temp dir, closed at teardown. */
export function createStore (t, opts = {}) {
  const store = new Corestore(opts.dir || tmpdir(t), opts.primaryKey ? { primaryKey: opts.primaryKey, unsafe: true } : {})
  t.teardown(() => store.close(), { order: 10 })
  return store
}

/** A ready ChainNode on its own store (creates a chain unless opts.key is given). */
export async function createNode (t, opts = {}) {
  const store = opts.store || createStore(t, opts)
  const node = new ChainNode(store, { flushDelay: 20, ...opts, store: undefined, dir: undefined, primaryKey: undefined })
  t.teardown(() => node.close(), { order: 0 })
  await node.ready()
  return node
}

/** Pipe two nodes' stores together; returns a function that cuts the link. */
export function connect (a, b) {
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
  const onError = () => {}
  s1.on('error', onError)
  s2.on('error', onError)
  let cut = false
  return function disconnect () {
    if (cut) return
    cut = true
    s1.destroy()
    s2.destroy()
  }
}

/** Connect every pair of nodes; returns a function that cuts all links. */
export function mesh (t, nodes) {
  const cuts = []
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) cuts.push(connect(nodes[i], nodes[j]))
  }
  const cutAll = () => { for (const c of cuts) c() }
  t.teardown(cutAll, { order: -1 })
  return cutAll
}

/** Wait until cond() is true, re-checking on every 'update' of the nodes; fail after ms with their state. */
export function waitFor (nodes, cond, ms = 20000, what = 'condition') {
  const describe = () => JSON.stringify(nodes.map((n) => ({ len: n.status().length, fin: n.status().finalLength, head: n.status().head.slice(0, 8), idx: n.status().writers.filter((w) => w.indexer).length })))
  return waitAny(nodes, cond, { ms, what, describe, poll: 50 })
}

/** True when every node has the same final length (≥ min) and the same head hash. */
export function converged (nodes, min = 0) {
  const s = nodes.map((n) => n.status())
  return s.every((x) => x.finalLength >= min && x.finalLength === s[0].finalLength && x.head === s[0].head && x.pending === 0 && x.length === s[0].length)
}

/** Wait for convergence of all nodes. */
export function waitConverged (nodes, min = 0, ms = 30000) {
  return waitFor(nodes, () => converged(nodes, min), ms, 'convergence')
}

/** All entries of a node's final prefix as strings `writer:seq:index:data`. */
export async function finalEntries (node) {
  const out = []
  for await (const e of node.read({ final: true })) out.push(`${e.writer.toString('hex').slice(0, 8)}:${e.seq}:${e.index}:${e.type}:${e.data.toString('hex')}`)
  return out
}

/** Set up a chain of n nodes, all indexers (or `indexers` of them), fully meshed and converged. */
export async function chainOf (t, n, { indexers = n, ...opts } = {}) {
  const a = await createNode(t, opts)
  const nodes = [a]
  for (let i = 1; i < n; i++) nodes.push(await createNode(t, { ...opts, key: a.key }))
  const cut = mesh(t, nodes)
  for (let i = 1; i < n; i++) await a.addWriter(nodes[i].writerKey, { indexer: i < indexers })
  await waitFor(nodes, () => nodes.every((x) => x.status().writers.filter((w) => w.indexer).length === indexers && x.status().isWriter), 30000, 'membership')
  await waitConverged(nodes)
  return { nodes, cut }
}
