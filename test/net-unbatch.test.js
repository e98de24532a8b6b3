// Replication messages go out one by one (src/net/unbatch.ts): a Network's connections send
// each block in its own secret-stream message, where Hypercore by default batches the blocks
// answering queued requests into messages of up to 8 MiB. Measured on the sender's writes into
// the encrypted stream, with `batching: true` as the control that shows the measurement sees
// batches when they happen.
import test from 'brittle'
import crypto from 'node:crypto'
import { unbatch } from '../dist/net/unbatch.js'
import { createLoopbackTestnet, createStore, createNetwork, openCore, waitDownloaded } from './helpers/net.js'

const KiB = 1024
const BLOCK = 256 * KiB
const BLOCKS = 48 // 12 MiB: more than one 8 MiB batch when batching

/**
 * Serve BLOCKS random blocks of BLOCK bytes from one Network to another, recording the size of
 * every plaintext message the seeder writes into its encrypted stream. Returns those sizes.
 */
async function serve (t, batching) {
  const testnet = await createLoopbackTestnet(t)
  const storeA = createStore(t)
  const storeB = createStore(t)
  const a = await createNetwork(t, testnet, storeA, batching ? { batching: true } : {})
  const b = await createNetwork(t, testnet, storeB)
  const writes = []
  a.on('connection', (conn) => {
    const write = conn.write.bind(conn)
    conn.write = (data, ...rest) => {
      writes.push(data.byteLength)
      return write(data, ...rest)
    }
  })
  const core = storeA.get({ name: 'big' })
  await core.ready()
  const data = Array.from({ length: BLOCKS }, () => crypto.randomBytes(BLOCK))
  await core.append(data)
  a.trackCore(core)
  await Promise.all([a.join(core.discoveryKey), b.join(core.discoveryKey)])
  const reader = await openCore(storeB, core.key)
  b.trackCore(reader)
  await waitDownloaded(reader, BLOCKS, 30_000)
  for (const i of [0, BLOCKS >> 1, BLOCKS - 1]) t.ok((await reader.get(i)).equals(data[i]), `block ${i} arrived intact`)
  return writes
}

test('a Network sends each block in its own message', async (t) => {
  const writes = await serve(t, false)
  const max = Math.max(...writes)
  const big = writes.filter((n) => n >= BLOCK).length
  // a data message is the block, its Merkle proof and a few bytes of framing
  t.ok(max < BLOCK + 4 * KiB, `largest message ${max} bytes, one ${BLOCK}-byte block and its proof`)
  t.ok(big >= BLOCKS, `${big} messages carried a block (${BLOCKS} blocks)`)
  t.comment(`unbatched: ${writes.length} messages, largest ${max} bytes`)
})

test('control: with batching: true the same blocks go out in batches', async (t) => {
  const writes = await serve(t, true)
  const max = Math.max(...writes)
  t.ok(max >= 2 * BLOCK, `largest message ${max} bytes: several blocks in one batch`)
  t.comment(`batched: ${writes.length} messages, largest ${max} bytes`)
})

test('unbatch: no Protomux, nothing changed; a batch open when it runs still goes out', (t) => {
  t.is(unbatch({}), false, 'a stream without userData')
  t.is(unbatch({ userData: { cork () {}, uncork () {} } }), false, 'userData that is not a Protomux')

  const sent = []
  const mux = {
    isProtomux: true,
    corked: 0,
    batch: null,
    cork () { if (++this.corked === 1) this.batch = [] },
    uncork () { if (--this.corked === 0) { sent.push(this.batch); this.batch = null } }
  }
  mux.cork()
  mux.cork() // nested, as the replicator does
  mux.batch.push('m1')
  t.is(unbatch({ userData: mux }), true, 'a Protomux is unbatched')
  mux.cork() // no-op now
  t.is(mux.corked, 2, 'cork after unbatch opens nothing')
  mux.uncork()
  t.alike(sent, [['m1']], 'the batch open before unbatch is sent at the next uncork')
  t.is(mux.corked, 0)
  mux.uncork()
  mux.uncork()
  t.is(mux.corked, 0, 'unmatched uncorks do nothing')
  t.is(sent.length, 1)
})
