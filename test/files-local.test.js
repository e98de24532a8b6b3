// ChainFiles without a network (two stores replicated through a pipe in this process): send,
// list, get by id / prefix / name, progress events, resume from stored blocks, streams, empty
// files, bad inputs and their error codes, files changing while sent, abort, timeouts, a wrong
// hash and an unevenly cut blob.
import test from 'brittle'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { tmpdir, makeFile, sha256, lib, createPeer, codeOf, rejectsWith, waitFor, waitForFile } from './helpers/files.js'

const KiB = 1024

/** Two peers (A creates the chain) whose stores replicate through a pipe; cut at teardown. */
async function pair (t, opts = {}) {
  const a = await createPeer(t, null, { network: false, blockSize: 64 * KiB, ...opts })
  const b = await createPeer(t, null, { network: false, key: a.node.key })
  const link = connect(a, b)
  t.teardown(() => link(), { order: -1 })
  return { a, b, link }
}

function connect (a, b) {
  const s1 = a.store.replicate(true)
  const s2 = b.store.replicate(false)
  s1.pipe(s2).pipe(s1)
  s1.on('error', () => {})
  s2.on('error', () => {})
  return () => { s1.destroy(); s2.destroy() }
}

test('files: send, list, get by id prefix and by name; progress; a second get reuses the stored blocks', async (t) => {
  const { a, b } = await pair(t)
  const dir = tmpdir(t)
  const src = makeFile(path.join(dir, 'data.bin'), 3 * 1024 * 1024 + 12345)
  const sendEvents = []
  const info = await a.files.send(src, { onProgress: (p) => sendEvents.push(p) })
  t.ok(/^[0-9a-f]{16}$/.test(info.id), 'file id: 16 hex characters ' + info.id)
  t.is(info.hash.slice(0, 16), info.id, 'the id is the start of the blake2b-256 hash')
  t.is(info.name, 'data.bin')
  t.is(info.size, fs.statSync(src).size)
  t.is(info.blockLength, Math.ceil(info.size / (64 * KiB)), '64 KiB blocks')
  t.ok(info.complete && info.final, 'stored and final on the sender')
  t.is(sendEvents.at(-1).phase, 'done')
  t.is(sendEvents.at(-1).bytes, info.size)

  await waitForFile(b, info.id)
  const [listed] = await b.files.list()
  t.is(listed.id, info.id, 'the receiver lists the file')
  t.is(listed.author, info.author)
  t.is(listed.stored, 0, 'nothing stored on the receiver yet')
  t.absent(listed.complete)

  const events = []
  const out = path.join(dir, 'out.bin')
  const r = await b.files.get(info.id.slice(0, 8), { output: out, onProgress: (p) => events.push(p) })
  t.is(r.path, out)
  t.is(await sha256(out), await sha256(src), 'the file arrives intact')
  t.is(r.downloaded, info.size, 'every byte downloaded')
  t.is(r.reused, 0)
  t.is(Object.values(r.sources).reduce((x, y) => x + y, 0), info.size, 'sources account for every byte')
  const phases = [...new Set(events.map((e) => e.phase))]
  t.alike(phases.filter((p) => p !== 'writing'), ['downloading', 'verifying', 'done'], 'phases: ' + phases.join(' → '))
  const last = events.at(-1)
  t.ok(last.bytes === info.size && last.total === info.size && last.percent === 100 && last.written === info.size, 'last event: 100%')
  t.ok(events.every((e) => ['rate', 'eta', 'peers', 'sources', 'elapsed'].every((k) => k in e)), 'events carry rate, eta, peers, sources, elapsed')
  t.ok(events.some((e) => e.peers === 1), 'peer count reported')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file left')

  const [after] = await b.files.list()
  t.ok(after.complete && after.stored === info.size, 'the receiver now stores the whole file')

  // by name, into a directory: nothing to download, the file is rewritten from stored blocks
  const outDir = path.join(dir, 'again')
  fs.mkdirSync(outDir)
  const again = await b.files.get('data.bin', { output: outDir })
  t.is(again.path, path.join(outDir, 'data.bin'), 'a directory output gets the file name')
  t.is(again.downloaded, 0, 'second get downloads nothing')
  t.is(again.reused, info.size)
  t.is(await sha256(again.path), await sha256(src))
})

