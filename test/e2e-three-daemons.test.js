// Three daemons as separate processes on a loopback testnet: A creates a chain, B and C join it
// through their daemons, A makes both indexers, then all three append at the same time through
// the CLI. Every node ends with the same final length, head and log.
import test from 'brittle'
import { childEnv, cliJson, cliOk, localTestnet, logOf, statusOf, threeDaemonChain, tmpDir, until, waitConverged } from './helpers/proc.js'

test('three daemons: init, join, writers add --indexer, concurrent appends, identical final chain everywhere', { timeout: 150_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const { key, nodes } = await threeDaemonChain(t, env, tmpDir(t), 'three')
  const storages = nodes.map((n) => n.storage)

  // concurrent appends: one at a time per node, all three nodes at once, plus one batch each
  const PER_NODE = 6
  await Promise.all(nodes.map(async (n) => {
    for (let i = 0; i < PER_NODE; i++) await cliOk(t, env, n.storage, ['append', `${n.name}-${i}`])
    await cliOk(t, env, n.storage, ['append', '-'], { input: [0, 1, 2].map((j) => `${n.name}-batch-${j}`).join('\n') })
  }))
  const perNode = PER_NODE + 3

  const statuses = await waitConverged(t, env, storages, { minFinal: 1 + 2 + 2 + 3 * perNode })
  const [a] = statuses
  t.ok(statuses.every((s) => s.key === key), 'all three follow the chain')
  t.pass(`final length ${a.finalLength} and head ${a.head.slice(0, 16)}… identical on A, B and C`)

  const logs = await Promise.all(storages.map((s) => logOf(t, env, s)))
  t.alike(logs[1], logs[0], 'B\'s log is A\'s')
  t.alike(logs[2], logs[0], 'C\'s log is A\'s')
  const data = logs[0].filter((e) => e.type === 'data').map((e) => e.data)
  t.is(data.length, 3 * perNode, 'every appended entry is in the chain')
  t.is(new Set(data).size, data.length, 'each exactly once')
  for (const n of nodes) {
    const mine = data.filter((d) => d.startsWith(n.name + '-'))
    const expected = [...Array.from({ length: PER_NODE }, (_, i) => `${n.name}-${i}`), ...[0, 1, 2].map((j) => `${n.name}-batch-${j}`)]
    t.alike(mine, expected, `${n.name}'s entries keep their order`)
  }
  t.ok(logs[0].every((e) => e.final), 'everything is final')

  // status through each daemon shows the peers and no lag once converged
  const settled = await until(async () => {
    const list = await Promise.all(storages.map((s) => statusOf(t, env, s)))
    return list.every((s) => s.peers.length === 2 && s.peers.every((p) => p.bytesIn > 0 && p.bytesOut > 0) && s.writers.every((w) => w.lag === 0)) ? list : null
  }, { what: 'two peers (bytes counted both ways) and no lag on every node' })
  t.ok(settled.every((s) => s.peers.every((p) => p.feeds.length >= 3)), 'each peer replicates the three writer feeds')
  const [sync] = await cliJson(t, env, storages[2], ['sync', '--timeout', '10'])
  t.is(sync.caughtUp, true, 'sync through C\'s daemon reports caught up')
  t.is(sync.head, a.head, 'at the same head')

  for (const n of nodes) {
    const r = await n.daemon.stop('SIGTERM')
    t.is(r.code, 0, `${n.name}'s daemon stops cleanly`)
  }
})
