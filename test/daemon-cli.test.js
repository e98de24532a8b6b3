// The CLI with and without a daemon: network flags are validated before anything is touched,
// commands through the daemon print exactly what they print without it (output, errors, exit
// codes), a stale socket is handled, the daemon stops cleanly, and sync without peers times out.
// Everything runs on a local testnet on 127.0.0.1.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { cli, cliJson, cliOk, childEnv, localTestnet, spawnNode, startDaemon, statusOf, tmpDir, BIN } from './helpers/proc.js'

const T = { timeout: 90_000 }

/**
 * The one-line error contract (as helpers/cli.js isCliError, for results of proc.js): one
 * `feedchain: … [CODE]` line, last on stderr (progress lines of join/sync may come before it).
 */
function isError (t, r, code, what) {
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  const errors = lines.filter((l) => l.startsWith('feedchain: '))
  t.ok(r.code !== 0 && r.code !== null, `${what}: exits non-zero (got ${r.code})`)
  t.is(errors.length, 1, `${what}: one error line on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`)
  t.ok((lines.at(-1) ?? '').endsWith(`[${code}]`), `${what}: code ${code}: ${lines.at(-1)}`)
  t.absent(/\n\s+at /.test(r.stderr), `${what}: no stack trace`)
}

test('network flags: a malformed --bootstrap, FEEDCHAIN_BOOTSTRAP or --host is INVALID_ARGUMENT, exit 2, before any storage', T, async (t) => {
  const dir = tmpDir(t)
  const storage = path.join(dir, 'never')
  const env = childEnv(t, '127.0.0.1:9') // valid but unused: every case below fails before any network
  const key = ids.encode(Buffer.alloc(32, 7))
  const cases = [
    [['--bootstrap', 'nope', 'init'], {}, 'no port'],
    [['--bootstrap', '127.0.0.1:0', 'join', key], {}, 'port 0'],
    [['--bootstrap', '127.0.0.1:70000', 'sync'], {}, 'port too large'],
    [['--bootstrap', '[::1]:4000', 'daemon'], {}, 'IPv6'],
    [['--bootstrap', '127.0.0.1:1,,127.0.0.1:2', 'status'], {}, 'empty item'],
    [['--bootstrap', '', 'log', '-f'], {}, 'empty list'],
    [['init'], { FEEDCHAIN_BOOTSTRAP: 'localhost' }, 'FEEDCHAIN_BOOTSTRAP without port'],
    [['daemon'], { FEEDCHAIN_BOOTSTRAP: '127.0.0.1:abc' }, 'FEEDCHAIN_BOOTSTRAP with a bad port'],
    [['--host', '1.2.3', 'join', key], {}, '--host not an address'],
    [['daemon'], { FEEDCHAIN_HOST: '::1' }, 'FEEDCHAIN_HOST IPv6'],
  ]
  // malformedBootstrap: these lists must be refused before any network exists (asserted below)
  const results = await Promise.all(cases.map(([args, extra]) => cli(t, { ...env, ...extra }, storage, args, { malformedBootstrap: true, timeout: 20_000 })))
  for (const [i, [, , what]] of cases.entries()) {
    isError(t, results[i], 'INVALID_ARGUMENT', what)
    t.is(results[i].code, 2, `${what}: exit 2`)
  }
  t.absent(fs.existsSync(storage), 'no storage was created')
})

