// ChainNode on one store: appends, reads, limits, reopen from the view.
import test from 'brittle'
import Corestore from 'corestore'
import { ChainNode, MAX_ENTRY_SIZE } from '../dist/index.js'
import { createNode, createStore, finalEntries, tmpdir } from './helpers/node.js'

test('a solo chain: genesis, appends final at once, read back in order', async (t) => {
  const a = await createNode(t, { name: 'solo' })
  t.is(a.name, 'solo')
  let s = a.status()
  t.is(s.finalLength, 1, 'genesis is final')
  t.ok(s.isWriter && s.isIndexer)
  const r = await a.append('hello')
  t.is(r.finalLength, 2, 'n = 1: final at append')
  await a.append(['b', 'c', Buffer.from([0, 1, 2])])
  s = a.status()
  t.is(s.length, 5)
  t.is(s.finalLength, 5)
  t.is(s.pending, 0)
  t.is(s.head.length, 64)
  const list = []
  for await (const e of a.read()) list.push(e)
  t.alike(list.map((e) => e.type), ['genesis', 'data', 'data', 'data', 'data'])
  t.alike(list.slice(1, 4).map((e) => e.data.toString()), ['hello', 'b', 'c'])
  t.ok(list.every((e, i) => e.position === i && e.final))
  const last2 = []
  for await (const e of a.read({ reverse: true, limit: 2 })) last2.push(e.position)
  t.alike(last2, [4, 3])
  const g = await a.get(1)
  t.is(g.data.toString(), 'hello')
  t.is(g.hash.length, 64)
  const g4 = await a.get(4)
  t.is(g4.hash, s.head, 'chain hash after the last entry is the head')
  t.is(await a.get(5), null)
})

test('append rejects empty and oversized entries and writes nothing', async (t) => {
  const a = await createNode(t)
  const before = a.status()
  await t.exception(() => a.append(''), /empty/)
  await t.exception(() => a.append(['x', '']), /empty/)
  await t.exception(() => a.append(Buffer.alloc(MAX_ENTRY_SIZE + 1)), /limit/)
  await t.exception(() => a.append([]), /nothing/)
  try { await a.append(Buffer.alloc(MAX_ENTRY_SIZE + 1)) } catch (e) { t.is(e.code, 'ENTRY_TOO_LARGE') }
  try { await a.append('') } catch (e) { t.is(e.code, 'EMPTY_ENTRY') }
  const after = a.status()
  t.is(after.length, before.length)
  t.is(after.head, before.head)
  const ok = await a.append(Buffer.alloc(MAX_ENTRY_SIZE, 1))
  t.is(ok.blocks, 1, 'an entry of exactly the limit is accepted')
})

test('a batch is cut into blocks of at most 1,000 entries', async (t) => {
  const a = await createNode(t)
  const r = await a.append(Array.from({ length: 2500 }, (_, i) => 'e' + i))
  t.is(r.blocks, 3)
  t.is(a.status().finalLength, 2501)
  const e = await a.get(2500)
  t.is(e.data.toString(), 'e2499')
  t.is(e.seq, 3)
  t.is(e.index, 499)
})

test('reopening resumes from the view without re-ordering the chain', async (t) => {
  const dir = tmpdir(t)
  let store = new Corestore(dir)
  let a = new ChainNode(store, {})
  await a.ready()
  for (let i = 0; i < 50; i++) await a.append('x' + i)
  await a.append(Array.from({ length: 3000 }, (_, i) => 'y' + i))
  const s1 = a.status()
  const e1 = await finalEntries(a)
  const key = a.key
  await a.close()
  await store.close()

  store = new Corestore(dir)
  t.teardown(() => store.close(), { order: 10 })
  a = new ChainNode(store, { key })
  t.teardown(() => a.close())
  await a.ready()
  const s2 = a.status()
  t.is(s2.finalLength, s1.finalLength)
  t.is(s2.head, s1.head)
  t.is(a.stats.fedOnOpen, 0, 'no block re-fed to the consensus layer on reopen')
  t.alike(await finalEntries(a), e1)
  await a.append('after reopen')
  t.is(a.status().finalLength, s1.finalLength + 1)
})

