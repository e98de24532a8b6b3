// The daemon's pure parts and its socket protocol in one process: NDJSON framing, entry and
// error encoding, the RPC server and client (replies, streams, cancel, errors with their code),
// the catch-up rule, and the status and progress lines.
import test from 'brittle'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { DIST } from './helpers/proc.js'

const { LineReader, encodeEntry, decodeEntry, encodeError, decodeError, frame, socketPath } = await import(path.join(DIST, 'daemon', 'protocol.js'))
const { RpcServer } = await import(path.join(DIST, 'daemon', 'server.js'))
const { DaemonClient, probeDaemon } = await import(path.join(DIST, 'daemon', 'client.js'))
const { CatchUp, inSync } = await import(path.join(DIST, 'daemon', 'sync.js'))
const { FeedchainError } = await import(path.join(DIST, 'errors.js'))
const { renderStatusLine } = await import(path.join(DIST, 'cli', 'status-line.js'))
const { progressText } = await import(path.join(DIST, 'cli', 'progress.js'))
const { eventLine } = await import(path.join(DIST, 'cli', 'commands', 'daemon.js'))

function tmp (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-rpc-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }), { order: Infinity })
  return dir
}

test('protocol: NDJSON lines split across chunks, a line too long or not JSON is an error', (t) => {
  const got = []
  const errors = []
  const r = new LineReader((v) => got.push(v), (e) => errors.push(e.message), 64)
  const text = frame({ a: 1 }) + frame({ b: 'x\ny' }) + '\n' + frame([1, 2])
  for (let i = 0; i < text.length; i += 3) r.push(Buffer.from(text.slice(i, i + 3)))
  t.alike(got, [{ a: 1 }, { b: 'x\ny' }, [1, 2]], 'values in order; escaped newlines stay inside a line; empty lines skipped')
  r.push(Buffer.from('x'.repeat(100)))
  t.alike(errors, ['line longer than 64 bytes'])
  const bad = new LineReader(() => {}, (e) => errors.push(e.message))
  bad.push(Buffer.from('{nope}\n'))
  t.is(errors.at(-1), 'a line is not JSON')
  t.is(socketPath('/x/y'), '/x/y/feedchain.sock')
})

test('protocol: entries and errors survive the trip', (t) => {
  const e = { position: 3, writer: Buffer.alloc(32, 1), seq: 2, index: 0, final: true, type: 'data', data: Buffer.from([0, 255, 10]), value: null, time: 5, clock: 7, hash: 'ab' }
  t.alike(decodeEntry(JSON.parse(JSON.stringify(encodeEntry(e)))), e, 'binary data, keys and hash round-trip')
  const fe = decodeError(encodeError(new FeedchainError('UNKNOWN_CHAIN', 'no such chain')))
  t.ok(fe instanceof FeedchainError, 'a FeedchainError comes back as one')
  t.is(fe.code, 'UNKNOWN_CHAIN')
  t.is(fe.message, 'no such chain')
  t.is(fe.exitCode, 3, 'with its exit code')
  const internal = decodeError(encodeError(new TypeError('boom')))
  t.absent(internal instanceof FeedchainError, 'anything else is an internal error')
  t.ok(internal.message.includes('boom'))
  t.absent(decodeError({ code: 'NO_SUCH_CODE', message: 'x' }) instanceof FeedchainError, 'an unknown code is internal too')
})

test('rpc: requests, streams with cancel, errors with their code, bad input closes the connection', async (t) => {
  const dir = tmp(t)
  const sock = path.join(dir, 'test.sock')
  const server = new RpcServer()
  t.teardown(() => server.close())
  let cancelled = false
  server.register('hello', async () => ({ protocol: 1, version: 'test', pid: process.pid, storage: dir, socket: sock }))
  server.register('echo', async (p) => p)
  server.register('fail', async () => { throw new FeedchainError('NOT_INDEXER', 'nope') })
  server.register('count', async (p, call) => {
    for (let i = 0; i < p.n; i++) await call.event(i)
    return 'done'
  })
  server.register('forever', async (_p, call) => {
    let i = 0
    while (!call.signal.aborted) {
      await call.event(i++)
      await new Promise((resolve) => setImmediate(resolve)) // yield to the event loop between events
    }
    cancelled = true
    return null
  })
  await server.listen(sock)
  t.is(fs.statSync(sock).mode & 0o777, 0o600, 'socket readable by this user only')

  const client = await DaemonClient.connect(sock)
  t.teardown(() => client.close())
  t.is((await client.hello()).version, 'test')
  t.alike(await client.request('echo', { x: [1, 'a'] }), { x: [1, 'a'] })
  await t.exception(client.request('fail'), /nope/, 'an error reply rejects')
  try { await client.request('fail') } catch (e) { t.is(e.code, 'NOT_INDEXER', 'with the same code') }
  try { await client.request('nope') } catch (e) { t.is(e.code, 'USAGE', 'an unknown method is USAGE') }

  const seen = []
  const it = client.stream('count', { n: 5000 })
  let r
  while (!(r = await it.next()).done) seen.push(r.value)
  t.is(seen.length, 5000, 'a long stream arrives whole (backpressure both ways)')
  t.alike(seen.slice(0, 3), [0, 1, 2])
  t.is(r.value, 'done', 'and ends with the result')

  let got = 0
  for await (const v of client.stream('forever', {})) { if (++got >= 10 || v < 0) break }
  await new Promise((resolve) => { const check = () => cancelled ? resolve() : setTimeout(check, 10); check() }) // poll: cancel is async
  t.ok(cancelled, 'breaking out of a stream cancels it on the server')

  const raw = net.connect(sock)
  const closed = new Promise((resolve) => raw.on('close', resolve))
  let reply = ''
  raw.on('data', (d) => { reply += d })
  raw.write('this is not json\n')
  await closed
  t.ok(/INVALID_ARGUMENT/.test(reply), 'a line that is not JSON gets an error and the connection is closed')
  t.alike(await client.request('echo', { still: true }), { still: true }, 'other clients are unaffected')
})

