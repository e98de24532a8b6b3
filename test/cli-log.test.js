// `feedchain log` filters: --writer (key, hex, prefix), --since (position, ISO time, age),
// --type, --final, --format json; how they compose with -n (the last N *matching* entries) and
// -f; bad values with their codes; and the same answers through a daemon. The chain is built
// with the library (two indexers, entries of every type, a time gap, one entry left pending),
// then every filtered output is checked against the unfiltered `log --json` filtered here.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { DIST, isCliError, ok, okJson, run, storagePath, tmpDir } from './helpers/cli.js'
import { cli, cliJson, childEnv, localTestnet, spawnNode, startDaemon, BIN } from './helpers/proc.js'
import { waitFor } from './helpers/wait.js'

const { ChainNode, Storage, discoveryKey } = await import(path.join(DIST, 'index.js'))
const { ChainFiles } = await import(path.join(DIST, 'files', 'chain-files.js'))
const { sinceArg, typesArg, writerArg, resolveWriter, formatArg } = await import(path.join(DIST, 'cli', 'filters.js'))

/**
 * A (creator) and B, both indexers, replicating in process: A appends, B appends a batch of 1,500
 * (two blocks) and one more, A sends a file; then, after `gapAt`, A appends two entries; then B
 * goes away and A appends one more, which stays pending. Returns the storage of A and the keys.
 */
async function buildChain (t) {
  const dirA = storagePath(t, 'a')
  const dirB = storagePath(t, 'b')
  const sa = await Storage.open(dirA, { create: true })
  const sb = await Storage.open(dirB, { create: true })
  const a = new ChainNode(sa.store, { name: 'filters', flushDelay: 20 })
  let b = null
  let files = null
  let closed = false
  const closeAll = async () => {
    if (closed) return
    closed = true
    if (files !== null) await files.close()
    if (b !== null) await b.close()
    await a.close()
    await sb.close()
    await sa.close()
  }
  t.teardown(closeAll)
  await a.ready()
  await sa.addChain({ key: a.key.toString('hex'), name: a.name, addedAt: Date.now(), creator: true })
  b = new ChainNode(sb.store, { key: a.key, flushDelay: 20 })
  await b.ready()
  const keys = { a: Buffer.from(a.writerKey), b: Buffer.from(b.writerKey), chain: Buffer.from(a.key) }
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
  const settled = (what) => waitFor([a, b], () => {
    const x = a.status()
    const y = b.status()
    return x.pending === 0 && y.pending === 0 && x.finalLength === y.finalLength && x.head === y.head
  }, { ms: 20_000, what })

  await a.addWriter(b.writerKey, { indexer: true })
  await waitFor([a, b], () => a.status().writers.some((w) => !w.self && w.indexer) && b.status().isIndexer, { ms: 20_000, what: 'b became an indexer' })
  await a.append(['a1', 'a2'])
  await b.append(Array.from({ length: 1500 }, (_, i) => 'b' + i))
  await b.append('b-last')
  await settled('both agree after the appends')
  const src = path.join(tmpDir(t), 'notes.txt')
  fs.writeFileSync(src, 'file contents\n'.repeat(100))
  files = new ChainFiles(a)
  await files.send(src)
  await settled('the file entry is final')

  // a time gap: every block written from here on carries a time >= gapAt
  const gapAt = Date.now() + 2
  while (Date.now() < gapAt) await new Promise((resolve) => setImmediate(resolve)) // the wall clock has to move on, nothing else
  await a.append(['late1', 'late2'])
  await settled('the late entries are final')
  s1.destroy()
  s2.destroy()
  await files.close()
  files = null
  await b.close()
  b = null
  const r = await a.append('pending1')
  t.is(r.length - r.finalLength, 1, 'one entry waits for the absent indexer')
  await closeAll()
  return { storage: dirA, keys, gapAt }
}

