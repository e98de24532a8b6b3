// Bad input, one table: every row runs the real bin/feedchain.js in a child process and must
// exit non-zero with the exit code of its error code's class (src/errors.ts, src/cli/exit.ts),
// print exactly one line `feedchain: … [CODE]` on stderr and no stack trace, and — when the
// input is syntactically invalid — create no storage. Rows that need state get it from a
// fixture: a chain, a file where a directory belongs, a store held by another process, a stale
// daemon socket (a daemon killed with -9), a running daemon. All on a local loopback testnet.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { isCliError } from './helpers/cli.js'
import { DIST, cli, cliJson, childEnv, localTestnet, spawnNode, startDaemon, tmpDir } from './helpers/proc.js'

const { ERROR_CODES } = await import(path.join(DIST, 'errors.js'))
const { discoveryKey } = await import(path.join(DIST, 'feed', 'keys.js'))

/** Rows run this many at a time (rows on one storage run one after another). */
const WIDTH = 4

const KEY = ids.encode(Buffer.alloc(32, 3)) // well-formed, and no storage here follows it
const HEX = Buffer.alloc(32, 3).toString('hex')
const MIB = 1024 * 1024

/**
 * The table. Each row: `argv` (or a function of the fixtures `f`), the storage it runs on
 * (`on`: 'fresh' — a path that does not exist, checked to still not exist afterwards — or a
 * fixture name), the expected `code` and `exit`, `createsNothing` for syntactically invalid
 * input, and optionally `input` (stdin), `env` (extra environment) and `check(t, f)`.
 */
