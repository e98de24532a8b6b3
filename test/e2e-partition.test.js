// Partition and heal with three daemons: C's daemon is stopped, A and B keep appending (they are
// 2 of 3 indexers, a quorum, so their entries become final), C appends offline on its own
// storage; then C's daemon comes back. Everything converges, no position that was final on any
// node moves, and C's offline entries land after the prefix that became final meanwhile.
import test from 'brittle'
import { childEnv, cliJson, cliOk, localTestnet, logOf, startDaemon, statusOf, threeDaemonChain, tmpDir, waitConverged } from './helpers/proc.js'

/** The identity of an entry at a position (what must never change once final). */
const id = (e) => `${e.position}:${e.writer}:${e.seq}:${e.index}:${e.type}:${e.data}`
const finals = (log) => log.filter((e) => e.final).map(id)

test('partition and heal: stop one daemon, append on both sides, restart it: converged, no final position moved', { timeout: 150_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const { nodes } = await threeDaemonChain(t, env, tmpDir(t), 'partition')
  const [A, B, C] = nodes
  const storages = nodes.map((n) => n.storage)

  for (const n of nodes) await cliOk(t, env, n.storage, ['append', `${n.name}-before`])
  await waitConverged(t, env, storages, { minFinal: 1 + 2 + 2 + 3 })
  const before = await Promise.all(storages.map((s) => logOf(t, env, s)))

  // partition: C goes offline
  const stopped = await C.daemon.stop('SIGTERM')
  t.is(stopped.code, 0, 'C\'s daemon stopped cleanly')
  const OFFLINE = 4
  await Promise.all([
    (async () => { for (let i = 0; i < 5; i++) await cliOk(t, env, A.storage, ['append', `A-during-${i}`]) })(),
    (async () => { for (let i = 0; i < 5; i++) await cliOk(t, env, B.storage, ['append', `B-during-${i}`]) })(),
    // no daemon on C: the CLI opens C's storage itself and appends offline
    (async () => { for (let i = 0; i < OFFLINE; i++) await cliOk(t, env, C.storage, ['append', `C-offline-${i}`]) })(),
  ])
  const majority = await waitConverged(t, env, [A.storage, B.storage], { minFinal: before[0].length + 10 })
  const finalMeanwhile = majority[0].finalLength
  const cOffline = await statusOf(t, env, C.storage)
  t.ok(cOffline.pending >= OFFLINE, `C's offline entries are pending on C (${cOffline.pending} pending)`)
  t.is(cOffline.peers.length, 0, 'C is offline')
  const middle = await Promise.all(storages.map((s) => logOf(t, env, s)))

  // heal
  C.daemon = await startDaemon(t, env, C.storage)
  const healed = await waitConverged(t, env, storages, { minFinal: finalMeanwhile + OFFLINE })
  t.pass(`converged after the heal: final length ${healed[0].finalLength}, head ${healed[0].head.slice(0, 16)}…`)

  const after = await Promise.all(storages.map((s) => logOf(t, env, s)))
  t.alike(after[1], after[0], 'B\'s log is A\'s')
  t.alike(after[2], after[0], 'C\'s log is A\'s')
  const now = after[0].map(id)
  for (const [i, n] of nodes.entries()) {
    for (const [label, log] of [['before the partition', before[i]], ['during the partition', middle[i]]]) {
      const f = finals(log)
      t.alike(now.slice(0, f.length), f, `${n.name}: the ${f.length} positions final ${label} are unchanged`)
    }
  }
  const offline = after[0].filter((e) => typeof e.data === 'string' && e.data.startsWith('C-offline-'))
  t.is(offline.length, OFFLINE, 'every offline entry of C is in the chain')
  t.ok(offline.every((e) => e.position >= finalMeanwhile), `C's offline entries land after the ${finalMeanwhile} positions final meanwhile (at ${offline.map((e) => e.position).join(', ')})`)
  const data = after[0].filter((e) => e.type === 'data').map((e) => e.data)
  t.is(new Set(data).size, data.length, 'no entry twice')
  t.is(data.length, 3 + 5 + 5 + OFFLINE, 'no entry lost')

  const [sync] = await cliJson(t, env, C.storage, ['sync', '--timeout', '10'])
  t.is(sync.head, healed[0].head, 'C reports caught up at the common head')
  for (const n of nodes) await n.daemon.stop()
})