test('log filters: --writer, --since, --type, --final, --format and -n, against the unfiltered log', async (t) => {
  const built = await buildChain(t)
  const { storage, keys, gapAt } = built
  const all = await okJson(t, ['log'], { storage })
  const zA = ids.encode(keys.a)
  const zB = ids.encode(keys.b)
  t.ok(all.length > 1500, `the chain has ${all.length} entries`)
  t.ok(all.some((e) => e.writer === zB) && all.some((e) => e.writer === zA), 'both writers have entries')
  t.is(all.filter((e) => !e.final).length, 1, 'one pending entry')

  const json = async (args) => okJson(t, ['log', ...args], { storage })
  const ids2 = (list) => list.map((e) => `${e.position}:${e.writer}:${e.seq}:${e.index}:${e.final}`)
  const same = (got, want, msg) => t.alike(ids2(got), ids2(want), msg)

  // --writer: full key (z-base32, hex), unique prefix (z-base32, hex)
  const ofB = all.filter((e) => e.writer === zB)
  same(await json(['--writer', zB]), ofB, '--writer <z-base32 key>: exactly B\'s entries')
  same(await json(['--writer', keys.b.toString('hex')]), ofB, '--writer <hex key>')
  same(await json(['--writer', uniquePrefix(zB, zA)]), ofB, '--writer <z-base32 prefix>')
  same(await json(['--writer', uniquePrefix(keys.b.toString('hex'), keys.a.toString('hex'))]), ofB, '--writer <hex prefix>')
  same(await json(['--writer', zA]), all.filter((e) => e.writer === zA), '--writer A (the creator)')
  same(await json(['--writer', zB, '-n', '5']), ofB.slice(-5), '-n counts matching entries: B\'s last 5')
  t.ok(ofB.slice(-5).every((e) => e.data !== null && /^b/.test(e.data)), 'B\'s last entries are its data')

  // --type
  same(await json(['--type', 'file']), all.filter((e) => e.type === 'file'), '--type file')
  const [file] = await json(['--type', 'file'])
  t.is(file.value.name, 'notes.txt', 'the file entry carries its descriptor')
  same(await json(['--type', 'membership,join']), all.filter((e) => e.type === 'membership' || e.type === 'join'), '--type membership,join')
  same(await json(['--type', 'genesis']), all.slice(0, 1), '--type genesis: position 0')
  same(await json(['--type', 'data', '-n', '3']), all.filter((e) => e.type === 'data').slice(-3), '--type data -n 3')

  // --since: a position, an ISO time, an age
  const mid = all[Math.floor(all.length / 2)].position
  same(await json(['--since', String(mid)]), all.filter((e) => e.position >= mid), '--since <position>')
  same(await json(['--since', String(mid), '-n', '4']), all.slice(-4), '--since <position> -n 4')
  same(await json(['--since', String(all.length + 10)]), [], '--since past the end: nothing')
  const late = all.filter((e) => e.time >= gapAt)
  t.alike(late.map((e) => e.data), ['late1', 'late2', 'pending1'], 'the oracle: three entries after the gap')
  same(await json(['--since', new Date(gapAt).toISOString()]), late, '--since <ISO time, UTC>')
  same(await json(['--since', localIso(gapAt)]), late, '--since <ISO time, local, no zone>')
  same(await json(['--since', '1h']), all, '--since 1h: everything (written just now)')
  same(await json(['--since', new Date(Date.now() + 3_600_000).toISOString()]), [], '--since in the future: nothing')

  // --final
  same(await json(['--final']), all.filter((e) => e.final), '--final: no pending entry')
  same(await json(['--final', '-n', '2']), all.filter((e) => e.final).slice(-2), '--final -n 2: the last final ones')

  // everything at once
  const combo = all.filter((e) => e.writer === zA && e.type === 'data' && e.position >= 2 && e.final).slice(-2)
  same(await json(['--writer', zA.slice(0, 20), '--type', 'data', '--since', '2', '--final', '-n', '2']), combo, 'writer + type + since + final + -n compose')
  t.alike(combo.map((e) => e.data), ['late1', 'late2'])

  // --format json is --json, byte for byte; text marks pending entries
  const viaFormat = await ok(t, ['log', '--format', 'json', '--writer', zB, '-n', '3'], { storage })
  const viaJson = await ok(t, ['log', '--json', '--writer', zB, '-n', '3'], { storage })
  t.is(viaFormat.stdout, viaJson.stdout, '--format json prints exactly what --json prints')
  const both = await ok(t, ['log', '--format', 'json', '--json', '-n', '1'], { storage })
  t.is(both.stdout.split('\n').filter(Boolean).length, 1, '--format json with --json agree')
  const text = await ok(t, ['log', '--since', String(all.length - 3), '--format', 'text'], { storage })
  const lines = text.stdout.trimEnd().split('\n')
  t.is(lines.length, 3)
  t.ok(/^\s*\d+ ~ .*pending1$/.test(lines.at(-1)), 'a pending entry is marked ~ in text')
  t.ok(/^\s*\d+ ✓ .*late2$/.test(lines.at(-2)), 'a final one ✓')
  const none = await ok(t, ['log', '--type', 'join', '--writer', zA], { storage })
  t.is(none.stdout, '', 'nothing matches: nothing on stdout')
  t.ok(none.stderr.includes('no entries match'), 'and a note on stderr')
})