const ROWS = [
  // malformed keys, z-base32 and hex
  { what: 'writers add: z-base32 with a letter outside the alphabet', argv: ['writers', 'add', 'l' + KEY.slice(1)], code: 'INVALID_KEY' },
  { what: 'writers add: z-base32 one character short', argv: ['writers', 'add', KEY.slice(1)], code: 'INVALID_KEY' },
  { what: 'writers add: hex with a non-hex digit', argv: ['writers', 'add', 'g' + HEX.slice(1)], code: 'INVALID_KEY' },
  { what: 'writers add: hex one digit short', argv: ['writers', 'add', HEX.slice(1)], code: 'INVALID_KEY' },
  { what: 'writers remove: garbage', argv: ['writers', 'remove', 'not-a-key'], code: 'INVALID_KEY' },
  { what: 'join: hex one digit too long', argv: ['join', HEX + 'a'], code: 'INVALID_KEY' },
  { what: 'join: an empty key', argv: ['join', ''], code: 'INVALID_KEY' },
  { what: 'log --chain: z-base32 with a letter outside the alphabet', argv: ['log', '--chain', KEY.slice(0, -1) + '0'], code: 'INVALID_KEY' },
  { what: 'status --chain: garbage', argv: ['status', '--chain', 'abc'], code: 'INVALID_KEY' },
  { what: 'append --chain: hex with a non-hex digit', argv: ['append', '--chain', HEX.slice(0, -1) + 'z', 'x'], code: 'INVALID_KEY' },

  // empty or oversized entries
  { what: 'append: an empty entry', argv: ['append', ''], code: 'EMPTY_ENTRY' },
  // 10 arguments of 110 KiB: each fits the kernel's per-argument limit, together over 1 MiB
  { what: 'append: an entry over 1 MiB', argv: ['append', ...Array.from({ length: 10 }, () => 'z'.repeat(110 * 1024))], code: 'ENTRY_TOO_LARGE' },
  { what: 'append -: stdin empty', on: 'chain', argv: ['append', '-'], input: '', code: 'EMPTY_ENTRY' },
  { what: 'append -: every line empty', on: 'chain', argv: ['append', '-'], input: '\n\r\n\n', code: 'EMPTY_ENTRY' },
  { what: 'append -: a line over 1 MiB', on: 'chain', argv: ['append', '-'], input: 'x'.repeat(MIB + 10) + '\n', code: 'ENTRY_TOO_LARGE' },
  { what: 'init: an empty --name', argv: ['init', '--name', ''], code: 'INVALID_ARGUMENT' },
  { what: 'init: a --name over 256 bytes', argv: ['init', '--name', 'ü'.repeat(129)], code: 'INVALID_ARGUMENT' },

  // bad numbers
  { what: 'log -n: negative', argv: ['log', '-n', '-5'], code: 'INVALID_NUMBER' },
  { what: 'log -n: not a number', argv: ['log', '-n', 'abc'], code: 'INVALID_NUMBER' },
  { what: 'log -n: fractional', argv: ['log', '-n', '2.5'], code: 'INVALID_NUMBER' },
  { what: 'log -n: hex', argv: ['log', '-n', '0x10'], code: 'INVALID_NUMBER' },
  { what: 'log -n: beyond 2^53', argv: ['log', '-n', '99999999999999999999'], code: 'INVALID_NUMBER' },
  { what: 'log -n: empty', argv: ['log', '-n', ''], code: 'INVALID_NUMBER' },
  { what: 'log -n: no value', argv: ['log', '-n'], code: 'USAGE' },
  { what: 'show: a negative position', argv: ['show', '-1'], code: 'INVALID_NUMBER' },
  { what: 'show: no position', argv: ['show'], code: 'USAGE' },
  { what: 'sync --timeout: zero', argv: ['sync', '--timeout', '0'], code: 'INVALID_NUMBER' },
  { what: 'join --timeout: not a number', argv: ['join', KEY, '--timeout', 'soon'], code: 'INVALID_NUMBER' },
  { what: 'get --timeout: exponent notation', argv: ['get', 'abc123', '--timeout', '1e3'], code: 'INVALID_NUMBER' },

  // usage: unknown names, extra arguments, conflicting flags
  { what: 'an unknown command', argv: ['lgo'], code: 'USAGE' },
  { what: 'an unknown option', argv: ['log', '--bogus'], code: 'USAGE' },
  { what: 'an extra argument', argv: ['log', 'extra'], code: 'USAGE' },
  { what: 'an unknown subcommand', argv: ['writers', 'frob'], code: 'USAGE' },
  { what: 'conflicting flags: join --no-wait --timeout', argv: ['join', KEY, '--no-wait', '--timeout', '5'], code: 'USAGE' },
  { what: 'send - without --name', argv: ['send', '-'], code: 'USAGE' },
  { what: 'completion for an unknown shell', argv: ['completion', 'tcsh'], code: 'USAGE' },

  // network settings
  { what: '--bootstrap without a port', argv: ['--bootstrap', 'nope', 'sync'], code: 'INVALID_ARGUMENT' },
  { what: '--host not IPv4', argv: ['--host', '::1', 'log', '-f'], code: 'INVALID_ARGUMENT' },

  // missing or wrong paths
  { what: '--storage empty', argv: ['--storage', '', 'log'], storageFlag: false, code: 'INVALID_ARGUMENT' },
  { what: 'send: a missing file', argv: (f) => ['send', path.join(f.dir, 'no-such-file')], code: 'INVALID_ARGUMENT' },
  { what: 'send: a directory', argv: (f) => ['send', f.dir], code: 'INVALID_ARGUMENT' },
  { what: 'get -o: into a missing directory', argv: (f) => ['get', 'abc123', '-o', path.join(f.dir, 'missing', 'out.bin')], code: 'INVALID_ARGUMENT' },
  { what: 'log: a storage that does not exist', argv: ['log'], code: 'STORAGE_MISSING', createsNothing: false },
  { what: 'append: a storage that does not exist', argv: ['append', 'x'], code: 'STORAGE_MISSING', createsNothing: false },
  { what: 'status: an empty directory as storage', on: 'emptyDir', argv: ['status'], code: 'STORAGE_MISSING' },
  { what: 'log: a file as storage', on: 'file', argv: ['log'], code: 'STORAGE_NOT_DIRECTORY' },
  { what: 'init: a file as storage', on: 'file', argv: ['init'], code: 'STORAGE_NOT_DIRECTORY' },
  { what: 'FEEDCHAIN_STORAGE naming a file', on: 'file', storageFlag: false, env: (f) => ({ FEEDCHAIN_STORAGE: f.file.storage }), argv: ['status'], code: 'STORAGE_NOT_DIRECTORY' },
  { what: 'a storage without a chain', on: 'bare', argv: ['log'], code: 'NO_CHAIN' },

  // a chain that is not there, a discovery key for a chain key, positions, membership
  { what: 'log --chain: a chain the storage does not follow', on: 'chain', argv: ['log', '--chain', KEY], code: 'UNKNOWN_CHAIN' },
  { what: 'append --chain: a chain the storage does not follow', on: 'chain', argv: ['append', '--chain', KEY, 'x'], code: 'UNKNOWN_CHAIN' },
  { what: 'log --chain: the discovery key (hex, as status --json prints it)', on: 'chain', argv: (f) => ['log', '--chain', f.chain.discoveryKey], code: 'DISCOVERY_KEY_GIVEN' },
  { what: 'join: the discovery key of the chain', on: 'chain', argv: (f) => ['join', f.chain.discoveryKey, '--timeout', '3'], code: 'DISCOVERY_KEY_GIVEN' },
  { what: 'show: just past the end', on: 'chain', argv: ['show', '1'], code: 'INVALID_POSITION' },
  { what: 'show: far past the end', on: 'chain', argv: ['show', '99999'], code: 'INVALID_POSITION' },
  { what: 'show: not a number', argv: ['show', 'abc'], code: 'INVALID_NUMBER' },
  { what: 'init: the storage already has a chain', on: 'chain', argv: ['init'], code: 'CHAIN_EXISTS' },
  { what: 'writers remove: the last indexer', on: 'chain', argv: (f) => ['writers', 'remove', f.chain.writerKey], code: 'LAST_INDEXER' },
  { what: 'writers add: already a writer', on: 'chain', argv: (f) => ['writers', 'add', f.chain.writerKey], code: 'ALREADY_WRITER' },
  { what: 'writers remove: not a member', on: 'chain', argv: ['writers', 'remove', KEY], code: 'NOT_A_MEMBER' },

  // other processes: a store held by another process, a stale daemon socket, a running daemon
  { what: 'append: the store is locked by another process', on: 'locked', argv: ['append', 'x'], code: 'STORE_LOCKED', fast: true },
  { what: 'log: the store is locked by another process', on: 'locked', argv: ['log'], code: 'STORE_LOCKED', fast: true },
  { what: 'status: a stale daemon socket and the store locked by another process', on: 'staleLocked', argv: ['status'], code: 'STORE_LOCKED', fast: true },
  {
    what: 'show: a stale daemon socket (daemon killed with -9) is passed over, the error is the command\'s own',
    on: 'stale',
    argv: ['show', '99999'],
    code: 'INVALID_POSITION',
    check: (t, f) => t.absent(fs.existsSync(f.stale.socket), 'the stale socket was removed'),
  },
  { what: 'daemon: one already runs on the storage', on: 'daemon', argv: ['daemon'], code: 'STORE_LOCKED' },
  { what: 'show through the daemon: past the end', on: 'daemon', argv: ['show', '99999'], code: 'INVALID_POSITION' },
  { what: 'writers remove through the daemon: the last indexer', on: 'daemon', argv: (f) => ['writers', 'remove', f.daemon.writerKey], code: 'LAST_INDEXER' },
]