test('files: streams, empty files, names sent twice (latest wins), mime', async (t) => {
  const { a, b } = await pair(t)
  const dir = tmpdir(t)
  const src = makeFile(path.join(dir, 'src.bin'), 200 * KiB + 7, { seed: 2 })
  const bytes = fs.readFileSync(src)
  // a stream in uneven chunks is cut into exact blocks
  const chunks = []
  for (let i = 0; i < bytes.byteLength; i += 3333) chunks.push(bytes.subarray(i, i + 3333))
  const streamed = await a.files.send(Readable.from(chunks), { name: 'notes.txt' })
  t.is(streamed.size, bytes.byteLength)
  t.is(streamed.mime, 'text/plain', 'mime from the extension')
  const { hashBytes } = await import('../dist/files/file-hash.js')
  t.is(streamed.hash, hashBytes(bytes).toString('hex'), 'hash of a stream = blake2b-256 of its bytes')

  const empty = makeFile(path.join(dir, 'empty'), 0)
  const e = await a.files.send(empty)
  t.is(e.size, 0)
  t.is(e.blockLength, 0)

  // the same name again, other content: get by name takes the latest
  const v2 = makeFile(path.join(dir, 'v2.bin'), 10 * KiB, { seed: 3 })
  const second = await a.files.send(v2, { name: 'notes.txt', mime: 'application/x-custom' })
  t.is(second.mime, 'application/x-custom')
  await waitForFile(b, second.id)
  const r = await b.files.get('notes.txt', { output: path.join(dir, 'got.txt') })
  t.is(r.file.id, second.id, 'a name sent twice resolves to the latest')
  t.is(r.others.length, 1, 'the older entry is reported')
  t.is(await sha256(r.path), await sha256(v2))
  const re = await b.files.get(e.id, { output: path.join(dir, 'got-empty') })
  t.is(fs.statSync(re.path).size, 0, 'an empty file is written empty')
})

test('files: a stream without a name is refused', async (t) => {
  const a = await createPeer(t, null, { network: false })
  const { isFeedchainError } = await lib()
  try {
    await a.files.send(Readable.from([Buffer.from('x')]))
    t.fail('no error')
  } catch (e) {
    t.ok(isFeedchainError(e, 'INVALID_ARGUMENT'), 'INVALID_ARGUMENT: ' + e.message)
  }
})

test('files: bad inputs get a clear error and leave the chain unchanged', async (t) => {
  const { a } = await pair(t)
  const dir = tmpdir(t)
  const before = a.node.length

  await rejectsWith(t, a.files.send(dir), 'NOT_A_FILE', 'a directory')
  await rejectsWith(t, a.files.send(path.join(dir, 'missing.bin')), 'FILE_NOT_FOUND', 'a missing path')
  await rejectsWith(t, a.files.send(path.join(dir, 'missing', 'deeper.bin')), 'FILE_NOT_FOUND', 'a missing directory')
  const fifo = path.join(dir, 'pipe')
  execFileSync('mkfifo', [fifo])
  const started = Date.now()
  await rejectsWith(t, a.files.send(fifo), 'NOT_A_FILE', 'a FIFO (refused without blocking on open)')
  t.ok(Date.now() - started < 5000, 'the FIFO did not block')
  await rejectsWith(t, a.files.send('/dev/zero'), 'NOT_A_FILE', 'a device')

  const locked = makeFile(path.join(dir, 'locked.bin'), 1000)
  fs.chmodSync(locked, 0o000)
  if (process.getuid?.() === 0) {
    // root reads a mode-000 file anyway (CAP_DAC_OVERRIDE): FILE_UNREADABLE cannot fire here
    t.comment('running as root: chmod 000 does not make a file unreadable, unreadable-file check skipped')
  } else {
    await rejectsWith(t, a.files.send(locked), 'FILE_UNREADABLE', 'a file without read permission')
  }

  const { isFeedchainError } = await lib()
  for (const name of ['', '   ', 'a\0b']) {
    try {
      await a.files.send(locked, { name })
      t.fail('bad name accepted: ' + JSON.stringify(name))
    } catch (e) {
      t.ok(isFeedchainError(e, 'INVALID_ARGUMENT'), `name ${JSON.stringify(name)} refused: ${e.message}`)
    }
  }
  t.is(a.node.length, before, 'nothing was appended to the chain')
  t.is((await a.files.list()).length, 0, 'no file entries')

  await rejectsWith(t, a.files.get('0123456789abcdef'), 'UNKNOWN_FILE', 'an unknown id')
  await rejectsWith(t, a.files.get('no-such-name.txt'), 'UNKNOWN_FILE', 'an unknown name')

  const info = await a.files.send(makeFile(path.join(dir, 'ok.bin'), 70 * KiB))
  await rejectsWith(t, a.files.get(info.id, { output: path.join(dir, 'nope', 'x.bin') }), 'OUTPUT_UNWRITABLE', 'an output directory that does not exist')
  await rejectsWith(t, a.files.get(info.id, { output: path.join(locked, 'x.bin') }), 'OUTPUT_UNWRITABLE', 'an output "directory" that is a file')
  if (fs.existsSync('/sys/kernel')) {
    // sysfs refuses new files even to root
    await rejectsWith(t, a.files.get(info.id, { output: '/sys/feedchain-test-output' }), 'OUTPUT_UNWRITABLE', 'a read-only file system')
  }
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial files left behind')
})

