// The CLI end to end on local storage: init, append, log, show, status, share, writers, help.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import ids from 'hypercore-id-encoding'
import { cleanEnv, initChain, isCliError, ok, okJson, run, storagePath } from './helpers/cli.js'

const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/
const HEX64 = /^[0-9a-f]{64}$/

test('cli: overview, --help with an example for every command, --version', async (t) => {
  const overview = await ok(t, [])
  for (const cmd of ['init', 'append', 'log', 'show', 'status', 'share', 'writers']) t.ok(overview.stdout.includes(cmd), `overview lists ${cmd}`)
  t.ok(overview.stdout.includes('Examples'), 'overview has examples')
  t.is(overview.stderr, '')

  const commands = [['init'], ['append'], ['log'], ['show'], ['status'], ['share'], ['writers'], ['writers', 'add'], ['writers', 'remove'], ['writers', 'list']]
  const helps = await Promise.all(commands.map((c) => ok(t, [...c, '--help'])))
  for (const [i, h] of helps.entries()) {
    const name = commands[i].join(' ')
    t.ok(h.stdout.includes(`Usage: feedchain ${name}`), `${name} --help shows usage`)
    t.ok(/Examples:\n\s+\$ feedchain /.test(h.stdout), `${name} --help shows an example`)
  }
  const v = await ok(t, ['--version'])
  t.ok(/^\d+\.\d+\.\d+\n$/.test(v.stdout), 'version')
})

test('cli: init, append, log, show, status, share', async (t) => {
  const storage = storagePath(t)
  const init = await ok(t, ['init', '--name', 'notes'], { storage })
  const key = init.stdout.trim()
  t.ok(Z32.test(key), 'init prints the chain key in z-base32 on stdout')
  t.ok(init.stderr.includes(`feedchain join ${key}`), 'init hints how to share the key on stderr')
  t.ok(fs.statSync(path.join(storage, 'corestore')).isDirectory(), 'storage created')

  isCliError(t, await run(t, ['init'], { storage }), 'CHAIN_EXISTS', 'second init')

  await ok(t, ['append', 'hello world'], { storage })
  await ok(t, ['append', 'two', 'words'], { storage })
  const bin = await okJson(t, ['append', 'tab\there'], { storage })
  t.is(bin[0].appended, 1, 'append --json reports what was appended')
  t.is(bin[0].length, 4)

  const text = await ok(t, ['log'], { storage })
  const lines = text.stdout.trimEnd().split('\n')
  t.is(lines.length, 4, 'log prints one line per entry (genesis + 3)')
  t.ok(lines[0].includes('genesis') && lines[0].includes('"notes"'), 'genesis line shows the name')
  t.ok(lines[1].includes('✓') && lines[1].endsWith('hello world'), 'final entries are marked ✓')
  t.ok(lines[2].endsWith('two words'), 'several words are joined with spaces')
  t.ok(lines[3].endsWith('tab\\there'), 'control characters are escaped')
  t.ok(lines[1].includes(key.slice(0, 8)), 'short writer key shown')

  const entries = await okJson(t, ['log'], { storage })
  t.alike(entries.map((e) => e.position), [0, 1, 2, 3], 'positions in order')
  t.alike(entries.map((e) => e.type), ['genesis', 'data', 'data', 'data'])
  t.alike(entries.slice(1).map((e) => e.data), ['hello world', 'two words', 'tab\there'])
  for (const e of entries) {
    t.ok(Z32.test(e.writer) && Number.isInteger(e.seq) && typeof e.final === 'boolean' && typeof e.time === 'number', `entry ${e.position} has writer, seq, final, time`)
  }
  t.ok(entries.every((e) => e.final), 'a solo indexer\'s entries are final at once')
  t.is(entries[0].value.name, 'notes')

  const last = await okJson(t, ['log', '-n', '2'], { storage })
  t.alike(last.map((e) => e.position), [2, 3], 'log -n 2 shows the last two, oldest first')
  const none = await ok(t, ['log', '-n', '0'], { storage })
  t.is(none.stdout, '', 'log -n 0 prints nothing')
  const many = await okJson(t, ['log', '-n', '100'], { storage })
  t.is(many.length, 4, 'log -n larger than the chain shows everything')

  const show = await ok(t, ['show', '1'], { storage })
  for (const word of ['hello world', 'final', key, 'clock', 'time', 'seq']) t.ok(show.stdout.includes(word), `show prints ${word}`)
  const [shown] = await okJson(t, ['show', '1'], { storage })
  t.is(shown.position, 1)
  t.is(shown.data, 'hello world')
  t.is(shown.final, true)
  t.ok(HEX64.test(shown.hash), 'show --json has the chain hash at the position')
  t.ok(Number.isInteger(shown.clock) && shown.clock > 0, 'clock')
  t.is(shown.writer, key, 'the creator writes with the chain key')

  const [st] = await okJson(t, ['status'], { storage })
  t.is(st.key, key)
  t.is(st.length, 4)
  t.is(st.finalLength, 4)
  t.ok(HEX64.test(st.head), 'status head is a hex chain hash')
  t.is(st.writers.length, 1)
  t.is(st.writers[0].self, true)
  t.is(st.writers[0].indexer, true)
  const [shown3] = await okJson(t, ['show', '3'], { storage })
  t.is(shown3.hash, st.head, 'the chain hash at the last final position is the head')

  const stText = await ok(t, ['status'], { storage })
  t.ok(stText.stdout.includes(key) && stText.stdout.includes(st.head), 'status text shows key and head')

  const [sh] = await okJson(t, ['share'], { storage })
  t.is(sh.key, key)
  t.ok(Z32.test(sh.writerKey))
  const shText = await ok(t, ['share'], { storage })
  t.alike(shText.stdout.trimEnd().split('\n'), [`chain  ${key}`, `writer ${sh.writerKey}`], 'share prints both keys on stdout')

  const hex = ids.decode(key).toString('hex')
  const byHex = await okJson(t, ['log', '--chain', hex], { storage })
  t.is(byHex.length, 4, '--chain accepts a hex key')
  const byZ = await okJson(t, ['status', '--chain', key], { storage })
  t.is(byZ[0].key, key, '--chain accepts a z-base32 key')
})

