// The file commands through a running daemon, across processes on a loopback testnet: `send`
// (a path and stdin) prints the id, `files` lists it, a second storage's daemon gets it through
// the CLI from the first daemon after the sending CLI has exited, daemons seed every file (a
// third storage gets a file the second one only seeded, with the first daemon stopped), errors
// keep their codes and messages, and Ctrl-C or a killed `get` cancels the daemon's download and
// leaves nothing under the target name.
//
// Children are started through helpers/proc.js (daemons and CLI calls, FEEDCHAIN_BOOTSTRAP on the
// loopback testnet) and helpers/files.js (a throttled seeder process); both register the teardown
// (SIGKILL by pid) before a child is spawned. Waits are on output or polled conditions.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { cli, cliJson, cliOk, childEnv, localTestnet, spawnNode, startDaemon, tmpDir, until, BIN, DIST, ROOT } from './helpers/proc.js'
import { makeFile, sha256, spawnPeer } from './helpers/files.js'

const T = { timeout: 180_000 }
const MB = 1e6

/** The one-line error contract: non-zero exit, one `feedchain: … [CODE]` line, nothing on stdout. */
function isError (t, r, code, what) {
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  t.ok(r.code !== 0 && r.code !== null, `${what}: exits non-zero (got ${r.code})`)
  t.is(lines.length, 1, `${what}: one line on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`)
  t.ok((lines[0] ?? '').endsWith(`[${code}]`), `${what}: code ${code}: ${lines[0]}`)
  t.absent(/\n\s+at /.test(r.stderr), `${what}: no stack trace`)
  t.is(r.stdout, '', `${what}: nothing on stdout`)
}

const records = (text) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

/** `files --json` of a storage, by file id. */
async function filesOf (t, env, storage) {
  const list = await cliJson(t, env, storage, ['files'])
  return Object.fromEntries(list.map((f) => [f.id, f]))
}

/** Wait until `storage` stores every byte of file `id` (polled through its daemon). */
function waitStored (t, env, storage, id, what) {
  return until(async () => (await filesOf(t, env, storage))[id]?.complete === true, { ms: 60_000, what })
}

test('upload: a write resolves once the reader takes its chunk; too many in flight, writes after the end or the stop are refused', async (t) => {
  const { Upload } = await import(path.join(DIST, 'daemon', 'upload.js'))
  const u = new Upload()
  let taken = 0
  const writes = [0, 1, 2].map((i) => u.write(Buffer.from([i])).then(() => { taken++ }))
  await new Promise((resolve) => setImmediate(resolve))
  t.is(taken, 0, 'nothing taken before the reader reads: the client waits (backpressure)')
  const it = u[Symbol.asyncIterator]()
  t.alike((await it.next()).value, Buffer.from([0]), 'chunks come out in order')
  await writes[0]
  t.is(taken, 1, 'reading a chunk answers its write')
  let refused = 0
  for (let i = 0; i < 20; i++) u.write(Buffer.from([10 + i])).catch((e) => { if (e.code === 'INVALID_ARGUMENT') refused++ })
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(refused >= 10, `a client ignoring the window is refused, not buffered (${refused} of 20 refused)`)
  u.end()
  await t.exception(u.write(Buffer.from([9])), /after the end/, 'no write after the end')
  const rest = []
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value[0])
  t.alike(rest.slice(0, 2), [1, 2], 'the reader drains the queued chunks, then ends')
  const v = new Upload()
  const pending = v.write(Buffer.from([1]))
  v.destroy(new Error('stop'))
  await t.exception(pending, /has ended/, 'destroying the upload fails the queued writes')
  await t.exception(v[Symbol.asyncIterator]().next(), /stop/, 'and the reader throws the reason')
})