test('files: a file that changes while it is sent is refused; nothing reaches the chain; its blocks are cleared', async (t) => {
  const { a } = await pair(t)
  const dir = tmpdir(t)
  const before = a.node.length
  const blobKeyOf = async () => (await a.files.list()).map((f) => f.blobsKey)

  // grows while read
  const growing = makeFile(path.join(dir, 'growing.log'), 2 * 1024 * 1024)
  let grew = false
  const e1 = await rejectsWith(t, a.files.send(growing, {
    onProgress: (p) => {
      if (!grew && p.bytes > 0) { grew = true; fs.appendFileSync(growing, 'one more line\n') }
    }
  }), 'FILE_CHANGED', 'a file growing while sent')
  t.ok(grew, 'the fault fired: the file grew during the send')
  t.ok(/changed while it was being sent/.test(e1?.message), e1?.message)

  // rewritten in place at the same size (mtime moved into the past first, so any write shows)
  const edited = makeFile(path.join(dir, 'edited.bin'), 2 * 1024 * 1024, { seed: 9 })
  fs.utimesSync(edited, new Date(2000, 0, 1), new Date(2000, 0, 1))
  let wrote = false
  await rejectsWith(t, a.files.send(edited, {
    onProgress: (p) => {
      if (!wrote && p.bytes > 0) {
        wrote = true
        const fd = fs.openSync(edited, 'r+')
        fs.writeSync(fd, Buffer.from('EDITED'), 0, 6, 1024 * 1024 + 5)
        fs.closeSync(fd)
      }
    }
  }), 'FILE_CHANGED', 'a file edited in place while sent')
  t.ok(wrote, 'the fault fired: the file was edited during the send')

  t.is(a.node.length, before, 'no FILE entry was appended')
  t.alike(await blobKeyOf(), [], 'no files listed')
  // the blocks written before the change was seen are cleared from the blob core
  const own = a.store.get({ name: 'feedchain/blobs/' + a.node.key.toString('hex') })
  await own.ready()
  t.ok(own.length > 0, `the failed sends had written ${own.length} blocks`)
  let stored = 0
  for (let i = 0; i < own.length; i++) if (await own.has(i)) stored++
  t.is(stored, 0, 'none of them is still stored (orphan slots stay in the append-only core)')
  await own.close()

  // the next send works and starts after the orphan slots
  const good = await a.files.send(makeFile(path.join(dir, 'good.bin'), 100 * KiB))
  t.ok(good.blockOffset > 0, `next blob at block ${good.blockOffset}`)
  t.is(a.node.length, before + 1)
})

test('files: abort and timeout stop send and get cleanly', async (t) => {
  const { a, b, link } = await pair(t)
  const dir = tmpdir(t)
  const before = a.node.length
  const ctl = new AbortController()
  const { isFeedchainError } = await lib()
  try {
    await a.files.send(makeFile(path.join(dir, 'big.bin'), 4 * 1024 * 1024), { signal: ctl.signal, onProgress: (p) => { if (p.bytes > 0) ctl.abort() } })
    t.fail('send was not aborted')
  } catch (e) {
    t.ok(isFeedchainError(e, 'ABORTED'), 'send: ABORTED')
  }
  t.is(a.node.length, before, 'an aborted send appends nothing')

  const info = await a.files.send(makeFile(path.join(dir, 'f.bin'), 1024 * 1024))
  await waitForFile(b, info.id)
  link() // B can no longer reach A: its get waits for blocks
  const out = path.join(dir, 'never.bin')
  const ctl2 = new AbortController()
  const pending = b.files.get(info.id, { output: out, signal: ctl2.signal, onProgress: (p) => { if (p.phase === 'downloading') ctl2.abort() } })
  try {
    await pending
    t.fail('get was not aborted')
  } catch (e) {
    t.ok(isFeedchainError(e, 'ABORTED'), 'get: ABORTED')
  }
  const started = Date.now()
  try {
    await b.files.get(info.id, { output: out, timeout: 400 })
    t.fail('get did not time out')
  } catch (e) {
    t.ok(isFeedchainError(e, 'TIMEOUT'), 'get without peers: TIMEOUT ' + e.message)
  }
  t.ok(Date.now() - started < 5000, 'the timeout fired in time')
  t.absent(fs.existsSync(out), 'no file under the target name')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file left')
})

