// kill -9 of a writer in the middle of an append loop (faults.md): B's daemon owns B's feed; a
// child process appends through B's socket in a loop and prints every acknowledged append. At a
// random point of the loop B's daemon is SIGKILLed, then restarted on the same storage, and the
// loop resumes. Every acknowledged append must still be there (once), no feed may fork, the next
// append must work, and the chain must converge on A, B and C.
import test from 'brittle'
import path from 'node:path'
import { DIST, childEnv, localTestnet, logOf, spawnNode, startDaemon, statusOf, threeDaemonChain, tmpDir, waitConverged } from './helpers/proc.js'

const KILLS = Number(process.env.FEEDCHAIN_KILLS) || 5

// The appender: connects to a daemon socket, appends `K-<n>` for n = start, start+1, … one
// request at a time, printing `send n` before and `ack n length` after each acknowledged append.
const APPENDER = `
const { DaemonClient } = await import(${JSON.stringify(path.join(DIST, 'daemon', 'client.js'))})
const [socket, start] = process.argv.slice(1)
const client = await DaemonClient.connect(socket)
await client.hello()
const { keyHex } = await client.request('open', {})
for (let n = Number(start); ; n++) {
  process.stdout.write('send ' + n + '\\n')
  const r = await client.request('append', { chain: keyHex, entries: [Buffer.from('K-' + n).toString('base64')] })
  process.stdout.write('ack ' + n + ' ' + r.length + '\\n')
}
`

function acks (text) {
  const out = []
  for (const m of text.matchAll(/^ack (\d+) (\d+)$/gm)) out.push({ n: Number(m[1]), length: Number(m[2]) })
  return out
}

test('kill -9 of a writer mid-append, restart: no acknowledged entry lost, no fork, converges', { timeout: 150_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const { nodes } = await threeDaemonChain(t, env, tmpDir(t), 'kill-append')
  const [, B] = nodes
  const storages = nodes.map((n) => n.storage)

  const acked = new Set()
  let next = 0
  let midAppend = 0
  let kills = 0
  for (let k = 0; k <= KILLS; k++) {
    const appender = spawnNode(t, ['--input-type=module', '-e', APPENDER, B.daemon.socket, String(next)], { env })
    const target = k === KILLS ? 5 : 3 + Math.floor(Math.random() * 30) // acks before the kill: a random point of the loop
    await appender.waitFor('stdout', (s) => acks(s).length >= target ? true : null, 20_000, `${target} acknowledged appends`)
    if (k === KILLS) {
      appender.kill('SIGKILL') // the last round only shows that appending works after the restarts
      await appender.exited
    } else {
      B.daemon.kill('SIGKILL')
      kills++
      await B.daemon.exited
      await appender.exited // the connection broke under it
    }
    const out = appender.out()
    const got = acks(out)
    for (const a of got) acked.add(a.n)
    const sent = [...out.matchAll(/^send (\d+)$/gm)].map((m) => Number(m[1]))
    if (k < KILLS && sent.length > got.length) midAppend++ // an append was in flight when the writer died
    next = Math.max(next, ...sent) + 1
    t.ok(got.length >= target, `round ${k}: ${got.length} appends acknowledged`)
    if (k < KILLS) {
      B.daemon = await startDaemon(t, env, B.storage)
      const s = await statusOf(t, env, B.storage)
      const own = s.writers.find((w) => w.self)
      t.ok(!own.forked, `round ${k}: B's feed is not forked after the restart`)
    }
  }

  await waitConverged(t, env, storages, { minFinal: 1 + 2 + 2 + acked.size })
  const logs = await Promise.all(storages.map((s) => logOf(t, env, s)))
  t.alike(logs[1], logs[0], 'B\'s log is A\'s')
  t.alike(logs[2], logs[0], 'C\'s log is A\'s')
  const present = new Map()
  for (const e of logs[0]) if (typeof e.data === 'string' && e.data.startsWith('K-')) present.set(e.data, (present.get(e.data) ?? 0) + 1)
  const lost = [...acked].filter((n) => !present.has(`K-${n}`))
  const twice = [...present].filter(([, c]) => c > 1)
  const statuses = await Promise.all(storages.map((s) => statusOf(t, env, s)))
  const forks = statuses.reduce((n, s) => n + s.writers.filter((w) => w.forked).length, 0)
  t.is(lost.length, 0, `no acknowledged append lost (of ${acked.size}): ${lost.slice(0, 10).join(', ')}`)
  t.is(twice.length, 0, 'no entry twice')
  t.is(forks, 0, 'no writer forked on any node')
  t.ok(kills >= 3, `${kills} kills`)
  t.ok(midAppend >= 1, `the kill hit an append in flight ${midAppend} times (the fault really fired)`)
  t.comment(`kill-append: ${kills} kills (${midAppend} mid-append), ${lost.length} lost acknowledged entries, ${forks} forks`)
  for (const n of nodes) await n.daemon.stop()
})
