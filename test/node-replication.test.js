// ChainNode over in-process replication (stores piped with replicate): convergence, partitions,
// membership and equivocation.
import test from 'brittle'
import crypto from 'node:crypto'
import { chainOf, connect, converged, createNode, finalEntries, mesh, waitConverged, waitFor } from './helpers/node.js'

test('3 nodes: join, add as indexers, concurrent appends, identical final length and head', async (t) => {
  const { nodes } = await chainOf(t, 3)
  await Promise.all(nodes.map(async (n, i) => {
    for (let k = 0; k < 20; k++) await n.append(`n${i}-${k}`)
  }))
  await Promise.all(nodes.map((n, i) => n.append(Array.from({ length: 1500 }, (_, k) => `batch${i}-${k}`))))
  const min = 1 + 2 + 3 * 20 + 3 * 1500
  await waitConverged(nodes, min)
  const s = nodes.map((n) => n.status())
  t.ok(s.every((x) => x.finalLength === s[0].finalLength && x.head === s[0].head), `final ${s[0].finalLength} head ${s[0].head.slice(0, 12)} on all`)
  const e0 = await finalEntries(nodes[0])
  for (const n of nodes.slice(1)) t.alike(await finalEntries(n), e0, 'same final entries in the same order')
  // each writer's entries keep their feed order (seq, then index within the block)
  const last = new Map()
  let inOrder = true
  for (const x of e0) {
    const [w, seq, index] = x.split(':')
    const v = Number(seq) * 10000 + Number(index)
    if (last.has(w) && last.get(w) >= v) inOrder = false
    last.set(w, v)
  }
  t.ok(inOrder, 'feed order kept for every writer')
})

test('5 nodes: partition with writes on both sides, heal, converge; no final position moves', async (t) => {
  const { nodes, cut } = await chainOf(t, 5)
  cut()
  const left = nodes.slice(0, 3)
  const right = nodes.slice(3)
  const cutL = mesh(t, left)
  const cutR = mesh(t, right)
  for (let k = 0; k < 10; k++) {
    await Promise.all(nodes.map((n, i) => n.append(`p${i}-${k}`)))
  }
  // the majority side (3 of 5 indexers) keeps finalizing
  // genesis + 4 MEMBERSHIP + 4 JOIN entries before the partition
  await waitFor(left, () => converged(left, 1 + 4 + 4 + 30), 30000, 'majority side finality')
  const before = await finalEntries(left[0])
  t.ok(before.length >= 35, `majority side final ${before.length}`)
  // the minority side cannot finalize its own entries
  const rightFinal = right.map((n) => n.status().finalLength)
  cutL(); cutR()
  mesh(t, nodes)
  const total = 1 + 4 + 4 + 50
  await waitConverged(nodes, total)
  for (const n of nodes) {
    const after = await finalEntries(n)
    t.alike(after.slice(0, before.length), before, 'the prefix final during the partition is unchanged')
    t.is(after.length, total)
  }
  t.ok(rightFinal.every((f) => f < total), 'minority side had not finalized everything')
})

test('offline writer: its entries land after the prefix that was final meanwhile', async (t) => {
  const { nodes, cut } = await chainOf(t, 3)
  const [a, b, c] = nodes
  cut()
  const cutAB = connect(a, b)
  for (let k = 0; k < 5; k++) await c.append('offline-' + k)
  for (let k = 0; k < 10; k++) { await a.append('a' + k); await b.append('b' + k) }
  await waitFor([a, b], () => converged([a, b], 1 + 2 + 20), 20000, 'a+b finality')
  const meanwhile = await finalEntries(a)
  cutAB()
  mesh(t, nodes)
  await waitConverged(nodes, 1 + 2 + 25)
  const all = await finalEntries(c)
  t.alike(all.slice(0, meanwhile.length), meanwhile)
  const offHex = Buffer.from('offline-').toString('hex')
  const idx = all.map((x, i) => (x.includes(offHex) ? i : -1)).filter((i) => i >= 0)
  t.is(idx.length, 5)
  t.ok(idx.every((i) => i >= meanwhile.length), 'offline entries after the final prefix')
})

test('writer added, then removed: its later entries are skipped everywhere', async (t) => {
  const { nodes } = await chainOf(t, 3, { indexers: 2 })
  const [a, b, c] = nodes
  t.is(a.status().writers.find((w) => w.key === c.status().writerKey).indexer, false, 'c is a plain writer')
  await c.append('c-while-member')
  await waitConverged(nodes, 1 + 2 + 1)
  await a.removeWriter(c.writerKey)
  await waitFor(nodes, () => nodes.every((n) => n.status().writers.find((w) => w.key === c.status().writerKey).removed), 20000, 'removal final')
  await c.append('c-after-removal')
  await b.append('b-after')
  await waitConverged(nodes, 1 + 2 + 1 + 1 + 1)
  for (const n of nodes) {
    const e = await finalEntries(n)
    const hex = Buffer.from('c-after-removal').toString('hex')
    t.absent(e.some((x) => x.endsWith(hex)), 'entry of a removed writer is not in the chain')
  }
  await t.exception(() => a.removeWriter(c.writerKey), /not a writer/)
})

test('membership errors: non-indexer cannot add, last indexer cannot be removed', async (t) => {
  const a = await createNode(t)
  const b = await createNode(t, { key: a.key })
  await t.exception(() => b.addWriter(a.writerKey), /indexer/)
  await t.exception(() => a.removeWriter(a.writerKey), /last indexer/)
  await a.addWriter(b.writerKey)
  await t.exception(() => a.addWriter(b.writerKey), /already/)
})

test('equivocation: two stores with one writer key pair are detected, honest positions kept', async (t) => {
  const a = await createNode(t)
  const primaryKey = crypto.randomBytes(32)
  const x1 = await createNode(t, { key: a.key, primaryKey })
  const x2 = await createNode(t, { key: a.key, primaryKey })
  t.alike(x1.writerKey, x2.writerKey, 'same writer key pair')
  const cut1 = connect(a, x1)
  await a.addWriter(x1.writerKey)
  await waitFor([a, x1], () => x1.status().isWriter, 20000, 'x1 added')
  cut1()
  await x1.append('fork-one')
  await x2.append(['fork-two'])
  await x2.append(['fork-two-b'])
  await a.append('honest-1')
  connect(a, x1)
  // a holds x1's branch first; x2's longer branch then conflicts with it
  await waitFor([a], () => a.status().writers.some((w) => w.key === x1.status().writerKey && w.length >= 1), 20000, 'x1 branch at a')
  const honest = await finalEntries(a)
  connect(a, x2)
  await waitFor([a], () => a.status().writers.some((w) => w.forked), 20000, 'fork detected')
  t.ok(a.warnings.some((w) => /forked/.test(w)), 'fork reported: ' + a.warnings.find((w) => /fork/.test(w)))
  const proofs = await a.forks()
  t.is(proofs.length, 1, 'fork proof kept in the view')
  t.is(proofs[0].writer, x1.status().writerKey)
  t.ok(proofs[0].proof, 'with the conflicting signed proof')
  const after = await finalEntries(a)
  t.alike(after.slice(0, honest.length), honest, 'honest final positions unchanged')
})
