// DownloadWindow (src/files/download-window.ts): a blob's range downloaded through a sliding
// window, so blocks sent to us but not stored yet stay bounded. Two stores replicate through an
// in-process pipe; the source's 'upload' events against the reader's 'download' events (emitted
// once a block is verified and stored) give the blocks in flight at each moment. The last tests
// are assemble (src/files/assemble.ts) taking the blocks the window hands over as they arrive.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import { assemble } from '../dist/files/assemble.js'
import { hashBytes } from '../dist/files/file-hash.js'
import { tmpdir } from './helpers/files.js'
import { DownloadWindow, LaneBudget, windowShape, isDownloadStopped, MAX_LANES, MIN_LANES, PEER_BLOCKS } from '../dist/files/download-window.js'
import { createStore, openCore, waitFor } from './helpers/net.js'

const BLOCK = 1024
const BLOCKS = 300

async function pair (t) {
  const a = createStore(t)
  const b = createStore(t)
  const source = a.get({ name: 'blob' })
  await source.ready()
  const blocks = []
  for (let i = 0; i < BLOCKS; i++) blocks.push(Buffer.alloc(BLOCK, i % 251))
  await source.append(blocks)
  const reader = await openCore(b, source.key)
  link(t, source, reader)
  // the reader must know the source's length before a range can be asked for
  await waitFor([reader], () => reader.length >= BLOCKS, { events: ['append'], what: `the reader to see ${BLOCKS} blocks` })
  return { source, reader }
}

/** An onBlock that keeps what it is handed; `all` resolves once `n` different blocks were. */
function handOver (n) {
  const handed = new Map()
  let done
  const all = new Promise((resolve) => { done = resolve })
  const onBlock = (i, b) => {
    handed.set(i, b)
    if (handed.size === n) done()
  }
  return { handed, onBlock, all }
}

/** Track blocks uploaded by `source` and not yet stored by `reader`: the largest gap seen. */
function inflight (source, reader) {
  const m = { uploaded: 0, stored: 0, max: 0 }
  source.on('upload', () => { m.uploaded++; m.max = Math.max(m.max, m.uploaded - m.stored) })
  reader.on('download', () => { m.stored++ })
  return m
}

test('windowShape: lanes and span from the block size and the peers', (t) => {
  const MiB = 1024 * 1024
  t.alike(windowShape(MiB, 1), { lanes: 24, span: 1 }, '1 MiB blocks, one peer: its 16 requests and 8 more, one block per range')
  t.alike(windowShape(MiB, 3), { lanes: 56, span: 1 }, 'three peers: 16 blocks each and 8 more')
  t.alike(windowShape(MiB, 10), { lanes: MAX_LANES, span: 1 }, 'never more than MAX_LANES ranges')
  t.alike(windowShape(MiB, 0), windowShape(MiB, 1), 'no peer yet: sized for one')
  t.alike(windowShape(64 * 1024, 1), { lanes: 64, span: 4 }, '64 KiB blocks: WINDOW_BYTES is 256 blocks, as 64 ranges of 4')
  t.alike(windowShape(8 * MiB, 1), { lanes: PEER_BLOCKS * 1.5, span: 1 }, '8 MiB blocks: still room for the peer and half as much again')
  t.alike(windowShape(BLOCK, 1, 2 * BLOCK, 1), { lanes: MIN_LANES, span: 1 }, 'never fewer than MIN_LANES ranges')
  t.alike(windowShape(BLOCK, 1, 6 * BLOCK, 2), { lanes: 6, span: 1 }, 'windowBytes when it is more')
  t.alike(windowShape(BLOCK, 2, BLOCK, 4), { lanes: 10, span: 1 }, 'peerBlocks from the caller')
})

