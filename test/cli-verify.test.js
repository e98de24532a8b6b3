// `feedchain verify`: a clean store passes (writer feeds, view and blob cores audited, chain hash
// recomputed); real damage to a closed store fails with VERIFY_FAILED (exit 7) and names it:
// a feed block whose stored bytes no longer match its signed hash, bytes flipped in the database
// file holding a file's contents, and a view whose stored chain hash was changed through
// Hyperbee. Also through a daemon.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import Corestore from 'corestore'
import Hyperbee from 'hyperbee'
import ids from 'hypercore-id-encoding'
import { initChain, isCliError, ok, okJson, run, tmpDir } from './helpers/cli.js'
import { childEnv, cli, localTestnet, startDaemon } from './helpers/proc.js'

const MiB = 1024 * 1024

/** A chain with 1,201 data entries in several blocks and a 3 MiB file; returns its keys and the file's marker. */
async function chainWithFile (t) {
  const { storage, key, writerKey } = await initChain(t, 'verify')
  await ok(t, ['append', 'first'], { storage })
  await ok(t, ['append', '-'], { storage, input: Array.from({ length: 1200 }, (_, i) => `line ${i}`).join('\n') + '\n' })
  // 3 blob blocks of 1 MiB; the second starts with a marker the corruption test looks for
  const marker = 'VERIFY-MARKER-' + Math.random().toString(36).slice(2)
  const file = path.join(tmpDir(t), 'data.bin')
  const bytes = Buffer.alloc(3 * MiB, 'abcdefgh')
  bytes.write(marker, MiB)
  fs.writeFileSync(file, bytes)
  await ok(t, ['send', file], { storage })
  return { storage, key, writerKey, marker }
}