test('cli: storage from FEEDCHAIN_STORAGE, else ~/.feedchain', async (t) => {
  const env = cleanEnv(t)
  const r = await ok(t, ['init'], { env })
  t.ok(fs.existsSync(path.join(env.HOME, '.feedchain', 'corestore')), 'default storage is ~/.feedchain')
  const [st] = await okJson(t, ['status'], { env })
  t.is(st.key, r.stdout.trim())

  const dir = storagePath(t)
  const env2 = { ...env, FEEDCHAIN_STORAGE: dir }
  const r2 = await ok(t, ['init'], { env: env2 })
  t.ok(fs.existsSync(path.join(dir, 'corestore')), 'FEEDCHAIN_STORAGE is used')
  const [st2] = await okJson(t, ['status'], { env: env2 })
  t.is(st2.key, r2.stdout.trim())
  const [st3] = await okJson(t, ['status', '--storage', path.join(env.HOME, '.feedchain')], { env: env2 })
  t.is(st3.key, st.key, '--storage wins over FEEDCHAIN_STORAGE')
})

test('cli: writers add, list, remove', async (t) => {
  const a = await initChain(t, 'a')
  const b = await initChain(t, 'b')
  const [bShare] = await okJson(t, ['share'], { storage: b.storage })
  const bw = bShare.writerKey
  const c = ids.encode(Buffer.alloc(32, 7))
  const cHex = Buffer.alloc(32, 7).toString('hex')

  const added = await ok(t, ['writers', 'add', bw], { storage: a.storage })
  t.ok(added.stderr.includes(bw), 'add confirms on stderr')
  isCliError(t, await run(t, ['writers', 'add', bw], { storage: a.storage }), 'ALREADY_WRITER', 'adding twice')
  const [addC] = await okJson(t, ['writers', 'add', cHex, '--indexer'], { storage: a.storage })
  t.alike({ op: addC.op, key: addC.key, indexer: addC.indexer }, { op: 'add', key: c, indexer: true }, 'a hex key is accepted and printed in z-base32')

  let list = await okJson(t, ['writers', 'list'], { storage: a.storage })
  t.is(list.length, 3, 'three writers')
  const wb = list.find((w) => w.key === bw)
  const wc = list.find((w) => w.key === c)
  t.ok(wb && !wb.indexer && !wb.removed, 'b is a writer')
  t.ok(wc && (wc.indexer || wc.pendingIndexer), 'c is an indexer (pending until it comes online)')
  t.ok(list.find((w) => w.self)?.indexer, 'this user is an indexer')
  const listText = await ok(t, ['writers'], { storage: a.storage })
  t.is(listText.stdout.trimEnd().split('\n').length, 3, '`writers` alone lists them')

  await ok(t, ['writers', 'remove', bw], { storage: a.storage })
  list = await okJson(t, ['writers', 'list'], { storage: a.storage })
  t.ok(list.find((w) => w.key === bw)?.removed === true || !list.some((w) => w.key === bw), 'b is removed')
  isCliError(t, await run(t, ['writers', 'remove', ids.encode(Buffer.alloc(32, 9))], { storage: a.storage }), 'NOT_A_MEMBER', 'removing a stranger')

  const log = await okJson(t, ['log'], { storage: a.storage })
  const ms = log.filter((e) => e.type === 'membership').map((e) => [e.value.op, e.value.key])
  t.alike(ms, [['add', bw], ['add', c], ['remove', bw]], 'membership entries are in the log')
  const logText = await ok(t, ['log'], { storage: a.storage })
  t.ok(logText.stdout.includes(`membership add writer ${bw}`), 'log text describes membership entries')
})
