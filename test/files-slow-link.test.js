// A get over a narrow link must not hold back the chain's own messages on the same connection
// (faults.md, "slow or lossy links"). Two peers in this process replicate over real UDX streams
// and secret-stream through a UDP relay on 127.0.0.1 that limits each direction to 1 MB/s and
// adds 40 ms of round trip (bench/lib/delay-proxy.js). B gets a 10 MiB file (1 MiB blocks) from
// A; once B has a block of it, A appends an entry. B must see the entry while most of the file
// is still to come.
//
// Why it could fail: hypercore answers every request that arrives while its connection is
// drained, so the burst of requests a download window opens puts all their blocks into the
// connection's send buffer at once, and A's notice of the new entry, then the entry's block,
// wait behind all of them. Without fair sending (src/net/fair-send.ts) B saw the entry only after
// the whole file (10.0 s, all 10 blocks stored; FEEDCHAIN_TEST_BATCHING=1 shows it); with it,
// 2.2 s later with 3 blocks stored.
import test from 'brittle'
import path from 'node:path'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { replicateOn } from '../dist/net/replicate.js'
import { startDelayProxy, udxEndpoint } from '../bench/lib/delay-proxy.js'
import { createPeer, tmpdir, makeFile, waitFor, waitForFile } from './helpers/files.js'

const MiB = 1024 * 1024
const FILE_MIB = 10
const RATE = 1e6 // bytes/s each way

/** Connect two peers' stores through a relay limited to RATE: real UDX streams on 127.0.0.1. */
async function slowLink (t, a, b) {
  const relay = await startDelayProxy({ delayMs: 20, rate: RATE, queueBytes: 192 * 1024 })
  t.teardown(() => relay.close(), { order: -1 })
  const [ea, eb] = [await udxEndpoint(), await udxEndpoint()]
  t.teardown(() => ea.close(), { order: -1 })
  t.teardown(() => eb.close(), { order: -1 })
  relay.connect(ea.port, eb.port)
  const sa = ea.open(false, 1, 2, relay.port).stream
  const sb = eb.open(true, 2, 1, relay.port).stream
  t.teardown(() => { sa.destroy(); sb.destroy() }, { order: -2 })
  // as feedchain's Network does on every connection (FEEDCHAIN_TEST_BATCHING=1: Hypercore's own
  // batches, nothing reordered: shows the test failing without fair sending)
  const batching = process.env.FEEDCHAIN_TEST_BATCHING === '1'
  for (const [peer, s] of [[a, sa], [b, sb]]) replicateOn(peer.store, s, { batching })
  return relay
}

test('slow link: an entry appended during a get reaches the receiver before most of the file', { timeout: 90000 }, async (t) => {
  const a = await createPeer(t, null, { network: false, blockSize: MiB })
  const b = await createPeer(t, null, { network: false, key: a.node.key })
  const relay = await slowLink(t, a, b)
  const dir = tmpdir(t)
  const src = makeFile(path.join(dir, 'big.bin'), FILE_MIB * MiB)
  const info = await a.files.send(src)
  t.is(info.blockLength, FILE_MIB)
  await waitForFile(b, info.id, 30000)

  const blocks = { stored: 0 }
  const started = Date.now()
  let gotAt = null
  const out = path.join(dir, 'out.bin')
  const getting = b.files.get(info.id, {
    output: out,
    onProgress: (p) => { blocks.stored = Math.floor(p.bytes / MiB) }
  }).then((r) => { gotAt = Date.now(); return r })
  getting.catch(() => {})

  await waitFor([], () => blocks.stored >= 1, { ms: 60000, poll: 20, what: 'the first block of the file at B' })
  const marker = 'appended during the get ' + crypto.randomBytes(4).toString('hex')
  const appendedAt = Date.now()
  const storedAtAppend = blocks.stored
  await a.node.append(marker)
  let seenAt = null
  let storedWhenSeen = null
  await waitFor([b.node], async () => {
    for (let i = b.node.length - 1; i >= 0; i--) {
      const e = await b.node.get(i)
      if (e !== null && e.type === 'data' && e.data.toString() === marker) {
        if (seenAt === null) { seenAt = Date.now(); storedWhenSeen = blocks.stored }
        return true
      }
    }
    return false
  }, { ms: 60000, poll: 50, what: 'the entry at B' })
  const r = await getting
  t.comment(`slow-link: ${FILE_MIB} MiB at ${RATE / 1e6} MB/s in ${((gotAt - started) / 1000).toFixed(1)} s; entry appended with ${storedAtAppend} MiB stored, seen after ${seenAt - appendedAt} ms with ${storedWhenSeen} MiB stored; relay dropped ${relay.dropped} of ${relay.datagrams} datagrams`)
  t.ok(storedWhenSeen <= FILE_MIB - 3, `the entry arrived with at least 3 of the ${FILE_MIB} blocks still to come (${storedWhenSeen} stored)`)
  t.ok(seenAt < gotAt, 'the entry arrived before the get finished')
  t.is(crypto.createHash('sha256').update(fs.readFileSync(out)).digest('hex'), crypto.createHash('sha256').update(fs.readFileSync(src)).digest('hex'), 'the file arrived intact')
  t.is(r.downloaded, info.size)
})