/** Open the closed storage's Corestore directly (the CLI is not running), run `fn`, close. */
async function withStore (storage, fn) {
  const store = new Corestore(path.join(storage, 'corestore'))
  await store.ready()
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

async function verifyJson (t, storage, opts = {}) {
  const r = await run(t, ['verify', '--json'], { storage, ...opts })
  const lines = r.stdout.split('\n').filter(Boolean)
  t.is(lines.length, 1, 'verify --json prints one object')
  return { r, report: JSON.parse(lines[0] ?? 'null') }
}

test('verify: a clean store passes, every core audited, the chain hash recomputed', async (t) => {
  const { storage, key } = await chainWithFile(t)
  const text = await ok(t, ['verify'], { storage })
  t.ok(/ok: \d+ cores audited, chain hash matches/.test(text.stdout), 'text report ends ok')
  t.ok(/✓ writer feed /.test(text.stdout) && /✓ chain view /.test(text.stdout) && /✓ blob core /.test(text.stdout), 'lists every kind of core')
  const { r, report } = await verifyJson(t, storage)
  t.is(r.code, 0)
  t.is(report.ok, true)
  t.alike(report.problems, [])
  t.is(report.key, key)
  const [st] = await okJson(t, ['status'], { storage })
  t.is(report.entries, st.finalLength, 'the chain hash was recomputed over the whole final prefix')
  t.is(report.head, st.head, 'and equals the head')
  t.alike([...new Set(report.cores.map((c) => c.kind))].sort(), ['blobs', 'view', 'writer'])
  const blobs = report.cores.find((c) => c.kind === 'blobs')
  t.is(blobs.length, 3, 'the blob core holds the 3 MiB file in 3 blocks')
  t.is(blobs.blocks, 3, 'all of them stored and matching their hashes')
  t.ok(report.cores.every((c) => c.droppedBlocks === 0 && c.droppedTreeNodes === 0 && c.error === null && !c.corrupt))
  t.is(st.files.count, 1, 'status counts the file')
  t.is(st.files.stored, 3 * MiB, 'and the bytes stored here')

  // read-only commands leave the stored chain as they found it (no view write on close)
  await ok(t, ['log', '-n', '3'], { storage })
  await ok(t, ['show', '1'], { storage })
  const { report: again } = await verifyJson(t, storage)
  t.alike(again.cores.map((c) => [c.kind, c.length]), report.cores.map((c) => [c.kind, c.length]), 'no core grew: verify, status, log and show only read')
})

test('verify: a feed block whose stored bytes were changed fails with VERIFY_FAILED', async (t) => {
  const { storage, writerKey } = await chainWithFile(t)
  // rewrite block 2 (the batch of 1,000 lines) in the store's database: the bytes differ from
  // what was signed, as after a bit flip below the database's own checksums
  const changed = await withStore(storage, async (store) => {
    const core = store.get({ key: ids.decode(writerKey) })
    await core.ready()
    const seq = 2
    const block = await core.get(seq)
    const bad = Buffer.from(block)
    const at = bad.indexOf('line 500')
    bad.write('LINE', at)
    const tx = core.core.state.storage.write()
    tx.putBlock(seq, bad)
    await tx.flush()
    await core.close()
    return { seq, at }
  })
  t.ok(changed.at > 0, 'the block held the entry that was changed')

  const r = await run(t, ['verify'], { storage })
  t.is(r.code, 7, 'exit 7')
  const err = r.stderr.trim().split('\n')
  t.is(err.length, 1, 'one line on stderr')
  t.ok(err[0].startsWith('feedchain: verify found ') && err[0].endsWith('[VERIFY_FAILED]'), err[0])
  t.ok(/✗ writer feed /.test(r.stdout), 'the report marks the writer feed')
  t.ok(/problem .*writer feed .*1 block and 0 tree nodes fail their hashes/.test(r.stdout), 'names the block that fails its hash')
  t.ok(/problem .*chain hash after block .*#2 .*differs/.test(r.stdout), 'and the chain hash that no longer matches after it')
  t.ok(/FAILED: 2 problems/.test(r.stdout))

  const { r: rj, report } = await verifyJson(t, storage)
  t.is(rj.code, 7)
  t.is(report.ok, false)
  t.is(report.problems.length, 2)
  const feed = report.cores.find((c) => c.kind === 'writer')
  t.is(feed.droppedBlocks, 1, 'the audit found one block failing its hash')
  t.ok(report.entries < 1202, 'the chain hash walk stopped at the damaged block')
  t.ok(rj.stderr.endsWith('[VERIFY_FAILED]\n'))
})

test('verify: bytes flipped in the database file of a blob core fail with VERIFY_FAILED', async (t) => {
  const { storage, marker } = await chainWithFile(t)
  // Compact the closed store so every value is in its files (large values, like 1 MiB blob
  // blocks, go to RocksDB's .blob files), then flip one byte of the file's second block there.
  await withStore(storage, (store) => store.storage.compact())
  const db = path.join(storage, 'corestore', 'db')
  let flipped = 0
  for (const name of fs.readdirSync(db)) {
    const p = path.join(db, name)
    const bytes = fs.readFileSync(p)
    const at = bytes.indexOf(marker)
    if (at < 0) continue
    bytes[at + 1000] ^= 0x01
    fs.writeFileSync(p, bytes)
    flipped++
  }
  t.is(flipped, 1, 'the marker was found in one database file and a byte flipped there')

  const r = await run(t, ['verify'], { storage })
  t.is(r.code, 7, 'exit 7')
  t.ok(r.stderr.trim().endsWith('[VERIFY_FAILED]'), r.stderr.trim())
  t.ok(/✗ blob core /.test(r.stdout), 'the report marks the blob core')
  t.ok(/problem .*blob core .*\(files of writer .*\)/.test(r.stdout), 'a problem names the blob core and its writer')
  t.ok(/✓ writer feed /.test(r.stdout), 'the writer feed itself is fine')
  const { report } = await verifyJson(t, storage)
  const blobs = report.cores.find((c) => c.kind === 'blobs')
  t.ok(blobs.error !== null || blobs.droppedBlocks > 0, `the audit of the blob core failed: ${blobs.error ?? blobs.droppedBlocks + ' dropped blocks'}`)
  t.is(report.cores.filter((c) => c.kind !== 'blobs').every((c) => c.error === null && c.droppedBlocks === 0), true, 'the other cores are fine')
})

test('verify: a view whose stored chain hash was changed fails, also through a daemon', async (t) => {
  const { storage, key } = await chainWithFile(t)
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)

  const daemon = await startDaemon(t, env, storage)
  const clean = await cli(t, env, storage, ['verify', '--json'])
  t.is(clean.code, 0, 'a clean store passes through the daemon')
  t.is(JSON.parse(clean.stdout).ok, true)
  await daemon.stop()

  // the view's runs store the chain hash before each block; the last 32 bytes of a run's
  // value are that hash of its last block (src/view/chain-view.ts): change one byte of it
  const changed = await withStore(storage, async (store) => {
    const core = store.get({ name: 'feedchain/view/' + ids.decode(key).toString('hex') })
    const bee = new Hyperbee(core, { keyEncoding: 'utf-8', valueEncoding: 'binary' })
    await bee.ready()
    const first = await bee.peek({ gte: 's!', lt: 's"' })
    const value = Buffer.from(first.value)
    value[value.length - 1] ^= 0xff
    await bee.put(first.key, value)
    await bee.close()
    return first.key
  })
  t.ok(changed.startsWith('s!'), 'a run of the view was changed')

  const direct = await run(t, ['verify'], { storage })
  t.is(direct.code, 7, 'exit 7 without a daemon')
  t.ok(/problem .*chain hash after block .*differs from the view's/.test(direct.stdout), 'names where the chain hash stops matching')

  await startDaemon(t, env, storage)
  const viaDaemon = await cli(t, env, storage, ['verify'])
  t.is(viaDaemon.code, 7, 'exit 7 through the daemon')
  isCliErrorLine(t, viaDaemon.stderr, 'VERIFY_FAILED')
  const problems = (out) => out.split('\n').filter((l) => l.startsWith('problem'))
  t.alike(problems(viaDaemon.stdout), problems(direct.stdout), 'the same problems through the daemon')
  t.is(problems(direct.stdout).length, 1)
})

test('verify: bad input', async (t) => {
  const missing = path.join(tmpDir(t), 'nothing-here')
  isCliError(t, await run(t, ['verify'], { storage: missing }), 'STORAGE_MISSING', 'verify without a storage')
  isCliError(t, await run(t, ['verify', '--chain', 'not-a-key'], { storage: missing }), 'INVALID_KEY', 'verify --chain with a bad key')
  isCliError(t, await run(t, ['verify', 'extra'], { storage: missing }), 'USAGE', 'verify with an operand')
})

function isCliErrorLine (t, stderr, code) {
  const lines = stderr.split('\n').filter(Boolean)
  t.is(lines.length, 1, 'one line on stderr')
  t.ok((lines[0] ?? '').endsWith(`[${code}]`), lines[0])
}

test('verify: a chain joined but not synced yet (nothing final, no head stored) passes', async (t) => {
  const { key } = await initChain(t, 'verify-empty')
  const testnet = await localTestnet(t) // nobody else on it: the join finds no peer and syncs nothing
  const env = childEnv(t, testnet.bootstrap)
  const storage = path.join(tmpDir(t), 'joined')
  const j = await cli(t, env, storage, ['join', key, '--no-wait'])
  t.is(j.code, 0, 'joined without waiting: ' + j.stderr.trim())
  const r = await cli(t, env, storage, ['verify', '--json'])
  t.is(r.code, 0, 'verify exits 0: ' + (r.stdout + r.stderr).trim().slice(0, 300))
  const report = JSON.parse(r.stdout.trim().split('\n').pop())
  t.is(report.problems.length, 0, 'no problems listed')
})
