// Partition and heal on a loopback testnet: connections cut, a node stopped and restarted on
// the same store (same and new swarm key). Writes happen on both sides while apart; after the
// heal every node has everything. Waits are on events with deadlines, never sleeps.
import test from 'brittle'
import { createLoopbackTestnet, createStore, createNetwork, writerCore, openCore, waitFor, waitDownloaded } from './helpers/net.js'

const block = (i) => `PAYLOAD-${i}-${'x'.repeat(32)}`
const HEAL_MS = 10000 // "within a few seconds": generous for a loaded CI machine

async function meshOf (t, testnet, n) {
  const stores = Array.from({ length: n }, () => createStore(t))
  const nets = await Promise.all(stores.map((s) => createNetwork(t, testnet, s)))
  // every node writes its own core and reads every other node's
  const own = await Promise.all(stores.map((s) => writerCore(s, 3)))
  for (let i = 0; i < n; i++) nets[i].trackCore(own[i])
  await Promise.all(nets.map((net) => Promise.all(own.map((c) => net.join(c.discoveryKey)))))
  const readers = []
  for (let i = 0; i < n; i++) {
    readers.push([])
    for (let j = 0; j < n; j++) {
      if (i === j) { readers[i].push(own[i]); continue }
      const r = await openCore(stores[i], own[j].key)
      nets[i].trackCore(r)
      readers[i].push(r)
    }
  }
  await waitFor(nets, () => nets.every((x) => x.peers().length === n - 1), { what: 'full mesh' })
  return { stores, nets, own, readers }
}

async function allHave (readers, lengths) {
  await Promise.all(readers.flatMap((row) => row.map((r, j) => waitDownloaded(r, lengths[j], HEAL_MS))))
}

test('cut every connection of a node: it reconnects within seconds and both sides sync writes made meanwhile', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const { nets, own, readers } = await meshOf(t, testnet, 3)
  await allHave(readers, [3, 3, 3])

  const [a, b, c] = nets
  const refreshesBefore = a.stats.refreshes + b.stats.refreshes + c.stats.refreshes
  const cutAt = Date.now()
  let cut = 0
  for (const conn of [...a.swarm.connections]) { conn.destroy(); cut++ }
  t.is(cut, 2, 'A had 2 connections, both cut')
  // writes on both sides of the cut while it heals
  await own[0].append([block(3), block(4)])
  await own[2].append(block(3))

  await waitFor(nets, () => a.peers().length === 2 && a.peers().every((p) => p.handshake), { ms: HEAL_MS, what: 'A reconnected to B and C' })
  const healedIn = Date.now() - cutAt
  await allHave(readers, [5, 3, 4])
  const refreshes = a.stats.refreshes + b.stats.refreshes + c.stats.refreshes - refreshesBefore
  t.ok(refreshes >= 1, `discovery refreshed after the loss (${refreshes} refreshes)`)
  t.ok(healedIn < HEAL_MS, `partition-cut: 2 connections cut, reconnected in ${healedIn} ms, all 3 nodes have 5+3+4 blocks`)
})

test('stop a node and restart it on the same store (same key, then a new key): found again, syncs both ways', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const { stores, nets, own, readers } = await meshOf(t, testnet, 3)
  await allHave(readers, [3, 3, 3])
  const [a, b] = nets
  const keyPair = nets[2].keyPair

  // partition: C's network stops; everyone keeps writing, C too (offline)
  await nets[2].close()
  await waitFor([a, b], () => a.peers().length === 1 && b.peers().length === 1, { what: 'A and B lost C' })
  await own[0].append([block(3), block(4)])
  await own[1].append(block(3))
  await own[2].append([block(3), block(4), block(5)])

  // heal 1: C comes back with the same swarm key on the same store
  let healStart = Date.now()
  const c2 = await createNetwork(t, testnet, stores[2], { keyPair })
  for (const r of readers[2]) c2.trackCore(r)
  await Promise.all(own.map((x) => c2.join(x.discoveryKey)))
  await waitFor([a, b, c2], () => [a, b, c2].every((x) => x.peers().length === 2), { ms: HEAL_MS, what: 'mesh again (same key)' })
  await allHave(readers, [5, 4, 6])
  const heal1 = Date.now() - healStart
  t.pass(`restart-same-key: healed and synced 5+4+6 blocks on 3 nodes in ${heal1} ms`)

  // heal 2: stop again, write, come back with a NEW swarm key (peers must discover a stranger)
  await c2.close()
  await waitFor([a, b], () => a.peers().length === 1 && b.peers().length === 1, { what: 'A and B lost C again' })
  await own[0].append(block(5))
  await own[2].append(block(6))
  healStart = Date.now()
  const c3 = await createNetwork(t, testnet, stores[2])
  t.unlike(c3.publicKey, keyPair.publicKey, 'new swarm key')
  await Promise.all(own.map((x) => c3.join(x.discoveryKey)))
  await waitFor([a, b, c3], () => [a, b, c3].every((x) => x.peers().length === 2), { ms: HEAL_MS, what: 'mesh again (new key)' })
  await allHave(readers, [6, 4, 7])
  t.pass(`restart-new-key: healed and synced 6+4+7 blocks in ${Date.now() - healStart} ms`)
})