test('daemon: commands through it print what they print without it; errors keep code and message; SIGTERM stops it cleanly', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const storage = path.join(tmpDir(t), 'store')
  const [created] = await cliJson(t, env, storage, ['init', '--name', 'shapes'])
  await cliOk(t, env, storage, ['append', '-'], { input: 'one\ntwo\n\u001b[31mred\n' })

  // the same commands, direct and through the daemon
  const probes = [['status'], ['log'], ['log', '-n', '2'], ['show', '2'], ['share'], ['writers', 'list']]
  const errors = [
    [['show', '99'], 'INVALID_POSITION'],
    [['status', '--chain', ids.encode(Buffer.alloc(32, 9))], 'UNKNOWN_CHAIN'],
    [['init'], 'CHAIN_EXISTS'],
    [['writers', 'remove', ids.encode(Buffer.alloc(32, 5))], 'NOT_A_MEMBER'],
    [['writers', 'remove', created.writerKey], 'LAST_INDEXER'],
  ]
  // one at a time: without a daemon, each command holds the storage lock while it runs
  const seq = async (list, fn) => { const out = []; for (const x of list) out.push(await fn(x)); return out }
  const run = async () => ({
    json: await seq(probes, (p) => cliJson(t, env, storage, p)),
    text: await seq(probes, (p) => cliOk(t, env, storage, p)),
    errors: await seq(errors, ([args]) => cli(t, env, storage, args)),
  })
  const direct = await run()

  const daemon = await startDaemon(t, env, storage)
  t.is(daemon.socket, path.join(storage, 'feedchain.sock'), 'ready line names the socket in the storage directory')
  t.ok(fs.statSync(daemon.socket).isSocket(), 'socket exists')
  t.is(fs.statSync(daemon.socket).mode & 0o777, 0o600, 'socket is private to the user')
  const via = await run()

  const [sd] = direct.json[0]
  const [sv] = via.json[0]
  t.alike(Object.keys(sv), Object.keys(sd), 'status --json has the same keys, in the same order')
  for (const k of ['key', 'name', 'writerKey', 'length', 'finalLength', 'pending', 'head', 'storage', 'chains', 'bans', 'halted']) t.alike(sv[k], sd[k], `status.${k} is the same`)
  t.alike(sv.writers.map((w) => Object.keys(w)), sd.writers.map((w) => Object.keys(w)), 'writer rows have the same shape')
  t.alike(sv.peers, [], 'no peers yet')
  for (let i = 1; i < probes.length; i++) t.alike(via.json[i], direct.json[i], `${probes[i].join(' ')} --json is identical`)
  for (let i = 1; i < probes.length; i++) t.is(via.text[i].stdout, direct.text[i].stdout, `${probes[i].join(' ')} text is identical`)
  for (const [i, [args, code]] of errors.entries()) {
    isError(t, via.errors[i], code, `${args.join(' ')} through the daemon`)
    t.is(via.errors[i].code, direct.errors[i].code, `${code}: same exit code`)
    t.is(via.errors[i].stderr, direct.errors[i].stderr, `${code}: same message`)
  }

  // a second daemon on the same storage
  const second = await cli(t, env, storage, ['daemon'])
  isError(t, second, 'STORE_LOCKED', 'a second daemon')
  t.is(second.code, 3)

  // log -f through the daemon: new entries arrive as they are appended
  const follow = spawnNode(t, [BIN, '--storage', storage, 'log', '-f', '-n', '1', '--json'], { env })
  await follow.waitFor('stdout', /\n/, 15_000, 'log -f to print the last entry') // then it is following
  const a1 = await cliJson(t, env, storage, ['append', 'live 1'])
  const a2 = await cliJson(t, env, storage, ['append', 'live 2'])
  t.is(a2[0].length, a1[0].length + 1, 'appends through the daemon')
  const m = await follow.waitFor('stdout', (s) => s.includes('"live 2"') ? s : null, 15_000, 'log -f to print the new entries')
  const followed = m.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  t.alike(followed.map((e) => e.data), ['\u001b[31mred', 'live 1', 'live 2'], 'log -f printed the last entry, then exactly the new ones, in order')
  t.ok(followed.every((e) => e.final), 'a solo chain\'s entries are final at once')
  follow.kill('SIGINT')
  const fr = await follow.exited
  t.is(fr.code, 130, 'log -f ends on Ctrl-C with 130')

  const stopped = await daemon.stop('SIGTERM')
  t.is(stopped.code, 0, 'the daemon exits 0 on SIGTERM')
  t.ok(/daemon stopped\n$/.test(daemon.err()), 'and says so')
  t.absent(fs.existsSync(daemon.socket), 'socket removed')
  const after = await statusOf(t, env, storage)
  t.is(after.length, sd.length + 2, 'the storage works without the daemon again')
})

