// A peer that sends garbage, end to end with daemons: a separate process joins the chain's
// discovery key on the loopback testnet and writes random bytes into every connection. The
// honest daemons ban it (status --json lists it under bans, and only it) and keep converging.
import test from 'brittle'
import path from 'node:path'
import { ROOT, childEnv, cliOk, localTestnet, logOf, spawnNode, statusOf, threeDaemonChain, tmpDir, until, waitConverged } from './helpers/proc.js'

// The garbage peer: Hyperswarm on the given loopback bootstrap, bound to 127.0.0.1, looking up the
// topic (hex) as a client and redialling fast (an attacker picks its own back-off), writing
// random bytes into each connection every 5 ms, and looking the topic up again every second.
// Prints its public key.
const GARBAGE = `
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
const require = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})
const Hyperswarm = require('hyperswarm')
const HyperDHT = require('hyperdht')
const ids = require('hypercore-id-encoding')
const [bootstrap, topic] = process.argv.slice(1)
const nodes = bootstrap.split(',').map((s) => { const [host, port] = s.split(':'); return { host, port: Number(port) } })
if (!nodes.every((n) => n.host.startsWith('127.'))) throw new Error('bootstrap off loopback')
const swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: nodes, host: '127.0.0.1' }), backoffs: [200, 400, 800, 1600], jitter: 0 })
let connections = 0
swarm.on('connection', (conn) => {
  connections++
  process.stdout.write('connection ' + connections + ' ' + ids.encode(conn.remotePublicKey).slice(0, 8) + ' ' + new Date().toISOString().slice(11, 19) + '\\n')
  conn.on('error', () => {})
  const timer = setInterval(() => {
    if (conn.destroyed) return clearInterval(timer)
    for (let i = 0; i < 8; i++) conn.write(crypto.randomBytes(1 + crypto.randomInt(200)))
  }, 5)
  // a daemon sends its handshake at once: a connection with nothing from it after 1 s is a dead
  // half (see deadConnectionTimeout in src/net/network.ts); drop it and redial
  const dead = setTimeout(() => { if (conn.rawBytesRead === 0) conn.destroy() }, 1000)
  conn.on('close', () => { clearInterval(timer); clearTimeout(dead) })
})
process.stdout.write('key ' + ids.encode(swarm.keyPair.publicKey) + '\\n')
const discovery = swarm.join(Buffer.from(topic, 'hex'), { server: false, client: true })
await discovery.flushed()
process.stdout.write('joined\\n')
// look the topic up again every second: every daemon is found and redialled soon
setInterval(() => { discovery.refresh().catch(() => {}) }, 1000)
`

test('a peer writing garbage is banned by every honest daemon, which keep converging', { timeout: 150_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const { nodes } = await threeDaemonChain(t, env, tmpDir(t), 'garbage')
  const storages = nodes.map((n) => n.storage)
  const { discoveryKey } = await statusOf(t, env, storages[0])

  const garbage = spawnNode(t, ['--input-type=module', '-e', GARBAGE, bootstrap, discoveryKey], { env })
  const [, badKey] = await garbage.waitFor('stdout', /^key (\S+)$/m, 20_000, 'the garbage peer to start')

  // honest traffic goes on while the garbage peer attacks
  const appending = Promise.all(nodes.map(async (n) => {
    for (let i = 0; i < 4; i++) await cliOk(t, env, n.storage, ['append', `${n.name}-under-attack-${i}`])
  }))
  const banned = await until(async () => {
    const list = await Promise.all(storages.map((s) => statusOf(t, env, s)))
    return list.every((s) => s.bans.some((b) => b.publicKey === badKey)) ? list : null
  }, { ms: 60_000, what: 'every daemon to ban the garbage peer', describe: () => garbage.out().split('\n').filter((l) => l.startsWith('connection')).length + ' garbage connections' })
  await appending
  const connections = garbage.out().split('\n').filter((l) => l.startsWith('connection')).length
  t.ok(connections >= 3, `the garbage peer got ${connections} connections (the fault fired)`)
  for (const [i, s] of banned.entries()) {
    const ban = s.bans.find((b) => b.publicKey === badKey)
    t.ok(ban !== undefined, `${nodes[i].name} banned it: ${ban.reason}`)
    t.is(s.bans.length, 1, `${nodes[i].name} banned no honest peer`)
  }
  for (const n of nodes) t.ok(/banned peer /.test(n.daemon.err()), `${n.name}'s daemon logged the ban`)

  await waitConverged(t, env, storages, { minFinal: 1 + 2 + 2 + 12 })
  await until(async () => {
    const list = await Promise.all(storages.map((s) => statusOf(t, env, s)))
    return list.every((s) => s.peers.length === 2 && s.peers.every((p) => p.publicKey !== badKey))
  }, { what: 'each daemon connected to the two honest peers' })
  t.pass('each daemon is connected to the two honest peers, and not to the banned one')
  const logs = await Promise.all(storages.map((s) => logOf(t, env, s)))
  t.alike(logs[1], logs[0], 'B\'s log is A\'s')
  t.alike(logs[2], logs[0], 'C\'s log is A\'s')
  t.is(logs[0].filter((e) => typeof e.data === 'string' && e.data.includes('-under-attack-')).length, 12, 'every entry appended during the attack is in the chain')
  if (process.env.DBG) { for (const n of nodes) console.error(n.name, n.daemon.err()); console.error('G', garbage.out(), garbage.err()) }
  garbage.kill('SIGKILL')
  for (const n of nodes) await n.daemon.stop()
})