test('rpc: probeDaemon tells a running daemon from a stale socket and from none', async (t) => {
  const dir = tmp(t)
  t.is((await probeDaemon(dir)).state, 'absent', 'no socket: absent')
  t.is((await probeDaemon(path.join(dir, 'missing'))).state, 'absent', 'no directory: absent')
  // a socket file nobody listens on
  const s = net.createServer()
  await new Promise((resolve) => s.listen(socketPath(dir), resolve))
  // closing a Unix server in Node unlinks its file; keep a hard link of the socket file to leave a stale one behind
  fs.linkSync(socketPath(dir), path.join(dir, 'keep.sock'))
  await new Promise((resolve) => s.close(resolve))
  fs.renameSync(path.join(dir, 'keep.sock'), socketPath(dir))
  const p = await probeDaemon(dir)
  t.is(p.state, 'stale', 'a socket nobody listens on is stale')
})

test('catch-up rule: settled peer, no lag, nothing unsent; pending waits for the target or quiet', (t) => {
  const base = { peers: 1, settledPeers: 1, length: 10, finalLength: 10, pending: 0, lag: 0, unsent: 0, writers: 1, signature: '' }
  t.ok(inSync(base))
  t.absent(inSync({ ...base, settledPeers: 0 }), 'a peer connected just now does not count yet')
  t.absent(inSync({ ...base, lag: 1 }), 'lag')
  t.absent(inSync({ ...base, unsent: 2 }), 'own blocks not on a peer')
  t.absent(inSync({ ...base, length: 0, finalLength: 0 }), 'no genesis')
  t.ok(new CatchUp(0).update(base, 0), 'nothing pending: caught up at once')

  const c = new CatchUp(0, 2000)
  const pend = { ...base, length: 12, finalLength: 10, pending: 2 }
  t.absent(c.update(pend, 100), 'pending entries: not yet')
  t.absent(c.update({ ...pend, length: 13, pending: 3 }, 200), 'a busy chain adds more')
  t.ok(c.update({ ...pend, length: 14, finalLength: 12, pending: 2 }, 300), 'caught up once what was there is final, newer pending entries aside')
  const stuck = new CatchUp(0, 2000)
  t.absent(stuck.update(pend, 0))
  t.absent(stuck.update(pend, 1999))
  t.ok(stuck.update(pend, 2000), 'pending entries that do not move (indexers offline) stop the wait after the quiet time')
})

test('status line and progress text', (t) => {
  const snap = { peers: 2, bans: 1, bytesIn: 2048, bytesOut: 10, chains: [{ key: 'abcdefgh' + 'x'.repeat(44), name: 'notes', length: 12, finalLength: 10, pending: 2, peers: 2, lag: 3 }] }
  const line = renderStatusLine(snap, 200)
  for (const part of ['2 peers', '↓ 2 KiB', '↑ 10 B', '1 banned', 'abcdefgh', '"notes"', '10/12', '2 pending', '↓3']) t.ok(line.includes(part), `status line shows ${part}: ${line}`)
  t.ok(renderStatusLine(snap, 30).length <= 29, 'cut to the terminal width')
  t.ok(renderStatusLine({ ...snap, chains: [] }, 200).includes('no chains yet'))
  const p = progressText('syncing', { peers: 0, length: 0, finalLength: 0, pending: 0, lag: 0, unsent: 0, writers: 0, caughtUp: false, elapsed: 1500 })
  t.is(p, 'syncing: looking for peers · 0 entries (0 final) · 1.5 s')
  const q = progressText('syncing', { peers: 2, length: 5, finalLength: 4, pending: 1, lag: 7, unsent: 1, writers: 2, caughtUp: false, elapsed: 0 })
  for (const part of ['2 peers', '5 entries (4 final)', '7 blocks to download', '1 to upload', '1 pending']) t.ok(q.includes(part), part)
  const ev = eventLine({ type: 'ban', publicKey: 'k'.repeat(52), reason: 'bad\u001b[2J' }, new Date(0))
  t.ok(ev.includes('banned peer ' + 'k'.repeat(52)) && ev.includes('bad\\x1b[2J'), 'event lines escape what peers can influence')
})