test('daemon files: send and files through a daemon; another daemon gets it after the sender exited; daemons seed what they have', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t)
  const [a, b, c] = ['a', 'b', 'c'].map((n) => path.join(dir, n))
  const src = makeFile(path.join(dir, 'payload.bin'), 8 * MB, { seed: 41 })

  const [created] = await cliJson(t, env, a, ['init', '--name', 'drop'])
  const da = await startDaemon(t, env, a)
  // a relative path (CLI children run in ROOT): the CLI resolves it; the daemon's working directory is not its own
  const sent = await cliOk(t, env, a, ['send', path.relative(ROOT, src)])
  const id = sent.stdout.trim()
  t.ok(/^[0-9a-f]{16}$/.test(id), 'send through the daemon prints the file id: ' + JSON.stringify(sent.stdout))
  t.ok(/sent payload\.bin \(7\.6 MiB\) as file [0-9a-f]{16} at position 1/.test(sent.stderr), 'and the summary on stderr: ' + sent.stderr.trim())
  const listed = await cliOk(t, env, a, ['files'])
  t.ok(listed.stdout.startsWith(id) && listed.stdout.includes('100%') && listed.stdout.trimEnd().endsWith('payload.bin'), 'files through the daemon: id … 100% … name: ' + listed.stdout.trim())
  const json = await cliJson(t, env, a, ['send', src, '--name', 'again.bin'])
  const progress = json.filter((r) => r.type === 'progress')
  t.ok(progress.length >= 2 && progress.every((p) => ['phase', 'bytes', 'total', 'percent', 'rate', 'eta'].every((k) => k in p)), `send --json through the daemon streams ${progress.length} progress records`)
  t.is(json.at(-1).type, 'sent', 'then the sent record')
  t.is(json.at(-1).id, id, 'same content, same id')
  t.is(json.at(-1).name, 'again.bin', 'under the name given')

  // a second storage with its own daemon follows the chain and gets the file through the CLI
  const db = await startDaemon(t, env, b)
  const [joined] = await cliJson(t, env, b, ['join', created.key])
  t.is(joined.caughtUp, true, 'b joined through its daemon')
  const out = path.join(dir, 'received.bin')
  const got = await cliJson(t, env, b, ['get', id, '-o', out], { timeout: 60_000 })
  const result = got.at(-1)
  t.is(result.type, 'got', 'get through the daemon ends with the got record')
  t.is(result.path, out, 'written where -o said')
  t.is(result.downloaded + result.reused, 8 * MB, 'downloaded (by the get) + already stored (by seeding) = the file')
  t.is(await sha256(out), await sha256(src), 'the file b got equals the one a sent (sha256); the sending CLI had long exited')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file left')
  const notWriter = await cli(t, env, b, ['send', src])
  isError(t, notWriter, 'NOT_WRITER', 'send from a storage that is not a writer, through its daemon')
  t.is(notWriter.code, 4)

  // a file sent later, from stdin (3.6 MB: many upload chunks): b's daemon seeds it without anyone asking
  const notes = 'line one\nline two\n'.repeat(200_000)
  const viaStdin = await cliOk(t, env, a, ['send', '-', '--name', 'notes.txt'], { input: notes })
  const notesId = viaStdin.stdout.trim()
  t.ok(/^[0-9a-f]{16}$/.test(notesId), 'send - through the daemon prints the id')
  await waitStored(t, env, b, notesId, 'b\'s daemon to seed notes.txt')
  t.pass('b\'s daemon stored notes.txt, which nobody asked it to get')

  // with a's daemon gone, a third storage gets notes.txt from b: b seeds what it has
  const stopped = await da.stop('SIGTERM')
  t.is(stopped.code, 0, 'a\'s daemon stops cleanly (exit 0) with its files open')
  t.ok(/daemon stopped\n$/.test(da.err()), 'and says so')
  await startDaemon(t, env, c)
  const [joinedC] = await cliJson(t, env, c, ['join', created.key])
  t.is(joinedC.caughtUp, true, 'c joined through its daemon, from b')
  const notesOut = path.join(dir, 'notes-copy.txt')
  const r = await cliOk(t, env, c, ['get', 'notes.txt', '-o', notesOut])
  t.is(r.stdout, notesOut + '\n', 'get by name prints the path written')
  t.ok(fs.readFileSync(notesOut, 'utf8') === notes, 'c got the stdin file, intact, from b, which only seeded it')
  const stoppedB = await db.stop('SIGTERM')
  t.is(stoppedB.code, 0, 'b\'s daemon stops cleanly too')
})