test('DownloadWindow: every block stored, never more than the window in flight', async (t) => {
  const { source, reader } = await pair(t)
  const m = inflight(source, reader)
  const w = new DownloadWindow(reader, { start: 0, end: BLOCKS, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2 })
  t.is(w.lanes, 4)
  await w.done()
  t.ok(await reader.has(0, BLOCKS), 'all blocks stored')
  t.is(m.stored, BLOCKS, 'each block downloaded once')
  t.ok(m.max <= 4, `at most 4 blocks uploaded and not stored (max ${m.max})`)
  t.is(w.active, 0)
})

test('control: one range over the whole blob lets more than the window be in flight', async (t) => {
  // shows the check above can fail: without the window the replicator keeps up to 48 requests
  // in flight on an in-process pipe
  const { source, reader } = await pair(t)
  const m = inflight(source, reader)
  await reader.download({ start: 0, end: BLOCKS }).done()
  t.is(m.stored, BLOCKS)
  t.ok(m.max > 4, `more than 4 in flight (max ${m.max})`)
})

test('DownloadWindow: blocks stored already are not asked for again', async (t) => {
  const { source, reader } = await pair(t)
  await reader.download({ start: 0, end: 100 }).done()
  await reader.download({ start: 200, end: 250 }).done()
  const m = inflight(source, reader)
  const w = new DownloadWindow(reader, { start: 0, end: BLOCKS, blockSize: BLOCK, windowBytes: 8 * BLOCK, peerBlocks: 2 })
  await w.done()
  t.ok(await reader.has(0, BLOCKS))
  t.is(m.uploaded, 150, 'only the 150 missing blocks were sent')
  t.is(m.stored, 150)
})

test('DownloadWindow: onBlock is handed each block as it arrives, not read back from the store', async (t) => {
  const { source, reader } = await pair(t)
  // hypercore calls onwait when a get finds the block not stored and waits for the network
  const waited = new Set()
  const session = reader.session({ onwait: (index) => { waited.add(index) } })
  await session.ready()
  t.teardown(() => session.close())
  const m = inflight(source, session)
  const { handed, onBlock, all } = handOver(BLOCKS)
  const w = new DownloadWindow(session, { start: 0, end: BLOCKS, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2, onBlock })
  await w.done()
  await all // resolves on the last block handed over (a missing one fails the test by its timeout)
  t.is(handed.size, BLOCKS, 'every block handed over')
  t.ok([...handed].every(([i, b]) => b.equals(Buffer.alloc(BLOCK, i % 251))), 'each with its bytes')
  t.ok(waited.size >= BLOCKS * 0.9, `${waited.size} of ${BLOCKS} came from a get that waited for the network (the rest arrived while it looked in the store)`)
  t.is(m.stored, BLOCKS, 'each block downloaded once: the gets asked for nothing more')
  t.ok(m.max <= 4, `at most 4 blocks uploaded and not stored (max ${m.max})`)
})

test('DownloadWindow: destroy and a closed session reject done()', async (t) => {
  const { reader } = await pair(t)
  // no peer has block BLOCKS + 10: the window waits until stopped
  const w = new DownloadWindow(reader, { start: BLOCKS, end: BLOCKS + 20, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2 })
  const stopped = w.done().then(() => null, (e) => e)
  // (after 500 ms lanes park these blocks, which nobody has, and take others: one more range)
  await waitFor([], () => w.active >= 4, { what: 'four ranges open', poll: 10 })
  t.pass('four ranges open')
  w.destroy()
  const e = await stopped
  t.ok(isDownloadStopped(e), 'done() rejects with DOWNLOAD_STOPPED')
  t.is(w.active, 0)

  const session = reader.session()
  await session.ready()
  const w2 = new DownloadWindow(session, { start: BLOCKS, end: BLOCKS + 20, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2 })
  const closed = w2.done().then(() => null, (e) => e)
  await waitFor([], () => w2.active >= 4, { what: 'four ranges open', poll: 10 })
  await session.close()
  const e2 = await closed
  t.ok(isDownloadStopped(e2), 'closing the session rejects done() with DOWNLOAD_STOPPED')
})