test('log filters: bad values give one line with a stable code', async (t) => {
  const { storage, keys } = await buildChain(t)
  const missing = path.join(tmpDir(t), 'nothing-here')
  const zB = ids.encode(keys.b)
  // syntax errors are found before any storage is opened (a storage that does not exist proves it)
  const pure = [
    [['--type', 'foo'], 'INVALID_ARGUMENT'],
    [['--type', ','], 'INVALID_ARGUMENT'],
    [['--since', 'yesterday'], 'INVALID_ARGUMENT'],
    [['--since', '2026-13-01'], 'INVALID_ARGUMENT'],
    [['--since', '2026-02-30'], 'INVALID_ARGUMENT'],
    [['--since', '2026-11-23T25:00'], 'INVALID_ARGUMENT'],
    [['--since', '-5'], 'INVALID_ARGUMENT'],
    [['--since', '99999999999999999999'], 'INVALID_NUMBER'],
    [['--format', 'xml'], 'INVALID_ARGUMENT'],
    [['--format', 'text', '--json'], 'USAGE'],
    [['--writer', 'zz!'], 'INVALID_KEY'],
    [['--writer', 'y'.repeat(53)], 'INVALID_KEY'],
    [['--writer', '0'.repeat(52)], 'INVALID_KEY'],
    [['-n', 'ten', '--writer', zB], 'INVALID_NUMBER'],
  ]
  for (const [args, code] of pure) {
    const r = await run(t, ['log', ...args], { storage: missing })
    isCliError(t, r, code, `log ${args.join(' ')}`)
    t.absent(fs.existsSync(missing), 'no storage created')
  }
  // a well-formed writer that is not one of the chain's writers
  const stranger = Buffer.alloc(32, 7)
  const semantic = [
    [['--writer', ids.encode(stranger)], 'NOT_A_MEMBER'],
    [['--writer', 'xxxxxxxxxx'], 'NOT_A_MEMBER'],
    [['--writer', discoveryKey(keys.b).toString('hex')], 'DISCOVERY_KEY_GIVEN'],
    [['--writer', ids.encode(discoveryKey(keys.chain))], 'DISCOVERY_KEY_GIVEN'],
  ]
  for (const [args, code] of semantic) isCliError(t, await run(t, ['log', ...args], { storage }), code, `log ${args.join(' ')}`)
})