test('daemon files: errors keep their codes and messages through the daemon; the protocol checks its params', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t)
  const storage = path.join(dir, 'store')
  await cliOk(t, env, storage, ['init', '--name', 'errors'])
  const file = makeFile(path.join(dir, 'one.bin'), 100_000, { seed: 3 })
  await cliOk(t, env, storage, ['send', file])

  const cases = [
    [['get', 'no-such-file', '--timeout', '1'], 'INVALID_ARGUMENT', 'get with an unknown name'],
    [['get', 'abcdef0123', '--timeout', '1'], 'INVALID_ARGUMENT', 'get with an unknown id'],
    [['send', path.join(dir, 'missing.bin')], 'INVALID_ARGUMENT', 'send of a missing path'],
    [['send', dir], 'INVALID_ARGUMENT', 'send of a directory'],
    [['get', 'one.bin', '-o', path.join(dir, 'nope', 'x.bin')], 'INVALID_ARGUMENT', 'get into a missing directory'],
    [['files', '--chain', ids.encode(Buffer.alloc(32, 9))], 'UNKNOWN_CHAIN', 'files of a chain the storage does not follow'],
  ]
  const run = async () => {
    const out = []
    for (const [args] of cases) out.push(await cli(t, env, storage, args))
    return out
  }
  const direct = await run()
  const daemon = await startDaemon(t, env, storage)
  const via = await run()
  for (const [i, [args, code, what]] of cases.entries()) {
    isError(t, via[i], code, `${what} (${args.join(' ')}) through the daemon`)
    t.is(via[i].code, direct[i].code, `${what}: same exit code as without a daemon`)
    t.is(via[i].stderr, direct[i].stderr, `${what}: same message as without a daemon`)
  }

  // Ctrl-C of `send -` through the daemon: the send is cancelled there, nothing is added
  const before = Object.keys(await filesOf(t, env, storage)).length
  const sending = spawnNode(t, [BIN, '--storage', storage, 'send', '-', '--name', 'stream.bin', '--json'], { env, keepStdin: true })
  sending.child.stdin.write(Buffer.alloc(3 * 1024 * 1024, 7)) // stdin stays open: the send cannot finish by itself
  await sending.waitFor('stdout', /"bytes":[1-9]/, 20_000, 'send - to report stored bytes')
  sending.kill('SIGINT')
  const rs = await sending.exited
  t.is(rs.code, 130, 'send - exits 130 on Ctrl-C')
  const after = await filesOf(t, env, storage)
  t.is(Object.keys(after).length, before, 'the cancelled send added no file')
  t.absent(Object.values(after).some((f) => f.name === 'stream.bin'), 'no stream.bin in the chain')

  // the daemon's side of the protocol: the same checks when a client skips its own
  const { DaemonClient } = await import(path.join(DIST, 'daemon', 'client.js'))
  const client = await DaemonClient.connect(daemon.socket)
  t.teardown(() => client.close())
  await client.hello()
  const fail = async (method, params) => {
    try {
      await client.request(method, params)
      return null
    } catch (e) {
      return e
    }
  }
  const missing = await fail('files.send', { path: path.join(dir, 'gone.bin') })
  t.is(missing?.code, 'INVALID_ARGUMENT', 'files.send of a missing absolute path: INVALID_ARGUMENT')
  t.is(missing?.reason, 'FILE_NOT_FOUND', 'with its reason carried over the socket')
  t.is((await fail('files.send', { path: 'one.bin' }))?.code, 'INVALID_ARGUMENT', 'files.send of a relative path is refused')
  t.is((await fail('files.get', { query: 'one.bin', output: 'x.bin', timeout: 1000 }))?.code, 'INVALID_ARGUMENT', 'files.get to a relative path is refused')
  const unknown = await fail('files.get', { query: 'nothing-here', output: dir + path.sep, timeout: 500 })
  t.is(unknown?.reason, 'UNKNOWN_FILE', 'files.get of an unknown file: reason UNKNOWN_FILE')
  t.is((await fail('files.write', { upload: 'f'.repeat(32), data: '' }))?.code, 'INVALID_ARGUMENT', 'files.write to an upload that does not exist')
  t.is(await fail('files.list', {}), null, 'files.list works')
  const stopped = await daemon.stop('SIGTERM')
  t.is(stopped.code, 0, 'the daemon stops cleanly')
})