test('files: a get with some blocks stored and no peer left stops on timeout and on abort (no hang)', async (t) => {
  const { a, b, link } = await pair(t)
  const dir = tmpdir(t)
  const info = await a.files.send(makeFile(path.join(dir, 'part.bin'), 1024 * 1024, { seed: 31 }))
  await waitForFile(b, info.id)
  // B stores the first few blocks, then loses its only peer
  const ids = (await import('hypercore-id-encoding')).default
  const core = b.store.get({ key: ids.decode(info.blobsKey) })
  await core.ready()
  await core.download({ start: info.blockOffset, end: info.blockOffset + 3 }).done()
  await core.close()
  link()
  const { isFeedchainError } = await lib()
  const out = path.join(dir, 'part-out.bin')
  let started = Date.now()
  try {
    await b.files.get(info.id, { output: out, timeout: 300 })
    t.fail('no timeout')
  } catch (e) {
    t.ok(isFeedchainError(e, 'TIMEOUT'), 'TIMEOUT with 3 of 16 blocks stored: ' + e.message)
    t.ok(/: no peer that has the file is connected \(18% stored\); run get again to resume$/.test(e.message), 'the message says why and how much is stored')
  }
  t.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`)
  const ctl = new AbortController()
  started = Date.now()
  try {
    await b.files.get(info.id, { output: out, signal: ctl.signal, onProgress: (p) => { if (p.written > 0) ctl.abort() } })
    t.fail('no abort')
  } catch (e) {
    t.ok(isFeedchainError(e, 'ABORTED'), 'ABORTED after writing the stored blocks')
  }
  t.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`)
  t.absent(fs.existsSync(out), 'nothing under the target name')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file left')
})

test('files: seed({ wait }) that cannot finish rejects CLOSED when the files close (not a false success)', async (t) => {
  const { a, b, link } = await pair(t)
  const dir = tmpdir(t)
  const info = await a.files.send(makeFile(path.join(dir, 'seeded.bin'), 512 * 1024, { seed: 41 }))
  await waitForFile(b, info.id)
  link() // B knows the file and has no peer to fetch it from
  const { isFeedchainError } = await lib()
  const waiting = b.files.seed({ wait: true }).then(() => null, (e) => e)
  await waitFor([], () => b.files.stats.seeded === 1, { what: 'the file being seeded', poll: 10 })
  await b.files.close()
  const e = await waiting
  t.ok(isFeedchainError(e, 'CLOSED'), 'CLOSED: ' + e?.message)
})

test('files: verify beside a concurrent open of a blob core not stored yet: neither fails', async (t) => {
  // Corestore shares one opening per core: verify used to open blob cores with
  // createIfMissing: false, and a get or the daemon's seeding opening the same core meanwhile
  // failed with it (STORAGE_EMPTY, reported as INTERNAL; found by cli-fuzz seed 160806003)
  const { a, b } = await pair(t)
  const dir = tmpdir(t)
  const info = await a.files.send(makeFile(path.join(dir, 'v.bin'), 256 * 1024, { seed: 41 }))
  // the FILE entry reaches B through the chain; nothing on B has opened its blob core
  await waitFor([b.node], () => b.node.length === a.node.length)
  const ids = (await import('hypercore-id-encoding')).default
  const { discoveryKey } = (await import('hypercore-crypto')).default
  const blobKey = Buffer.from(ids.decode(info.blobsKey))
  t.absent(await b.store.storage.hasCore(discoveryKey(blobKey)), 'precondition: the blob core is not stored on B')
  // whenever anything opens the blob core, open it at the same moment as a get would
  const opens = []
  const get = b.store.get.bind(b.store)
  b.store.get = (opts) => {
    const core = get(opts)
    if (opts?.key && blobKey.equals(Buffer.from(opts.key))) {
      const other = get({ key: blobKey })
      opens.push(other.ready().finally(() => other.close()))
    }
    return core
  }
  t.teardown(() => { b.store.get = get })
  const report = await b.node.verify()
  t.ok(report.ok, 'verify passes: ' + report.problems.join('; '))
  const got = await b.files.get(info.id, { output: path.join(dir, 'v-out.bin') })
  t.is(got.downloaded, 256 * 1024, 'the file downloads after the verify')
  const settled = await Promise.allSettled(opens)
  t.ok(settled.length > 0, `${settled.length} concurrent opens made`)
  t.is(settled.filter((r) => r.status === 'rejected').length, 0, 'none of them failed')
})