test('kill -9 after appends, before the view was written: reopen repairs the view', async (t) => {
  const dir = tmpdir(t)
  const { spawn } = await import('node:child_process')
  const lib = new URL('../dist/index.js', import.meta.url).href
  const script = `
    const { ChainNode } = await import(${JSON.stringify(lib)})
    const { default: Corestore } = await import('corestore')
    const node = new ChainNode(new Corestore(${JSON.stringify(dir)}), { flushDelay: 600000 })
    await node.ready()
    await node.flush()
    console.log('key ' + node.key.toString('hex'))
    for (let i = 0; i < 20; i++) { await node.append('z' + i); console.log('acked ' + (i + 1)) }
    console.log('head ' + node.head)
    setInterval(() => {}, 1000)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { out += d; if (/head [0-9a-f]{64}/.test(out)) resolve() })
    child.on('exit', (code) => reject(new Error('child exited early: ' + code + '\n' + out)))
  })
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  const key = Buffer.from(/key ([0-9a-f]{64})/.exec(out)[1], 'hex')
  const head = /head ([0-9a-f]{64})/.exec(out)[1]
  const store = new Corestore(dir)
  t.teardown(() => store.close(), { order: 10 })
  const b = new ChainNode(store, { key })
  t.teardown(() => b.close())
  await b.ready()
  t.is(b.status().finalLength, 21, 'every acknowledged append is there')
  t.is(b.head, head, 'same head as before the kill')
  t.ok(b.stats.fedOnOpen >= 20, `${b.stats.fedOnOpen} blocks after the last view write fed again`)
  const data = []
  for await (const e of b.read()) data.push(e.data.toString())
  t.alike(data.slice(1), Array.from({ length: 20 }, (_, i) => 'z' + i))
  await b.append('next')
  t.is(b.status().finalLength, 22, 'the next append works')
})

test('opening a store twice in two processes is refused (lock)', async (t) => {
  const dir = tmpdir(t)
  const { Storage } = await import('../dist/index.js')
  const s1 = await Storage.open(dir, { create: true })
  t.teardown(() => s1.close())
  const { spawnSync } = await import('node:child_process')
  const r = spawnSync(process.execPath, ['-e', `import('${new URL('../dist/index.js', import.meta.url).href}').then(async ({ Storage }) => { try { await Storage.open(${JSON.stringify(dir)}) ; console.log('opened') } catch (e) { console.log(e.code) } })`], { encoding: 'utf8', timeout: 20000 })
  t.is(r.stdout.trim(), 'STORE_LOCKED')
})

test('close right after an append, reopen: every entry read exactly once', async (t) => {
  const dir = tmpdir(t)
  let key = null
  for (let round = 0; round < 4; round++) {
    const store = new Corestore(dir)
    const a = new ChainNode(store, key ? { key, flushDelay: 60000 } : { flushDelay: 60000 })
    await a.ready()
    key = a.key
    await a.append('r' + round)
    await a.close()
    await store.close()
  }
  const store = new Corestore(dir)
  t.teardown(() => store.close(), { order: 10 })
  const a = new ChainNode(store, { key })
  t.teardown(() => a.close())
  await a.ready()
  const positions = []
  const data = []
  for await (const e of a.read()) { positions.push(e.position); data.push(e.data.toString()) }
  t.alike(positions, [0, 1, 2, 3, 4])
  t.alike(data.slice(1), ['r0', 'r1', 'r2', 'r3'])
  t.is(a.status().length, 5)
})

test('rebuild replays the feeds and arrives at the same final prefix without rewriting the view', async (t) => {
  const a = await createNode(t)
  for (let i = 0; i < 30; i++) await a.append('w' + i)
  await a.append(Array.from({ length: 1500 }, (_, i) => 'batch' + i))
  const before = a.status()
  const entries = await finalEntries(a)
  const r = await a.rebuild()
  t.is(r.finalLength, before.finalLength)
  t.is(r.head, before.head)
  t.is(a.stats.rebuilds, 1)
  t.alike(await finalEntries(a), entries, 'view unchanged, nothing listed twice')
  await a.append('after rebuild')
  t.is(a.status().finalLength, before.finalLength + 1)
})

test('verify audits every feed and recomputes the chain hash over the final prefix', async (t) => {
  const a = await createNode(t)
  for (let i = 0; i < 10; i++) await a.append('v' + i)
  await a.append(Array.from({ length: 1200 }, (_, i) => 'batch' + i))
  const v = await a.verify()
  t.ok(v.ok, 'healthy chain verifies: ' + v.problems.join('; '))
  t.is(v.entries, a.finalLength)
  t.is(v.head, a.head)
  t.ok(v.feeds.length >= 1 && v.feeds.every((f) => f.blocks === f.length && !f.corrupt), 'every stored block checked against its hash')
})
