// ChainNodes syncing over real Hyperswarm connections on a loopback testnet (127.0.0.1 only).
import test from 'brittle'
import { ChainNode } from '../dist/index.js'
import { createNetwork, createStore, createLoopbackTestnet } from './helpers/net.js'
import { converged, waitConverged, waitFor } from './helpers/node.js'

async function swarmNode (t, testnet, opts = {}) {
  const store = createStore(t)
  const network = await createNetwork(t, testnet, store)
  const node = new ChainNode(store, { ...opts, network, flushDelay: 20 })
  t.teardown(() => node.close(), { order: -1 })
  await node.ready()
  return node
}

test('three nodes find each other by the chain key and converge over Hyperswarm', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const a = await swarmNode(t, testnet)
  const b = await swarmNode(t, testnet, { key: a.key })
  const c = await swarmNode(t, testnet, { key: a.key })
  const nodes = [a, b, c]
  await waitFor(nodes, () => b.status().finalLength >= 1 && c.status().finalLength >= 1, 20000, 'genesis replicated')
  await a.addWriter(b.writerKey, { indexer: true })
  await a.addWriter(c.writerKey, { indexer: true })
  await waitFor(nodes, () => nodes.every((n) => n.status().writers.filter((w) => w.indexer).length === 3), 20000, 'membership')
  await Promise.all(nodes.map(async (n, i) => { for (let k = 0; k < 10; k++) await n.append(`n${i}-${k}`) }))
  await waitConverged(nodes, 1 + 2 + 2 + 30)
  t.ok(converged(nodes), `final ${a.finalLength}, head ${a.head.slice(0, 12)} on all three`)
  const s = a.status()
  t.ok(s.peers.length >= 2, `a sees ${s.peers.length} peers`)
  t.ok(s.peers.every((p) => p.bytesIn > 0 && p.bytesOut > 0), 'bytes counted both ways')
  // acks may still be in flight: remote lengths settle once nobody has anything new
  await waitFor([a], () => a.status().writers.every((w) => w.remoteLength >= 1 && w.lag === 0), 10000, 'remote lengths')
  t.pass('remote lengths known for every writer, no lag once converged')
})