test('files: a FILE entry whose hash does not match its bytes is never written out; an unevenly cut blob still assembles', async (t) => {
  const { a } = await pair(t)
  const { encodeFile, EntryType } = await import('../dist/feed/schema.js')
  const { hashBytes } = await import('../dist/files/file-hash.js')
  const dir = tmpdir(t)
  const info = await a.files.send(makeFile(path.join(dir, 'real.bin'), 150 * KiB))
  const [f] = await a.files.list()
  const ids = (await import('hypercore-id-encoding')).default
  const blobsKey = ids.decode(f.blobsKey)
  const wrong = { name: 'liar.bin', size: f.size, mime: '', blobsKey, blockOffset: f.blockOffset, blockLength: f.blockLength, byteOffset: f.byteOffset, byteLength: f.byteLength, hash: Buffer.alloc(32, 7) }
  await a.node.appendEntries([{ type: EntryType.FILE, payload: encodeFile(wrong) }])
  await waitFor([a.node], async () => (await a.files.list()).length === 2, { what: 'the lying entry' })
  const out = path.join(dir, 'liar.bin')
  await rejectsWith(t, a.files.get('liar.bin', { output: out }), 'HASH_MISMATCH', 'a wrong hash')
  t.absent(fs.existsSync(out), 'nothing under the target name')
  t.absent(fs.readdirSync(dir).some((x) => x.endsWith('.feedchain-partial')), 'partial removed')

  // blocks of 3, 10 and 5 bytes: not the uniform layout, written in order instead
  const own = a.store.get({ name: 'feedchain/blobs/' + a.node.key.toString('hex') })
  await own.ready()
  const parts = [Buffer.from('abc'), Buffer.from('0123456789'), Buffer.from('vwxyz')]
  const blockOffset = own.length
  const byteOffset = own.byteLength
  await own.append(parts)
  const all = Buffer.concat(parts)
  await a.node.appendEntries([{ type: EntryType.FILE, payload: encodeFile({ name: 'uneven.txt', size: all.byteLength, mime: 'text/plain', blobsKey, blockOffset, blockLength: 3, byteOffset, byteLength: all.byteLength, hash: hashBytes(all) }) }])
  await own.close()
  await waitFor([a.node], async () => (await a.files.list()).length === 3, { what: 'the uneven entry' })
  const r = await a.files.get('uneven.txt', { output: path.join(dir, 'uneven.txt') })
  t.is(fs.readFileSync(r.path, 'utf8'), 'abc0123456789vwxyz', 'an unevenly cut blob is assembled in order')
  t.ok(info.id.length === 16)
})

test('files: id resolution (unit)', async (t) => {
  const { resolveFile, safeFileName, fileId } = await import('../dist/files/file-id.js')
  const rec = (hash, name, position) => ({ id: hash.slice(0, 16), hash, name, position })
  const h1 = 'aabbccdd' + '1'.repeat(56)
  const h2 = 'aabbccee' + '2'.repeat(56)
  const files = [rec(h1, 'x.txt', 1), rec(h2, 'y.txt', 2), rec(h1, 'x-copy.txt', 3)]
  t.is(resolveFile(files, 'aabbccdd').file.position, 3, 'same hash twice: the latest, the other reported')
  t.is(resolveFile(files, 'aabbccdd').others.length, 1)
  t.is(resolveFile(files, h2).file.name, 'y.txt', 'the full hash works')
  t.is(resolveFile(files, 'AABBCCEE').file.name, 'y.txt', 'ids are case-insensitive')
  const code = await codeOf('AMBIGUOUS_FILE')
  const thrown = (fn) => { try { fn() } catch (e) { return e } return null }
  const amb = thrown(() => resolveFile(files, 'aabbcc'))
  t.ok(amb?.code === code && amb.reason === 'AMBIGUOUS_FILE' && /x-copy\.txt/.test(amb.message) && /y\.txt/.test(amb.message), 'an ambiguous prefix lists the candidates: ' + amb?.message)
  t.is(thrown(() => resolveFile(files, 'aabb'))?.reason, 'UNKNOWN_FILE', 'prefixes under 6 characters are names')
  t.is(resolveFile(files, 'x.txt').file.position, 1, 'by name')
  t.is(safeFileName('../../etc/passwd'), 'passwd', 'names never escape the output directory')
  t.is(safeFileName('a\\b\u0001c'), 'bc')
  t.is(safeFileName('..'), null)
  t.is(fileId(Buffer.from(h1, 'hex')), h1.slice(0, 16))
})