test('daemon: init and join through it; a stale socket (daemon killed with -9) is ignored and removed', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const storage = path.join(tmpDir(t), 'fresh')
  const daemon = await startDaemon(t, env, storage)
  const [created] = await cliJson(t, env, storage, ['init', '--name', 'via daemon'])
  const [st] = await cliJson(t, env, storage, ['status'])
  t.is(st.key, created.key, 'init went through the daemon, which has the chain open')
  t.is(st.name, 'via daemon')

  daemon.kill('SIGKILL')
  await daemon.exited
  t.ok(fs.existsSync(daemon.socket), 'a daemon killed with -9 leaves its socket file')
  const r = await cliJson(t, env, storage, ['status'])
  t.is(r[0].key, created.key, 'status works directly past the stale socket')
  t.absent(fs.existsSync(daemon.socket), 'the stale socket was removed once the storage lock was held')

  // a stale socket is also no obstacle to a new daemon
  const again = await startDaemon(t, env, storage)
  again.kill('SIGKILL')
  await again.exited
  const restarted = await startDaemon(t, env, storage, { json: true })
  const [s2] = await cliJson(t, env, storage, ['status'])
  t.is(s2.key, created.key, 'a daemon starts over a stale socket and serves the chain')
  const ready = JSON.parse((await restarted.waitFor('stdout', /^.*"event":"ready".*$/m, 5000, 'the ready event'))[0])
  t.alike({ socket: ready.socket, chains: ready.chains }, { socket: restarted.socket, chains: [created.key] }, 'daemon --json prints a ready event with its socket and chains on stdout')
  t.is((await restarted.stop('SIGINT')).code, 0, 'Ctrl-C stops it with exit 0')
  t.absent(fs.existsSync(restarted.socket), 'and removes the socket')
})

test('sync and join without peers time out with TIMEOUT (exit 6), directly and through a daemon', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t)
  const storage = path.join(dir, 'alone')
  await cliOk(t, env, storage, ['init'])

  const direct = await cli(t, env, storage, ['sync', '--timeout', '1'])
  isError(t, direct, 'TIMEOUT', 'sync --timeout 1 with no peers')
  t.is(direct.code, 6, 'exit 6')
  t.ok(/no peer/.test(direct.stderr), 'says no peer was found')
  t.ok(direct.ms < 10_000, `gives up in time (${direct.ms} ms)`)

  const lonely = path.join(dir, 'joiner')
  const key = ids.encode(Buffer.alloc(32, 1))
  const j = await cli(t, env, lonely, ['join', key, '--timeout', '1'])
  isError(t, j, 'TIMEOUT', 'join of a chain nobody serves')
  t.ok(/followed/.test(j.stderr), 'says the chain stays followed')
  const [js] = await cliJson(t, env, lonely, ['status'])
  t.is(js.key, key, 'the joined chain is recorded in the storage')
  t.is(js.length, 0, 'with nothing synced yet')

  const daemon = await startDaemon(t, env, storage)
  const via = await cli(t, env, storage, ['sync', '--timeout', '1'])
  isError(t, via, 'TIMEOUT', 'sync --timeout 1 through a daemon without peers')
  t.is(via.code, 6, 'exit 6 through the daemon too')
  await daemon.stop()
})

test('without a daemon, join, sync and log -f run the network themselves', T, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t)
  const a = path.join(dir, 'a')
  const b = path.join(dir, 'b')
  const daemon = await startDaemon(t, env, a)
  const [created] = await cliJson(t, env, a, ['init', '--name', 'direct'])

  const [joined] = await cliJson(t, env, b, ['join', created.key, '--timeout', '20'])
  t.is(joined.caughtUp, true, 'join without a daemon caught up')
  t.is(joined.joined, true)
  t.is(joined.name, 'direct', 'the genesis arrived')
  t.absent(fs.existsSync(path.join(b, 'feedchain.sock')), 'no daemon on B')

  await cliOk(t, env, a, ['writers', 'add', joined.writerKey])
  const [s1] = await cliJson(t, env, b, ['sync', '--timeout', '20'])
  t.ok(s1.length >= 2, 'sync brought the membership entry')
  const [me] = await cliJson(t, env, b, ['status'])
  t.ok(me.isWriter, 'B knows it is a writer')
  await cliOk(t, env, b, ['append', 'written offline on B'])
  const [s2] = await cliJson(t, env, b, ['sync', '--timeout', '20'])
  t.is(s2.unsent, 0, 'sync returned once B\'s block was on a peer')
  const onA = await cliJson(t, env, a, ['log'])
  t.ok(onA.some((e) => e.data === 'written offline on B' && e.final), 'A has B\'s entry, final')

  const follow = spawnNode(t, [BIN, '--storage', b, 'log', '-f', '-n', '1', '--json'], { env })
  await follow.waitFor('stdout', /\n/, 15_000, 'log -f to print the last entry')
  await cliOk(t, env, a, ['append', 'live from A'])
  await follow.waitFor('stdout', /"live from A".*"final":true|"final":true.*"live from A"/, 20_000, 'B\'s log -f to receive A\'s entry over the network')
  t.pass('log -f without a daemon received a new entry from the network')
  follow.kill('SIGINT')
  t.is((await follow.exited).code, 130)
  await daemon.stop()
})