test('DownloadWindow: the window follows the connected peers', async (t) => {
  const { source, reader } = await pair(t)
  // a second seeder: a full copy of the source
  const b = createStore(t)
  const copy = await openCore(b, source.key)
  const unlinkCopy = link(t, source, copy)
  await copy.download({ start: 0, end: BLOCKS }).done()
  unlinkCopy()

  // blocks past the end: nobody has them, the window stays open
  const w = new DownloadWindow(reader, { start: BLOCKS, end: BLOCKS + 100, blockSize: BLOCK, windowBytes: BLOCK, peerBlocks: 4 })
  const stopped = w.done().catch((e) => e)
  t.is(reader.peers.length, 1)
  t.is(w.lanes, 6, 'one peer: 4 blocks for it and 2 more')
  const unlink = link(t, copy, reader)
  await waitFor([reader], () => reader.peers.length === 2, { events: ['peer-add'], what: 'two peers' })
  t.is(w.lanes, 10, 'two peers: 4 blocks each and 2 more')
  await waitFor([], () => w.active >= 10, { what: 'ten ranges open', poll: 10 })
  t.pass('ten lanes with a range open')
  unlink()
  await waitFor([reader], () => reader.peers.length === 1, { events: ['peer-remove'], what: 'one peer' })
  t.is(w.lanes, 6, 'back to one peer')
  w.destroy()
  t.ok(isDownloadStopped(await stopped))
})

for (const withOnBlock of [false, true]) {
  const what = withOnBlock ? ' (with onBlock: a parked range\'s gets are cancelled, or the seeder would be asked for every parked block at once)' : ''
  test('DownloadWindow: blocks nobody has do not hold the lanes; when a seeder connects they come back within the window' + what, async (t) => {
    const { source } = await pair(t)
    // a partial peer: blocks 150..299 only
    const b = createStore(t)
    const partial = await openCore(b, source.key)
    const unlinkPartial = link(t, source, partial)
    await partial.download({ start: 150, end: BLOCKS }).done()
    unlinkPartial()

    // a reader that only knows the partial peer
    const c = createStore(t)
    const fresh = await openCore(c, source.key)
    link(t, partial, fresh)
    await waitFor([fresh], () => fresh.length >= BLOCKS && fresh.peers.length === 1, { events: ['append', 'peer-add'], what: 'the fresh reader to sync with the partial peer' })
    let stored = 0
    fresh.on('download', () => { stored++ })
    const { handed, onBlock, all } = handOver(BLOCKS)
    const w = new DownloadWindow(fresh, { start: 0, end: BLOCKS, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2, onBlock: withOnBlock ? onBlock : undefined })
    let finished = false
    const done = w.done().then(() => { finished = true })
    const started = Date.now()
    await waitFor([fresh], () => stored === 150, { events: ['download'], what: 'the partial peer\'s 150 blocks', describe: () => `stored ${stored}, parked ${w.parked}` })
    t.pass(`the partial peer's 150 blocks stored in ${Date.now() - started} ms, ${w.parked} spans parked, ${w.active} ranges open`)
    t.ok(w.parked >= 140, 'the blocks nobody has are parked')
    t.ok(w.active <= w.lanes + 1, 'the parked blocks share one range')
    t.absent(finished, 'not done while blocks are missing')

    // the full seeder connects: the parked blocks go back through the lanes, never more than the
    // window at once (parked ranges left open would all be requested together)
    const m = inflight(source, fresh)
    link(t, source, fresh)
    await done
    t.ok(await fresh.has(0, BLOCKS), 'every block stored')
    t.is(m.stored, 150, 'the other 150 came from the seeder')
    t.is(w.lanes, 5, 'two peers: 2 blocks each and 1 more')
    t.ok(m.max <= 5, `at most 5 uploaded and not stored after the seeder connected (max ${m.max})`)
    t.is(w.parked, 0)
    if (withOnBlock) {
      await all
      t.is(handed.size, BLOCKS, 'every block handed to onBlock, the parked ones once they came back to the lanes')
      t.ok([...handed].every(([i, b]) => b.equals(Buffer.alloc(BLOCK, i % 251))), 'each with its bytes')
    }
  })
}