test('log filters: the parsers (pure)', async (t) => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0)
  t.alike(sinceArg('0'), { position: 0 })
  t.alike(sinceArg(' 42 '), { position: 42 })
  t.alike(sinceArg('10m', now), { time: now - 600_000 })
  t.alike(sinceArg('2h', now), { time: now - 7_200_000 })
  t.alike(sinceArg('3d', now), { time: now - 3 * 86_400_000 })
  t.alike(sinceArg('1w', now), { time: now - 604_800_000 })
  t.alike(sinceArg('1.5h', now), { time: now - 5_400_000 })
  t.alike(sinceArg('2026-11-23T10:00:00Z'), { time: Date.UTC(2026, 10, 23, 10) })
  t.alike(sinceArg('2026-11-23T10:00Z'), { time: Date.UTC(2026, 10, 23, 10) })
  t.alike(sinceArg('2026-11-23T12:30:00+02:00'), { time: Date.UTC(2026, 10, 23, 10, 30) })
  t.alike(sinceArg('2026-11-23T12:30:00.250-0130'), { time: Date.UTC(2026, 10, 23, 14, 0, 0, 250) })
  t.alike(sinceArg('2026-11-23'), { time: new Date(2026, 10, 23).getTime() }, 'a date alone is local midnight')
  t.alike(sinceArg('2026-11-23 14:05'), { time: new Date(2026, 10, 23, 14, 5).getTime() }, 'a space instead of T, local time')
  t.alike(sinceArg('2024-02-29'), { time: new Date(2024, 1, 29).getTime() }, 'a leap day')
  for (const bad of ['', 'now', '2023-02-29', '2026-11-23T10', '2026-11-23T10:00:61', '2026-11-23T10:00+15:00', '10 m', '5y', '-1h', '1e3']) {
    t.exception(() => sinceArg(bad, now), /--since/, `--since ${JSON.stringify(bad)} is rejected`)
  }
  t.alike(typesArg('data'), ['data'])
  t.alike(typesArg('Data, FILE,data'), ['data', 'file'], 'case-insensitive, deduplicated')
  t.exception(() => typesArg('ack'), /unknown entry type/)
  t.alike(formatArg({}), false)
  t.alike(formatArg({ json: true }), true)
  t.alike(formatArg({ format: 'json' }), true)
  t.alike(formatArg({ format: 'JSON', json: true }), true)
  t.exception(() => formatArg({ format: 'text', json: true }), /contradict/)

  // writer prefixes resolve against the chain's writers; a prefix of two is ambiguous
  const k1 = Buffer.alloc(32, 0xaa)
  const k2 = Buffer.from(k1)
  k2[31] = 0xab // the z-base32 keys differ in their last characters only
  const writers = [{ key: ids.encode(k1) }, { key: ids.encode(k2) }]
  const chain = Buffer.alloc(32, 1)
  t.alike(resolveWriter(writerArg(ids.encode(k2)), writers, chain), k2, 'a whole key')
  const common = commonPrefix(ids.encode(k1), ids.encode(k2))
  t.ok(common.length >= 40, 'the two keys share a long prefix')
  t.alike(resolveWriter(writerArg(ids.encode(k1).slice(0, common.length + 1)), writers, chain), k1, 'a prefix long enough to be unique')
  t.alike(resolveWriter(writerArg(k2.toString('hex').toUpperCase()), writers, chain), k2, 'a hex key in capitals')
  const ambiguous = thrown(() => resolveWriter(writerArg(common.slice(0, 8)), writers, chain))
  t.is(ambiguous?.code, 'INVALID_ARGUMENT', 'an ambiguous prefix')
  t.ok(/matches 2 writers/.test(ambiguous?.message), ambiguous?.message)
  t.is(thrown(() => resolveWriter(writerArg(discoveryKey(k1).toString('hex')), writers, chain))?.code, 'DISCOVERY_KEY_GIVEN', 'a writer\'s discovery key')
  const none = common[0] === 'y' ? 'nnnn' : 'yyyy'
  t.is(thrown(() => resolveWriter(writerArg(none), writers, chain))?.code, 'NOT_A_MEMBER', 'a prefix of no writer')
})

