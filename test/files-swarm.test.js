// Files over real swarms on a loopback testnet, in this process: a download served by several
// seeders at once, and a seeder that tampers with the blocks it serves (rejected, banned, the
// file still correct from the honest peer). Each test checks that its condition really happened.
import test from 'brittle'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { tamperOutgoing } from './helpers/net.js'
import { createLoopbackTestnet, createPeer, tmpdir, makeFile, sha256, waitFor, waitForFile } from './helpers/files.js'

const KiB = 1024
const MARKER = 'FEEDCHAIN-TAMPER-ME'

/** Wait until `peer` is connected to `n` peers. */
function connected (peer, n, ms = 30000) {
  return waitFor([peer.network], () => peer.network.peers().length >= n, {
    ms, what: `${n} connections`, describe: () => `${peer.network.peers().length} connected`
  })
}

test('swarm: three seeders, one receiver: blocks come from several seeders at once', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const src = makeFile(path.join(dir, 'shared.bin'), 8 * 1024 * 1024 + 99, { seed: 5 })
  const s1 = await createPeer(t, testnet, { blockSize: 64 * KiB })
  const info = await s1.files.send(src)
  const s2 = await createPeer(t, testnet, { key: s1.node.key })
  const s3 = await createPeer(t, testnet, { key: s1.node.key })
  for (const s of [s2, s3]) {
    await waitForFile(s, info.id, 30000)
    await s.files.seed({ wait: true })
    t.ok((await s.files.list())[0].complete, 'a seeder stores the whole file')
  }
  const r = await createPeer(t, testnet, { key: s1.node.key })
  await waitForFile(r, info.id, 30000)
  await connected(r, 3)
  const out = path.join(dir, 'out.bin')
  const result = await r.files.get(info.id, { output: out })
  t.is(await sha256(out), await sha256(src), 'the file is intact')
  const names = new Map([[ids.encode(s1.network.publicKey), 's1'], [ids.encode(s2.network.publicKey), 's2'], [ids.encode(s3.network.publicKey), 's3']])
  const split = Object.entries(result.sources).map(([k, bytes]) => `${names.get(k) ?? k.slice(0, 8)} ${(bytes / 1e6).toFixed(1)} MB`)
  const serving = Object.values(result.sources).filter((b) => b > 0).length
  t.ok(serving >= 2, `blocks from ${serving} seeders: ${split.join(', ')}`)
  t.ok(Object.keys(result.sources).every((k) => names.has(k)), 'every source is one of the seeders')
  t.is(Object.values(result.sources).reduce((a, b) => a + b, 0), info.size, 'the sources add up to the file')
  t.pass(`multi-seeder: ${(info.size / 1e6).toFixed(1)} MB from ${serving} of 3 seeders (${split.join(', ')}) in ${result.elapsed} ms`)
})

test('swarm: a seeder serving tampered blocks is rejected and banned; the file comes intact from the honest peer', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  // every 64 KiB block starts with the marker the tamperer flips
  const src = makeFile(path.join(dir, 'target.bin'), 4 * 1024 * 1024, { seed: 6, marker: MARKER, every: 64 * KiB })
  const honest = await createPeer(t, testnet, { blockSize: 64 * KiB })
  const info = await honest.files.send(src)
  const bad = await createPeer(t, testnet, { key: honest.node.key })
  await waitForFile(bad, info.id, 30000)
  await bad.files.seed({ wait: true })
  // from now on every new connection of the bad peer flips a byte in each block it sends
  const tampered = tamperOutgoing(bad.network, MARKER)

  const r = await createPeer(t, testnet, { key: honest.node.key })
  const verrs = []
  const bans = []
  r.network.on('verification-error', (x) => verrs.push(x))
  r.network.on('ban', (x) => bans.push(x))
  await waitForFile(r, info.id, 30000)
  await connected(r, 2)
  const out = path.join(dir, 'out.bin')
  const result = await r.files.get(info.id, { output: out })
  const badId = ids.encode(bad.network.publicKey)
  t.ok(tampered.tampered > 0, `the fault fired: the bad peer tampered ${tampered.tampered} messages`)
  await waitFor([r.network], () => r.network.isBanned(bad.network.publicKey), { ms: 15000, what: 'the ban of the bad peer', describe: () => JSON.stringify({ verrs: verrs.length, bans }) })
  t.ok(verrs.some((v) => v.publicKey === badId), `verification errors from the bad peer: ${verrs.filter((v) => v.publicKey === badId).length}`)
  t.ok(bans.some((b) => b.publicKey === badId), 'the bad peer is banned: ' + bans.find((b) => b.publicKey === badId)?.reason)
  t.absent(r.network.isBanned(honest.network.publicKey), 'the honest peer is not banned')
  t.is(await sha256(out), await sha256(src), 'the file is intact')
  t.absent(result.sources[badId] > 0, 'no accepted block came from the bad peer')
  t.is(result.sources[ids.encode(honest.network.publicKey)], info.size, 'every byte from the honest peer')
  t.pass(`tamper-file: ${tampered.tampered} tampered blocks, ${verrs.length} verification errors, bad peer banned, ${(info.size / 1e6).toFixed(1)} MB intact from the honest peer`)
})