test('suspend a node (alive but unreachable, its peers back off), resume: reconnect within seconds', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const { nets, own, readers } = await meshOf(t, testnet, 3)
  await allHave(readers, [3, 3, 3])
  const [a, b, c] = nets
  // Hyperswarm's suspend: all connections closed, the DHT node stops answering
  await c.swarm.suspend()
  await waitFor([a, b], () => a.peers().length === 1 && b.peers().length === 1, { what: 'A and B lost C' })
  t.ok(a.topics().every((x) => x.lost === 1 && x.refreshing), 'A looks for its lost peer')
  await own[0].append(block(3))
  await own[2].append([block(3), block(4)])
  // let A and B fail to reach C at least once (their back-off grows) before healing
  await waitFor([a, b], () => a.stats.refreshes + b.stats.refreshes >= 6, { events: ['refresh'], what: 'refreshes while C is away' })
  const healStart = Date.now()
  await c.swarm.resume()
  await waitFor(nets, () => nets.every((x) => x.peers().length === 2), { ms: HEAL_MS, what: 'mesh again after resume' })
  await allHave(readers, [4, 3, 5])
  t.pass(`suspend-resume: healed and synced 4+3+5 blocks in ${Date.now() - healStart} ms`)
})

test('a lonely node keeps refreshing discovery until a peer appears, then stops', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const storeB = createStore(t)
  // settleTime 1: no refreshing after the join for its own sake, only while alone
  const a = await createNetwork(t, testnet, storeA, { refreshMin: 100, refreshMax: 400, settleTime: 1 })
  const core = await writerCore(storeA, 2)
  await a.join(core.discoveryKey)
  // nobody else on the topic: refreshes keep coming (bounded by refreshMin/refreshMax)
  await waitFor([a], () => a.stats.refreshes >= 3, { events: ['refresh'], what: '3 refreshes while alone' })
  const b = await createNetwork(t, testnet, storeB)
  await b.join(core.discoveryKey)
  const reader = await openCore(storeB, core.key)
  await waitDownloaded(reader, 2)
  await waitFor([a], () => a.peers().length === 1 && a.topics()[0].peers === 1 && !a.topics()[0].refreshing, { what: 'A sees B, refreshing off' })
  t.alike(a.topics().map(({ peers, lost, refreshing }) => ({ peers, lost, refreshing })), [{ peers: 1, lost: 0, refreshing: false }],
    `refreshing stopped once a peer is connected (after ${a.stats.refreshes} refreshes)`)
})

test('after joining, discovery keeps refreshing for settleTime even with peers, then stops', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const storeB = createStore(t)
  const a = await createNetwork(t, testnet, storeA, { refreshMin: 100, refreshMax: 200, settleTime: 1500 })
  const b = await createNetwork(t, testnet, storeB, { settleTime: 1 })
  const core = await writerCore(storeA, 1)
  await a.join(core.discoveryKey)
  await b.join(core.discoveryKey)
  await waitFor([a], () => a.peers().length === 1, { what: 'A sees B' })
  const before = a.stats.refreshes
  await waitFor([a], () => a.stats.refreshes >= before + 2, { events: ['refresh'], what: 'refreshes while settling' })
  await waitFor([a], () => !a.topics()[0].refreshing, { ms: 5000, what: 'settled' })
  t.pass(`${a.stats.refreshes} refreshes, then settled with ${a.topics()[0].peers} peer`)
})
