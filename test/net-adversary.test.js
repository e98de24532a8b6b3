// Adversaries on a loopback testnet (faults.md "invalid blocks / garbage"): a peer writing random
// bytes into the encrypted stream, a peer serving tampered blocks. Each is rejected and banned,
// and honest peers keep serving. Every test checks that its fault really fired.
import test from 'brittle'
import crypto from 'hypercore-crypto'
import ids from 'hypercore-id-encoding'
import { createLoopbackTestnet, createStore, createNetwork, writerCore, openCore, waitFor, waitDownloaded, once, rowOf, garbagePeer, tamperOutgoing } from './helpers/net.js'

const block = (i) => `PAYLOAD-${i}-${'x'.repeat(32)}`

test('garbage peer: dropped on its first protocol fault, banned on the second; honest peers keep syncing', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const storeB = createStore(t)
  const a = await createNetwork(t, testnet, storeA)
  const b = await createNetwork(t, testnet, storeB)
  const core = await writerCore(storeA, 10)
  const dk = core.discoveryKey
  await a.join(dk)
  await b.join(dk)
  const reader = await openCore(storeB, core.key)
  b.trackCore(reader)
  await waitDownloaded(reader, 10)

  const strikes = []
  for (const n of [a, b]) n.on('strike', (s) => strikes.push(s))
  const started = Date.now()
  const g = await garbagePeer(t, testnet, dk)
  const gid = ids.encode(g.publicKey)

  // keep writing while the garbage peer is around
  let i = 10
  const writer = setInterval(() => { core.append(block(i++)).catch(() => {}) }, 50)
  t.teardown(() => clearInterval(writer), { order: -1 })

  await waitFor([a, b], () => a.isBanned(g.publicKey) && b.isBanned(g.publicKey), {
    ms: 20000, events: ['ban', 'update'], what: 'A and B ban the garbage peer',
    describe: () => JSON.stringify({ strikes, a: a.banned(), b: b.banned(), g: g.connections })
  })
  const bannedIn = Date.now() - started
  clearInterval(writer)
  t.ok(g.connections >= 2 && g.written > 0, `the fault fired: ${g.connections} garbage connections, ${g.written} random bytes written`)
  const ofG = strikes.filter((s) => s.publicKey === gid)
  t.ok(ofG.length >= 2, 'strikes before the ban: ' + [...new Set(ofG.map((s) => s.reason.replace(/:.*/, '')))].join(', '))
  t.ok(a.banned().some((x) => x.publicKey === gid && x.reason.length > 0), 'A lists the ban with a reason')
  t.absent(rowOf(a, gid) || rowOf(b, gid), 'the garbage peer is not in any peer table')
  t.ok(strikes.every((s) => s.publicKey === gid), 'no honest peer was struck')
  t.absent(a.isBanned(b.publicKey) || b.isBanned(a.publicKey), 'honest peers never banned')

  // a banned peer stays out: the firewall refuses it, whichever side dials
  const gBefore = g.connections
  await g.swarm.flush()
  await core.append([block(i++), block(i++)])
  await waitDownloaded(reader, core.length)
  t.is((await reader.get(core.length - 1)).toString(), block(core.length - 1), `B still synced: ${core.length} blocks`)
  t.is(a.peers().length, 1, 'A–B connection unaffected')
  t.ok(g.connections - gBefore <= 1, 'no lasting connection for the banned peer')
  t.pass(`garbage: ${g.written} random bytes over ${g.connections} connections, ${ofG.length} strikes, banned on A and B in ${bannedIn} ms, B synced ${core.length} blocks`)
})

test('garbage below the encryption (stalls the framing): no handshake, dropped, then banned', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const a = await createNetwork(t, testnet, storeA, { handshakeTimeout: 800 })
  const dk = crypto.randomBytes(32)
  await a.join(dk)
  const strikes = []
  a.on('strike', (s) => strikes.push(s.reason))
  const started = Date.now()
  const g = await garbagePeer(t, testnet, dk, { raw: true })
  await waitFor([a], () => a.isBanned(g.publicKey), { ms: 15000, events: ['ban', 'update'], what: 'ban', describe: () => JSON.stringify({ strikes, g: g.connections }) })
  t.ok(g.connections >= 2 && g.written > 0, `the fault fired: ${g.written} raw random bytes over ${g.connections} connections`)
  t.ok(strikes.length >= 2, 'strikes: ' + [...new Set(strikes)].join('; '))
  t.pass(`raw-garbage: banned after ${strikes.length} strikes in ${Date.now() - started} ms (${a.stats.handshakeTimeouts} handshake timeouts)`)
})