test('cli bad input: every row exits with its code\'s exit code, one line `feedchain: … [CODE]`, no stack trace, no storage for invalid syntax', { timeout: 120_000 }, async (t) => {
  const t0 = Date.now()
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const f = await fixtures(t, env)
  t.ok(ROWS.length >= 30, `${ROWS.length} rows`)
  const [before] = await cliJson(t, env, f.chain.storage, ['status'])

  // one lane per storage: rows on a shared fixture run in order, lanes run side by side
  const lanes = new Map()
  for (const [i, row] of ROWS.entries()) {
    const on = row.on ?? 'fresh'
    const storage = on === 'fresh' ? path.join(f.dir, `fresh-${i}`) : f[on].storage
    const lane = on === 'fresh' ? `fresh-${i}` : on
    if (!lanes.has(lane)) lanes.set(lane, [])
    lanes.get(lane).push({ row, storage })
  }
  const results = new Map()
  await inParallel([...lanes.values()].map((lane) => async () => {
    for (const { row, storage } of lane) {
      const argv = typeof row.argv === 'function' ? row.argv(f) : row.argv
      const extra = typeof row.env === 'function' ? row.env(f) : (row.env ?? {})
      const r = await cli(t, { ...env, ...extra }, row.storageFlag === false ? null : storage, argv, { input: row.input ?? '', timeout: 30_000 })
      results.set(row, { r, storage })
    }
  }), WIDTH)

  for (const row of ROWS) {
    const { r, storage } = results.get(row)
    const what = row.what
    isCliError(t, r, row.code, what)
    t.is(r.code, ERROR_CODES[row.code][0], `${what}: exit ${ERROR_CODES[row.code][0]}, the exit code of ${row.code}`)
    t.absent(/^\s+at /m.test(r.stderr), `${what}: no stack frame on stderr`)
    if (row.fast) t.ok(r.ms < 10_000, `${what}: fails fast (${r.ms} ms)`)
    // a 'fresh' row runs on a path that does not exist: syntactically invalid input (and a
    // command on a missing storage) must leave it so
    if ((row.on ?? 'fresh') === 'fresh') t.absent(fs.existsSync(storage), `${what}: ${row.createsNothing === false ? 'the missing storage was not created' : 'no storage created'}`)
    if (row.check) row.check(t, f)
  }
  t.is(fs.readFileSync(f.file.storage, 'utf8'), 'not a directory', 'the file used as storage is untouched')
  t.alike(fs.readdirSync(f.emptyDir.storage), [], 'the empty directory used as storage is untouched')

  const [after] = await cliJson(t, env, f.chain.storage, ['status'])
  t.alike({ length: after.length, head: after.head, writers: after.writers.length }, { length: before.length, head: before.head, writers: before.writers.length }, 'the chain is as it was: no bad input changed it')
  t.comment(`cli-bad-input: ${ROWS.length} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
})

/**
 * The storages rows run on: a temp dir with a file and an empty directory, a chain, a bare
 * storage (no chain), a chain whose store another process holds, one with a stale daemon
 * socket (and one that is also held), one with a running daemon.
 */
async function fixtures (t, env) {
  const dir = tmpDir(t, 'feedchain-bad-input-')
  const f = { dir }
  f.file = { storage: path.join(dir, 'a-file') }
  fs.writeFileSync(f.file.storage, 'not a directory')
  f.emptyDir = { storage: path.join(dir, 'empty') }
  fs.mkdirSync(f.emptyDir.storage)

  const { Storage } = await import(path.join(DIST, 'storage.js'))
  f.bare = { storage: path.join(dir, 'bare') }
  await (await Storage.open(f.bare.storage, { create: true })).close()

  const names = ['chain', 'locked', 'stale', 'staleLocked', 'daemon']
  await Promise.all(names.map(async (name) => {
    const storage = path.join(dir, name)
    const [rec] = await cliJson(t, env, storage, ['init', '--name', name])
    f[name] = { storage, key: rec.key, writerKey: rec.writerKey, discoveryKey: discoveryKey(ids.decode(rec.key)).toString('hex') }
  }))
  await Promise.all([
    holdStore(t, env, f.locked.storage),
    (async () => { f.stale.socket = await staleSocket(t, env, f.stale.storage) })(),
    (async () => {
      f.staleLocked.socket = await staleSocket(t, env, f.staleLocked.storage)
      await holdStore(t, env, f.staleLocked.storage)
    })(),
    startDaemon(t, env, f.daemon.storage),
  ])
  return f
}

/** A child process that opens the store and keeps it open (killed at teardown, by its PID). */
async function holdStore (t, env, storage) {
  const script = `const { Storage } = await import(${JSON.stringify(path.join(DIST, 'storage.js'))});
const s = await Storage.open(process.argv[1]);
process.stdout.write('held\\n');
setInterval(() => {}, 1 << 30);`
  const p = spawnNode(t, ['--input-type=module', '-e', script, storage], { env, keepStdin: true })
  await p.waitFor('stdout', /held\n/, 20_000, `a process holding ${storage}`)
  return p
}

/** Start a daemon on `storage`, kill it with -9: its socket file stays, nobody listening. Returns the socket path. */
async function staleSocket (t, env, storage) {
  const d = await startDaemon(t, env, storage)
  d.kill('SIGKILL')
  await d.exited
  if (!fs.lstatSync(d.socket).isSocket()) throw new Error('the killed daemon left no socket file')
  return d.socket
}

async function inParallel (fns, width) {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < fns.length) await fns[next++]()
  }))
}