test('log filters through a daemon: the same answers, and -f keeps only matching entries', async (t) => {
  const { storage, keys } = await buildChain(t)
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const zA = ids.encode(keys.a)
  const zB = ids.encode(keys.b)
  const queries = [
    ['--writer', zB, '-n', '7'],
    ['--writer', uniquePrefix(zA, zB)],
    ['--type', 'file,membership'],
    ['--since', '1500', '--final'],
    ['--since', '1h', '--type', 'data', '-n', '3'],
  ]
  const direct = []
  for (const q of queries) direct.push((await cli(t, env, storage, ['log', ...q, '--json'])).stdout)
  t.ok(direct.every((out) => out.length > 0), 'every query matches something')

  await startDaemon(t, env, storage)
  for (let i = 0; i < queries.length; i++) {
    const r = await cli(t, env, storage, ['log', ...queries[i], '--json'])
    t.is(r.code, 0)
    t.is(r.stdout, direct[i], `log ${queries[i].join(' ')}: byte-identical through the daemon`)
  }
  isCliError(t, await cli(t, env, storage, ['log', '--writer', ids.encode(Buffer.alloc(32, 3))]), 'NOT_A_MEMBER', 'a stranger through the daemon')
  isCliError(t, await cli(t, env, storage, ['log', '--writer', discoveryKey(keys.b).toString('hex')]), 'DISCOVERY_KEY_GIVEN', 'a discovery key through the daemon')

  // -f with filters: first the last matching entry, then only matching new ones. A membership
  // entry (excluded) is appended before a data entry (included): when the data entry shows, the
  // membership entry, earlier in the chain, must not have.
  const follow = spawnNode(t, [BIN, '--storage', storage, 'log', '-f', '--writer', zA, '--type', 'data', '-n', '1', '--json'], { env })
  const first = await follow.waitFor('stdout', /\n/, 20_000, 'the first line of log -f')
  t.ok(first, 'log -f printed its first line')
  const [firstRec] = follow.out().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  t.is(firstRec.data, 'pending1', '-n 1 with filters: the last matching entry (pending: B is offline)')
  await cli(t, env, storage, ['writers', 'add', ids.encode(Buffer.alloc(32, 5))])
  await cli(t, env, storage, ['append', 'live1'])
  await follow.waitFor('stdout', /live1/, 20_000, 'the live entry')
  const recs = follow.out().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  t.alike(recs.map((e) => [e.type, e.writer === zA]), recs.map(() => ['data', true]), 'only A\'s data entries were printed')
  t.alike(recs.map((e) => e.data), ['pending1', 'live1'], 'the membership entry in between was filtered out')

  // --final with -f: pending previews are not printed (B is offline, nothing becomes final)
  const finals = spawnNode(t, [BIN, '--storage', storage, 'log', '-f', '--final', '-n', '2', '--json'], { env })
  await finals.waitFor('stdout', (s) => s.split('\n').filter(Boolean).length >= 2, 20_000, 'two final entries')
  await cli(t, env, storage, ['append', 'live2'])
  await follow.waitFor('stdout', /live2/, 20_000, 'live2 in the other follower (it is in the chain now)')
  const finalRecs = finals.out().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  t.ok(finalRecs.every((e) => e.final), '--final -f printed final entries only')
  t.alike(finalRecs.map((e) => e.data), ['late1', 'late2'], 'the last two final entries, no pending preview')
  follow.kill('SIGTERM')
  finals.kill('SIGTERM')
  await follow.exited
  await finals.exited
})

/** The shortest prefix of `a` that `b` does not start with (at least 4 characters). */
function uniquePrefix (a, b) {
  let n = 4
  while (b.startsWith(a.slice(0, n))) n++
  return a.slice(0, n)
}

/** `ms` as a local ISO 8601 date-time without a zone, to the millisecond. */
function localIso (ms) {
  const d = new Date(ms)
  const p = (n, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

function commonPrefix (a, b) {
  let n = 0
  while (n < a.length && a[n] === b[n]) n++
  return a.slice(0, n)
}

/** The error `fn` throws, or null. */
function thrown (fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  return null
}