test('files: rechunk cuts any stream into exact blocks (unit)', async (t) => {
  const { rechunk } = await import('../dist/files/file-source.js')
  const input = [Buffer.from('abcde'), 'fgh', Buffer.alloc(0), Buffer.from('ijklmnopq')]
  const out = []
  for await (const b of rechunk(Readable.from(input), 4)) out.push(b.toString())
  t.alike(out, ['abcd', 'efgh', 'ijkl', 'mnop', 'q'])
})

test('files: CLI text helpers (unit)', async (t) => {
  const { formatEta, formatRate, storedText, fileHeader, fileLine, FileProgressView } = await import('../dist/cli/commands/files.js')
  t.is(formatEta(null), '--')
  t.is(formatEta(42.4), '42s')
  t.is(formatEta(185), '3m05s')
  t.is(formatEta(3725), '1h02m')
  t.is(formatRate(1536), '1.5 KiB/s')
  t.is(storedText({ complete: true, blockLength: 4, storedBlocks: 4 }), '100%')
  t.is(storedText({ complete: false, blockLength: 4, storedBlocks: 1 }), ' 25%')
  t.is(storedText({ complete: false, blockLength: 1000, storedBlocks: 999 }), ' 99%', 'never 100% until complete')
  // files on a terminal: the column titles start where their cells do
  const plain = { dim: (x) => x, green: (x) => x, yellow: (x) => x, bold: (x) => x, cyan: (x) => x }
  for (const position of [7, 12345]) {
    const f = { id: 'a'.repeat(16), size: 5 * 1024 * 1024, complete: true, blockLength: 5, storedBlocks: 5, final: true, position, author: 'b'.repeat(52), time: Date.UTC(2026, 0, 2), name: 'the name' }
    const w = String(position).length
    const line = fileLine(f, plain, w)
    const head = fileHeader(plain, w)
    t.is(head.indexOf('HERE'), line.indexOf('100%'), `HERE above the stored share (position width ${w})`)
    t.is(head.indexOf('NAME'), line.indexOf('the name'), 'NAME above the name')
    t.is(head.indexOf('POS') + 3, line.indexOf(String(position)) + w, 'POS right-aligned over the position')
    t.is(head.indexOf('AUTHOR'), line.indexOf('bbbbbbbb'), 'AUTHOR above the author')
    t.is(head.indexOf('SIZE') + 4, line.indexOf('5 MiB') + 5, 'SIZE right-aligned over the size')
  }
  // --json: NDJSON progress records, throttled per phase; nothing on a non-terminal without --json
  const lines = []
  const out = { json: true, err: { isTTY: false }, record: async (o) => { lines.push(o) } }
  const view = new FileProgressView(out, 'x', { peers: true })
  const p = (phase, bytes) => ({ phase, bytes, total: 10, percent: bytes * 10, rate: 1, eta: 1, peers: 1, sources: 1, written: bytes, elapsed: 0 })
  view.update(p('downloading', 1))
  view.update(p('downloading', 2)) // within 250 ms of the previous one: dropped
  view.update(p('done', 10))
  view.close()
  t.alike(lines.map((l) => [l.type, l.phase, l.bytes]), [['progress', 'downloading', 1], ['progress', 'done', 10]])
  const quiet = new FileProgressView({ json: false, err: { isTTY: false } }, 'x', { peers: false })
  quiet.update(p('downloading', 1))
  quiet.close()
  t.pass('no bar and no output off a terminal')
})