test('LaneBudget: tokens in the order asked, more when the capacity grows', async (t) => {
  let capacity = 2
  const budget = new LaneBudget(() => capacity)
  await budget.acquire()
  await budget.acquire()
  t.is(budget.used, 2)
  const order = []
  const third = budget.acquire().then(() => order.push('third'))
  const fourth = budget.acquire().then(() => order.push('fourth'))
  await Promise.resolve()
  t.alike(order, [], 'both wait while the capacity is taken')
  budget.release()
  await third
  t.alike(order, ['third'], 'a release lets the first in line go')
  capacity = 3
  budget.wake()
  await fourth
  t.alike(order, ['third', 'fourth'], 'a larger capacity lets the next go on wake()')
  t.is(budget.used, 3)
})

test('DownloadWindow: windows sharing a budget keep one window\'s bound between them', async (t) => {
  const { source, reader } = await pair(t)
  const m = inflight(source, reader)
  const budget = new LaneBudget(() => 4)
  const opts = { blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2, budget }
  const first = new DownloadWindow(reader, { ...opts, start: 0, end: 150 })
  const second = new DownloadWindow(reader, { ...opts, start: 150, end: BLOCKS })
  await Promise.all([first.done(), second.done()])
  t.ok(await reader.has(0, BLOCKS), 'both files stored')
  t.ok(m.max <= 4, `at most 4 uploaded and not stored across both (max ${m.max}; each window alone allows 4)`)
  t.is(budget.used, 0, 'every token given back')
})

for (const handOver of [true, false]) {
  test(`assemble ${handOver ? 'writes the blocks the window hands over, reading back only those that arrived before it listened' : '(control): without the window\'s blocks, every block is read back from the store'}`, async (t) => {
    const { reader } = await pair(t)
    // assemble gets its own session, to count the blocks it reads from the store
    const session = reader.session()
    await session.ready()
    t.teardown(() => session.close())
    let reads = 0
    const get = session.get.bind(session)
    session.get = (index, opts) => { reads++; return get(index, opts) }
    let take = null
    const w = new DownloadWindow(reader, { start: 0, end: BLOCKS, blockSize: BLOCK, windowBytes: 4 * BLOCK, peerBlocks: 2, onBlock: handOver ? (i, b) => { take?.(i, b) } : undefined })
    const file = path.join(tmpdir(t), 'out.bin')
    const handle = await fs.promises.open(file, 'w+')
    let written = 0
    const hash = await assemble({
      core: session,
      start: 0,
      length: BLOCKS,
      byteLength: BLOCKS * BLOCK,
      handle,
      signal: new AbortController().signal,
      onWritten: (n) => { written += n },
      outputError: (e) => e,
      arrivals: handOver ? (fn) => { take = fn } : undefined
    })
    await handle.close()
    await w.done()
    const expected = Buffer.concat(Array.from({ length: BLOCKS }, (_, i) => Buffer.alloc(BLOCK, i % 251)))
    t.ok(fs.readFileSync(file).equals(expected), 'the file holds every block in place')
    t.ok(hash.equals(hashBytes(expected)), 'and its hash')
    t.is(written, BLOCKS * BLOCK, 'each block written once')
    if (handOver) t.ok(reads <= 10, `${reads} blocks read back from the store (the first, and those stored before assemble listened), ${BLOCKS - reads} taken as they arrived`)
    else t.ok(reads >= BLOCKS, `${reads} reads for ${BLOCKS} blocks`)
    t.is(take, null, 'assemble stopped listening')
  })
}

/** Replicate two cores (their stores' streams) through an in-process pipe; returns unlink. */
function link (t, x, y) {
  const s1 = x.replicate(true)
  const s2 = y.replicate(false)
  s1.pipe(s2).pipe(s1)
  s1.on('error', () => {})
  s2.on('error', () => {})
  const unlink = () => { s1.destroy(); s2.destroy() }
  t.teardown(unlink, { order: -1 })
  return unlink
}