test('daemon files: Ctrl-C or a kill of `get` cancels the daemon\'s download; nothing under the target name; get again works', T, async (t) => {
  const { bootstrap, testnet } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t)
  const size = 24 * MB
  const src = makeFile(path.join(dir, 'slow.bin'), size, { seed: 42 })
  // a seeder process that sends at 2 MB/s: a download takes ~12 s, so "mid-download" is not a race
  const seeder = spawnPeer(t, { name: 'seeder' })
  const { key } = await seeder.request({ type: 'open', dir: path.join(dir, 'seeder'), bootstrap: testnet.bootstrapString })
  const { info } = await seeder.request({ type: 'send', file: src })
  await seeder.request({ type: 'throttle', rate: 2 * MB })

  const storage = path.join(dir, 'receiver')
  const daemon = await startDaemon(t, env, storage)
  await cliJson(t, env, storage, ['join', key])
  const out = path.join(dir, 'out.bin')
  const partial = path.join(dir, '.out.bin.feedchain-partial')

  /** Start get --json; resolve with the process and the first progress record once it shows. */
  const startGet = async () => {
    const p = spawnNode(t, [BIN, '--storage', storage, 'get', info.id, '-o', out, '--json'], { env })
    const m = await p.waitFor('stdout', /\{"type":"progress"[^\n]*\n/, 30_000, 'the first progress record of get')
    return { p, first: JSON.parse(m[0]) }
  }

  // Ctrl-C: the CLI cancels the daemon's get and waits for it to end
  const one = await startGet()
  t.ok(one.first.bytes < size, `the get is mid-download (${(one.first.bytes / MB).toFixed(1)} of ${size / MB} MB stored)`)
  t.ok(fs.existsSync(partial), 'the daemon is writing its temporary file')
  one.p.kill('SIGINT')
  const r1 = await one.p.exited
  t.is(r1.code, 130, 'get exits 130 on Ctrl-C')
  t.is(one.p.err().trim().split('\n').at(-1), 'feedchain: interrupted')
  t.absent(fs.existsSync(partial), 'the daemon removed its temporary file before the CLI exited: its get was cancelled')
  t.absent(fs.existsSync(out), 'nothing under the target name')

  // killed with -9: the daemon sees the connection close and cancels the same way
  const two = await startGet()
  t.ok(two.first.bytes < size, `the second get is mid-download too (${(two.first.bytes / MB).toFixed(1)} MB stored)`)
  two.p.kill('SIGKILL')
  await two.p.exited
  await until(async () => !fs.existsSync(partial), { ms: 10_000, what: 'the daemon to remove the temporary file of the killed get' })
  t.pass('the daemon cancelled the get of a client killed with -9')
  t.absent(fs.existsSync(out), 'still nothing under the target name')

  // the daemon keeps seeding; once it has the file, nothing cancelled has written the target
  await waitStored(t, env, storage, info.id, 'the receiver daemon to finish seeding the file')
  t.absent(fs.existsSync(out), 'no cancelled get finished later')
  const got = await cliJson(t, env, storage, ['get', info.id, '-o', out])
  t.is(got.at(-1).type, 'got', 'get again works')
  t.is(await sha256(out), await sha256(src), 'and writes the file intact')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file anywhere')
  const stopped = await daemon.stop('SIGTERM')
  t.is(stopped.code, 0, 'the daemon stops cleanly')
})
