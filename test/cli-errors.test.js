// Bad input: one line on stderr with a stable code, a non-zero exit, no stack trace, and nothing
// touched — syntactically invalid input is rejected before any storage is created or opened.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { DIST, initChain, isCliError, okJson, run, storagePath, tmpDir } from './helpers/cli.js'

const KEY = ids.encode(Buffer.alloc(32, 3))
const BAD_KEYS = {
  'z-base32 with a letter outside the alphabet': 'l' + KEY.slice(1),
  'z-base32 one character short': KEY.slice(1),
  'hex with a non-hex digit': 'g' + 'a'.repeat(63),
  'hex one digit short': 'a'.repeat(63),
  'garbage': 'not-a-key',
}

test('cli: syntactically invalid input is rejected before storage is created', async (t) => {
  const storage = storagePath(t)
  const cases = []
  for (const [what, bad] of Object.entries(BAD_KEYS)) {
    cases.push([['writers', 'add', bad], 'INVALID_KEY', `writers add: ${what}`])
    cases.push([['log', '--chain', bad], 'INVALID_KEY', `--chain: ${what}`])
  }
  cases.push([['writers', 'remove', 'abc'], 'INVALID_KEY', 'writers remove: short key'])
  cases.push([['append', ''], 'EMPTY_ENTRY', 'empty entry'])
  // 10 arguments of 110 KiB: each fits the kernel's per-argument limit, together over 1 MiB
  cases.push([['append', ...Array.from({ length: 10 }, () => 'z'.repeat(110 * 1024))], 'ENTRY_TOO_LARGE', 'entry over 1 MiB'])
  cases.push([['log', '-n', '-5'], 'INVALID_NUMBER', 'negative -n'])
  cases.push([['log', '-n', 'abc'], 'INVALID_NUMBER', 'non-number -n'])
  cases.push([['log', '-n', '2.5'], 'INVALID_NUMBER', 'fractional -n'])
  cases.push([['log', '-n'], 'USAGE', '-n without a value'])
  cases.push([['show', 'abc'], 'INVALID_NUMBER', 'show of a non-number'])
  cases.push([['show'], 'USAGE', 'show without a position'])
  cases.push([['init', '--name', ''], 'INVALID_ARGUMENT', 'empty name'])
  cases.push([['lgo'], 'USAGE', 'unknown command'])
  cases.push([['log', '--bogus'], 'USAGE', 'unknown option'])
  cases.push([['log', 'extra'], 'USAGE', 'extra argument'])
  cases.push([['writers', 'frob'], 'USAGE', 'unknown subcommand'])
  const results = await inBatches(cases.map(([args]) => () => run(t, args, { storage })), 4)
  for (const [i, [, code, what]] of cases.entries()) {
    const r = results[i]
    isCliError(t, r, code, what)
    t.ok(r.code === 2, `${what}: exit 2 (got ${r.code})`)
  }
  t.absent(fs.existsSync(storage), 'no storage was created')
})

test('cli: storage errors', async (t) => {
  const dir = tmpDir(t)
  const missing = path.join(dir, 'missing')
  const file = path.join(dir, 'a-file')
  fs.writeFileSync(file, 'not a directory')
  const empty = path.join(dir, 'empty')
  fs.mkdirSync(empty)

  const results = await inBatches([
    () => run(t, ['log'], { storage: missing }),
    () => run(t, ['append', 'x'], { storage: missing }),
    () => run(t, ['status'], { storage: empty }),
    () => run(t, ['log'], { storage: file }),
    () => run(t, ['init'], { storage: file }),
  ], 4)
  isCliError(t, results[0], 'STORAGE_MISSING', 'log on a missing storage')
  isCliError(t, results[1], 'STORAGE_MISSING', 'append on a missing storage')
  isCliError(t, results[2], 'STORAGE_MISSING', 'status on a directory without storage')
  isCliError(t, results[3], 'STORAGE_NOT_DIRECTORY', 'log on a file')
  isCliError(t, results[4], 'STORAGE_NOT_DIRECTORY', 'init on a file')
  t.absent(fs.existsSync(missing), 'the missing storage was not created')
  t.alike(fs.readdirSync(empty), [], 'the empty directory was not touched')
  t.is(fs.readFileSync(file, 'utf8'), 'not a directory', 'the file was not touched')

  // a storage that holds no chain yet
  const { Storage } = await import(path.join(DIST, 'storage.js'))
  const bare = path.join(dir, 'bare')
  await (await Storage.open(bare, { create: true })).close()
  isCliError(t, await run(t, ['log'], { storage: bare }), 'NO_CHAIN', 'a storage without a chain')
})

test('cli: chain errors leave the chain as it was', async (t) => {
  const { storage } = await initChain(t)
  const [before] = await okJson(t, ['status'], { storage })
  const results = await inBatches([
    () => run(t, ['log', '--chain', KEY], { storage }),
    () => run(t, ['append', '--chain', KEY, 'x'], { storage }),
    () => run(t, ['show', '1'], { storage }),
    () => run(t, ['show', '99999'], { storage }),
    () => run(t, ['writers', 'remove', before.writerKey], { storage }),
  ], 1) // one at a time: they share one storage, and a storage has one process at a time
  isCliError(t, results[0], 'UNKNOWN_CHAIN', 'log --chain of a chain not in the storage')
  isCliError(t, results[1], 'UNKNOWN_CHAIN', 'append --chain of a chain not in the storage')
  isCliError(t, results[2], 'INVALID_POSITION', 'show past the end')
  isCliError(t, results[3], 'INVALID_POSITION', 'show far past the end')
  isCliError(t, results[4], 'LAST_INDEXER', 'removing the last indexer')
  const [after] = await okJson(t, ['status'], { storage })
  t.alike({ length: after.length, head: after.head }, { length: before.length, head: before.head }, 'chain unchanged')
})

test('cli: a second process on a locked store fails fast with STORE_LOCKED', async (t) => {
  const { storage } = await initChain(t)
  const { Storage } = await import(path.join(DIST, 'storage.js'))
  const held = await Storage.open(storage)
  let closed = false
  t.teardown(async () => { if (!closed) await held.close() })
  const [log, app] = await Promise.all([run(t, ['log'], { storage }), run(t, ['append', 'x'], { storage })])
  isCliError(t, log, 'STORE_LOCKED', 'log on a locked store')
  isCliError(t, app, 'STORE_LOCKED', 'append on a locked store')
  t.is(log.code, 3, 'storage errors exit 3')
  t.ok(log.ms < 10_000 && app.ms < 10_000, `fails fast (${log.ms} ms, ${app.ms} ms)`)
  await held.close()
  closed = true
  const entries = await okJson(t, ['log'], { storage })
  t.is(entries.length, 1, 'nothing was appended')
})

async function inBatches (fns, width) {
  const out = new Array(fns.length)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < fns.length) {
      const i = next++
      out[i] = await fns[i]()
    }
  }))
  return out
}
