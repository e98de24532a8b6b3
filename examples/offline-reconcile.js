#!/usr/bin/env node
// Work offline, reconcile later: two indexers of three keep finalizing while the third writes
// offline; when it reconnects its entries land after everything that became final meanwhile,
// and all three agree on the head hash. In-process replication: nothing touches the network.
//
//   node examples/offline-reconcile.js
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { ChainNode } from '../dist/index.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-offline-'))
const nodes = []
const open = (name, key) => {
  const node = new ChainNode(new Corestore(path.join(root, name)), key ? { key } : {})
  nodes.push(node)
  return node.ready().then(() => node)
}
const links = []
const link = (a, b) => {
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
  s1.on('error', () => {})
  s2.on('error', () => {})
  const cut = () => { s1.destroy(); s2.destroy() }
  links.push(cut)
  return cut
}
const until = (list, cond) => new Promise((resolve) => {
  const check = () => { if (cond()) { for (const n of list) n.off('update', check); resolve() } }
  for (const n of list) n.on('update', check)
  check()
})
const agree = (list) => list.every((n) => n.head === list[0].head && n.finalLength === list[0].finalLength && n.status().pending === 0)

let ok = false
try {
  const a = await open('a')
  const b = await open('b', a.key)
  const c = await open('c', a.key)
  const cutAB = link(a, b)
  const cutAC = link(a, c)
  const cutBC = link(b, c)
  await a.addWriter(b.writerKey, { indexer: true })
  await a.addWriter(c.writerKey, { indexer: true })
  await until([a, b, c], () => [a, b, c].every((n) => n.status().writers.filter((w) => w.indexer).length === 3) && agree([a, b, c]))

  console.log('c goes offline and writes')
  cutAC(); cutBC()
  for (let i = 0; i < 3; i++) await c.append(`c offline #${i}`)
  for (let i = 0; i < 3; i++) { await a.append(`a #${i}`); await b.append(`b #${i}`) }
  await until([a, b], () => agree([a, b]))
  const finalMeanwhile = a.finalLength
  console.log(`a and b finalized ${finalMeanwhile} entries; c has ${c.status().pending} pending`)

  console.log('c reconnects')
  link(a, c); link(b, c)
  await until([a, b, c], () => agree([a, b, c]) && a.finalLength >= finalMeanwhile + 3)
  const offline = []
  for await (const e of c.read({ final: true })) if (e.data.toString().startsWith('c offline')) offline.push(e.position)
  console.log(`head ${a.head.slice(0, 12)} on all three; c's offline entries at positions ${offline.join(', ')} (after ${finalMeanwhile})`)
  ok = offline.length === 3 && offline.every((p) => p >= finalMeanwhile)
  cutAB()
} finally {
  for (const cut of links) cut()
  for (const n of nodes) { await n.close(); await n.store.close() }
  fs.rmSync(root, { recursive: true, force: true })
}
process.exitCode = ok ? 0 : 1