test('equivocating writer: the honest peer relaying the fork is not banned (the conflict is reported instead)', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeW1 = createStore(t)
  const storeW2 = createStore(t)
  const storeR = createStore(t)
  const keyPair = crypto.keyPair()
  // two stores hold the same writer key pair and append different blocks: a fork at 0
  const w1core = storeW1.get({ keyPair })
  const w2core = storeW2.get({ keyPair })
  await w1core.ready()
  await w2core.ready()
  await w1core.append([Buffer.from('branch-1 a'), Buffer.from('branch-1 b')])
  await w2core.append([Buffer.from('branch-2 a'), Buffer.from('branch-2 b'), Buffer.from('branch-2 c')])
  const dk = w1core.discoveryKey

  const r = await createNetwork(t, testnet, storeR)
  const reader = await openCore(storeR, w1core.key)
  r.trackCore(reader)
  const conflict = once(reader, 'conflict', { ms: 15000 })
  const w1 = await createNetwork(t, testnet, storeW1)
  await w1.join(dk)
  await r.join(dk)
  await waitDownloaded(reader, 2)
  await w1.close()

  const verrs = []
  r.on('verification-error', (x) => verrs.push(x))
  const excused = once(r, 'verification-excused', { ms: 15000 })
  const w2 = await createNetwork(t, testnet, storeW2)
  await w2.join(dk)
  await conflict
  const [ex] = await excused
  t.ok(verrs.length >= 1, `the fork fired: ${verrs.length} verification error(s) (${verrs[0]?.error}), then 'conflict'`)
  t.is(ex.publicKey, ids.encode(w2.publicKey), 'the relaying peer is excused: ' + ex.reason)
  t.absent(r.isBanned(w2.publicKey), 'the peer that relayed the fork is not banned')
  t.is(r.stats.bans, 0, 'no bans')
})

test('tampering peer: verification-error fires, the peer is banned, an honest peer delivers the data', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeW = createStore(t)
  const storeT = createStore(t)
  const storeR = createStore(t)
  const N = 16
  const core = await writerCore(storeW, N)
  const dk = core.discoveryKey

  // T downloads everything honestly, then serves flipped bytes in every block it sends
  let w = await createNetwork(t, testnet, storeW)
  const tn = await createNetwork(t, testnet, storeT)
  const tampered = tamperOutgoing(tn)
  await w.join(dk)
  await tn.join(dk)
  const copy = await openCore(storeT, core.key)
  await waitDownloaded(copy, N)
  t.is(tampered.tampered, 0, 'T has sent no blocks yet')

  // W goes offline: T is R's only source
  await w.close()
  const r = await createNetwork(t, testnet, storeR)
  const reader = await openCore(storeR, core.key)
  r.trackCore(reader)
  const verr = once(r, 'verification-error', { ms: 15000 })
  const banned = once(r, 'ban', { ms: 15000 })
  await r.join(dk)
  const download = reader.download({ start: 0, end: N })
  const [info] = await verr
  t.is(info.publicKey, ids.encode(tn.publicKey), `verification-error from T (${info.error})`)
  const [ban] = await banned
  t.is(ban.publicKey, ids.encode(tn.publicKey), 'T banned: ' + ban.reason)
  t.ok(tampered.tampered > 0, `the fault fired: T tampered ${tampered.tampered} messages`)
  t.is(reader.contiguousLength < N ? 'incomplete' : 'complete', 'incomplete', 'nothing tampered was accepted: R still lacks blocks')
  await waitFor([r], () => r.peers().length === 0, { what: "T gone from R's table" })

  // W comes back: R gets every block from the honest peer, all correct
  w = await createNetwork(t, testnet, storeW)
  await w.join(dk)
  await download.done()
  for (let i = 0; i < N; i++) {
    const got = (await reader.get(i)).toString()
    if (got !== block(i)) t.fail(`block ${i} is wrong: ${got}`)
  }
  t.is(reader.contiguousLength, N, `R has all ${N} blocks, each equal to what W wrote`)
  t.ok(r.peers().every((p) => p.publicKey !== ids.encode(tn.publicKey)), 'T never came back')
  t.is(r.stats.bans, 1, 'exactly one ban')
  t.pass(`tamper: ${tampered.tampered} tampered messages, ${r.stats.verificationErrors} verification errors, 1 ban, ${N}/${N} blocks correct from the honest peer`)
})

test('manual ban: connection closed, firewall refuses the peer, banned() lists it', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const storeB = createStore(t)
  const a = await createNetwork(t, testnet, storeA)
  const b = await createNetwork(t, testnet, storeB)
  const dk = crypto.randomBytes(32)
  await a.join(dk)
  await b.join(dk)
  await waitFor([a, b], () => a.peers().length === 1 && b.peers().length === 1, { what: 'connected' })
  const bans = []
  a.on('ban', (x) => bans.push(x))
  a.ban(ids.encode(b.publicKey), 'test')
  a.ban(b.publicKey, 'again') // idempotent
  t.alike(bans, [{ publicKey: ids.encode(b.publicKey), reason: 'test' }], "one 'ban' event")
  await waitFor([a, b], () => a.peers().length === 0 && b.peers().length === 0, { what: 'disconnected' })
  // B looks A up again and dials it: A's firewall refuses the attempt
  const stats = b.swarm.stats.connects.client
  const attempted = stats.attempted
  const closed = stats.closed
  await b.refresh()
  await waitFor([b.swarm], () => stats.attempted > attempted && stats.closed > closed, { what: "B's new attempt refused", describe: () => JSON.stringify(stats) })
  t.is(a.peers().length, 0, `still disconnected after B dialled A again (${stats.attempted - attempted} attempt refused)`)
  t.alike(a.banned().map((x) => [x.publicKey, x.reason]), [[ids.encode(b.publicKey), 'test']])
  t.ok(a.isBanned(b.publicKey.toString('hex')), 'isBanned takes hex too')
})
