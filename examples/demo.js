#!/usr/bin/env node
// The feedchain story on this machine: three people, one chain, an offline stretch and a
// reconcile. Every check is real; the script exits 0 only if every step checked out.
//
//   npm run demo
//
// Alice, Bob and Carol each have their own storage (a temporary directory) and replicate with
// each other in-process. Nothing here touches the network.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { ChainNode } from '../dist/index.js'

const color = process.stdout.isTTY && !process.env.NO_COLOR
const bold = (s) => (color ? `\x1b[1m${s}\x1b[22m` : s)
const dim = (s) => (color ? `\x1b[2m${s}\x1b[22m` : s)
const say = (s) => console.log(`\n${bold('▸ ' + s)}`)
const info = (s) => console.log('  ' + s)
let failures = 0
function check (ok, what) {
  console.log(`  ${ok ? '✓' : '✗'} ${what}`)
  if (!ok) failures++
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-demo-'))
const people = {}
const links = new Map()

async function person (name, key) {
  const store = new Corestore(path.join(root, name))
  const node = new ChainNode(store, key ? { key } : { name: 'team log' })
  await node.ready()
  people[name] = node
  return node
}

function link (x, y) {
  const id = [x, y].sort().join('-')
  if (links.has(id)) return
  const s1 = people[x].replicate(true)
  const s2 = people[y].replicate(false)
  s1.on('error', () => {})
  s2.on('error', () => {})
  s1.pipe(s2).pipe(s1)
  links.set(id, () => { s1.destroy(); s2.destroy() })
}
function unlink (name) {
  for (const [id, cut] of links) if (id.split('-').includes(name)) { cut(); links.delete(id) }
}

function until (nodes, cond, ms = 20000) {
  return new Promise((resolve, reject) => {
    const check = () => { if (cond()) { done(); resolve() } }
    const timer = setTimeout(() => { done(); reject(new Error('timed out')) }, ms)
    const poll = setInterval(check, 25)
    const done = () => { clearTimeout(timer); clearInterval(poll); for (const n of nodes) n.off('update', check) }
    for (const n of nodes) n.on('update', check)
    check()
  })
}
const agree = (nodes) => nodes.every((n) => n.finalLength === nodes[0].finalLength && n.head === nodes[0].head && n.status().pending === 0)
const short = (s) => s.slice(0, 8)

async function main () {
  say('Alice creates a chain and shares its key')
  const alice = await person('alice')
  const s = alice.status()
  info(`chain key  ${s.key}`)
  info(`her writer ${s.writerKey}  (creator, indexer)`)

  say('Bob and Carol join with the key; Alice adds them as indexers')
  const bob = await person('bob', alice.key)
  const carol = await person('carol', alice.key)
  link('alice', 'bob'); link('alice', 'carol'); link('bob', 'carol')
  await alice.addWriter(bob.writerKey, { indexer: true })
  await alice.addWriter(carol.writerKey, { indexer: true })
  await until([alice, bob, carol], () => [alice, bob, carol].every((n) => n.status().writers.filter((w) => w.indexer).length === 3))
  check(true, 'three indexers on every peer')

  say('All three append')
  const latencies = []
  for (let i = 0; i < 3; i++) {
    for (const [name, n] of Object.entries(people)) {
      const t0 = performance.now()
      const r = await n.append(`${name}: hello #${i}`)
      const target = r.length
      await until([alice, bob, carol], () => [alice, bob, carol].every((x) => x.finalLength >= target))
      latencies.push(performance.now() - t0)
    }
  }
  await until([alice, bob, carol], () => agree([alice, bob, carol]))
  check(agree([alice, bob, carol]), `same final length ${alice.finalLength} and head ${short(alice.head)} on all three`)

  say('Carol goes offline and keeps writing; Alice and Bob carry on')
  unlink('carol')
  for (let i = 0; i < 5; i++) await carol.append(`carol (offline): note ${i}`)
  for (let i = 0; i < 5; i++) { await alice.append(`alice: update ${i}`); await bob.append(`bob: update ${i}`) }
  await until([alice, bob], () => agree([alice, bob]))
  const meanwhile = alice.finalLength
  const prefix = []
  for await (const e of alice.read({ final: true })) prefix.push(e.writer.toString('hex') + e.seq + e.index)
  info(`Alice and Bob (2 of 3 indexers) finalized ${meanwhile} entries; Carol has ${carol.status().pending} pending of her own`)
  check(carol.finalLength < meanwhile, `Carol's view is behind: ${carol.finalLength} final`)

  say('Carol comes back: the chain reconciles')
  const t0 = performance.now()
  link('alice', 'carol'); link('bob', 'carol')
  await until([alice, bob, carol], () => agree([alice, bob, carol]) && alice.finalLength >= meanwhile + 5)
  const reconcileMs = performance.now() - t0
  check(agree([alice, bob, carol]), `same head ${short(alice.head)} on all three after ${reconcileMs.toFixed(0)} ms`)
  const after = []
  const offline = []
  for await (const e of carol.read({ final: true })) {
    after.push(e.writer.toString('hex') + e.seq + e.index)
    if (e.data.toString().startsWith('carol (offline)')) offline.push(e.position)
  }
  check(prefix.every((x, i) => after[i] === x), `the ${meanwhile} entries final meanwhile kept their positions`)
  check(offline.length === 5 && offline.every((p) => p >= meanwhile), `Carol's offline entries landed after them, at positions ${offline.join(', ')}`)

  say('The chain, as Carol sees it (last 8 entries)')
  for await (const e of carol.read({ reverse: true, limit: 8 })) {
    info(`${String(e.position).padStart(4)} ${e.final ? '✓' : '~'} ${dim(short(e.writer.toString('hex')))}  ${e.type === 'data' ? e.data.toString() : e.type}`)
  }

  say('Summary')
  latencies.sort((a, b) => a - b)
  const p50 = latencies[Math.floor(latencies.length / 2)]
  info('peer    length  final  head')
  for (const [name, n] of Object.entries(people)) info(`${name.padEnd(7)} ${String(n.length).padStart(6)} ${String(n.finalLength).padStart(6)}  ${short(n.head)}`)
  info(`time to finality on all three (in-process): p50 ${p50.toFixed(1)} ms; reconcile after the offline stretch: ${reconcileMs.toFixed(0)} ms`)
}

try {
  await main()
} catch (e) {
  failures++
  console.error('\ndemo failed: ' + (e && e.message))
} finally {
  for (const cut of links.values()) cut()
  for (const n of Object.values(people)) { await n.close().catch(() => {}); await n.store.close().catch(() => {}) }
  fs.rmSync(root, { recursive: true, force: true })
}
console.log(failures === 0 ? '\nall steps checked out' : `\n${failures} step(s) failed`)
process.exitCode = failures === 0 ? 0 : 1
