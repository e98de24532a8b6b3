// Bad data from a member's feed: blocks that do not decode, oversized or malformed entries.
// Every peer skips the same entries, reports them, keeps running and converges.
import test from 'brittle'
import c from 'compact-encoding'
import { createNode, finalEntries, mesh, waitConverged, waitFor } from './helpers/node.js'

// a block in the wire format, written by hand so the test can break the rules the node enforces
function rawBlock ({ version = 1, clock = 1, heads = [], time = Date.now(), entries = [] }) {
  const state = c.state()
  const enc = {
    preencode (s, b) {
      c.uint.preencode(s, b.version); c.uint.preencode(s, b.clock); c.uint.preencode(s, b.heads.length)
      c.uint.preencode(s, b.time); c.uint.preencode(s, b.entries.length)
      for (const e of b.entries) { c.uint.preencode(s, e.type); c.buffer.preencode(s, e.payload) }
    },
    encode (s, b) {
      c.uint.encode(s, b.version); c.uint.encode(s, b.clock); c.uint.encode(s, b.heads.length)
      c.uint.encode(s, b.time); c.uint.encode(s, b.entries.length)
      for (const e of b.entries) { c.uint.encode(s, e.type); c.buffer.encode(s, e.payload) }
    },
  }
  enc.preencode(state, { version, clock, heads, time, entries })
  state.buffer = Buffer.allocUnsafe(state.end)
  enc.encode(state, { version, clock, heads, time, entries })
  return state.buffer
}

test('garbage, oversized and malformed blocks of a member are skipped and reported; nodes converge', async (t) => {
  const a = await createNode(t)
  const b = await createNode(t, { key: a.key })
  const m = await createNode(t, { key: a.key, autoAck: false })
  mesh(t, [a, b, m])
  await a.addWriter(b.writerKey, { indexer: true })
  await a.addWriter(m.writerKey)
  await waitFor([a, b, m], () => m.status().isWriter && b.status().isIndexer, 20000, 'membership')
  await waitConverged([a, b, m])

  // m's writer core, written directly: bypasses every check ChainNode.append makes
  const core = m.store.get({ key: m.writerKey })
  await core.ready()
  t.teardown(() => core.close())
  const before = core.length
  await core.append([
    Buffer.from('this is not a block at all'),
    rawBlock({ version: 99 }),
    rawBlock({ entries: [{ type: 1, payload: Buffer.alloc(1024 * 1024 + 1, 1) }, { type: 1, payload: Buffer.from('kept-1') }] }),
    rawBlock({ entries: [{ type: 77, payload: Buffer.from('unknown type') }, { type: 3, payload: Buffer.from([9, 9]) }, { type: 1, payload: Buffer.from('kept-2') }] }),
  ])
  t.is(core.length, before + 4)
  await b.append('after the garbage')
  await a.append('and more')
  await waitConverged([a, b, m], 0)
  const mKey = m.status().writerKey
  const mFinal = (n) => n.status().writers.find((w) => w.key === mKey).finalLength
  await waitFor([a, b, m], () => [a, b, m].every((n) => n.status().pending === 0 && mFinal(n) === before + 4), 20000, "m's blocks final everywhere")

  for (const n of [a, b]) {
    const entries = (await finalEntries(n)).map((x) => Buffer.from(x.split(':')[4], 'hex').toString())
    t.ok(entries.includes('kept-1'), 'valid entry next to an oversized one is kept')
    t.ok(entries.includes('kept-2'), 'valid entry next to malformed ones is kept')
    t.absent(entries.some((x) => x === 'unknown type'), 'entry of an unknown type is skipped')
    t.ok(entries.includes('after the garbage'), 'the chain goes on')
    t.ok(n.stats.invalid >= 2, `${n.stats.invalid} invalid blocks counted`)
    t.ok(n.warnings.some((w) => /invalid and skipped/.test(w)), 'undecodable block reported')
    t.ok(n.warnings.some((w) => /over the 1048576-byte limit/.test(w)), 'oversized entry reported')
  }
  t.alike(await finalEntries(a), await finalEntries(b), 'same chain on both honest nodes')
})

test('a writer that was never added: its entries never enter the chain', async (t) => {
  const a = await createNode(t)
  const b = await createNode(t, { key: a.key })
  const x = await createNode(t, { key: a.key })
  mesh(t, [a, b, x])
  await a.addWriter(b.writerKey, { indexer: true })
  await waitFor([a, b], () => b.status().isIndexer, 20000, 'b indexer')
  t.absent(x.status().isWriter)
  await x.append(Array.from({ length: 500 }, (_, i) => 'intruder-' + i))
  for (let i = 0; i < 5; i++) { await a.append('a' + i); await b.append('b' + i) }
  await waitConverged([a, b], 1 + 1 + 1 + 10)
  await waitFor([x], () => x.status().finalLength === a.status().finalLength, 20000, 'x follows')
  for (const n of [a, b, x]) {
    const entries = (await finalEntries(n)).map((e) => Buffer.from(e.split(':')[4], 'hex').toString())
    t.absent(entries.some((e) => e.startsWith('intruder-')), 'no entry of the non-member')
    t.is(entries.length, 13)
  }
  t.is(x.status().pending, 0, 'entries of a non-member do not count, not even as pending')
})
