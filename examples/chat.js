#!/usr/bin/env node
// A chat over a chain: two people on a local HyperDHT testnet (127.0.0.1 only) find each other by
// the chain key, both write, and both read the same conversation in the same order.
//
//   node examples/chat.js
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { ChainNode, createLocalTestnet } from '../dist/index.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-chat-'))
const testnet = await createLocalTestnet() // DHT nodes on 127.0.0.1; every network below binds there too
const open = []

async function person (name, key) {
  const store = new Corestore(path.join(root, name))
  const network = testnet.createNetwork(store)
  await network.ready()
  const node = new ChainNode(store, key ? { key, network } : { name: 'chat', network })
  await node.ready()
  open.push({ node, network, store })
  return node
}

// resolve once cond() holds, checking on every update of the nodes
function until (nodes, cond, ms = 20000) {
  return new Promise((resolve, reject) => {
    const check = () => { if (cond()) { stop(); resolve() } }
    const timer = setTimeout(() => { stop(); reject(new Error('timed out')) }, ms)
    const stop = () => { clearTimeout(timer); for (const n of nodes) n.off('update', check) }
    for (const n of nodes) n.on('update', check)
    check()
  })
}

let ok = false
try {
  const ann = await person('ann')
  const ben = await person('ben', ann.key)
  await until([ben], () => ben.finalLength >= 1) // ben found ann and has the chain's first entry
  await ann.addWriter(ben.writerKey, { indexer: true })
  await until([ben], () => ben.status().isIndexer)

  const lines = [[ann, 'ann: hi ben'], [ben, 'ben: hi ann, got the key'], [ann, 'ann: shall we?'], [ben, 'ben: we shall']]
  for (const [i, [who, text]] of lines.entries()) {
    // reply only after hearing the previous message: genesis, ben's addition, his JOIN, i lines
    await until([who], () => who.length >= 3 + i)
    await who.append(text)
  }
  // genesis, ben's addition and his JOIN, then the messages: all final, same head on both
  const total = 3 + lines.length
  await until([ann, ben], () => ann.finalLength >= total && ben.finalLength === ann.finalLength && ann.head === ben.head && ann.status().pending === 0)

  const said = async (node) => {
    const out = []
    for await (const e of node.read({ final: true })) if (e.type === 'data') out.push(e.data.toString())
    return out
  }
  const a = await said(ann)
  const b = await said(ben)
  for (const line of a) console.log(line)
  ok = a.length === lines.length && a.join('\n') === b.join('\n')
  console.log(ok ? `\nboth see the same ${a.length} messages, head ${ann.head.slice(0, 12)}` : '\nthe two views differ')
} finally {
  for (const { node, network, store } of open.reverse()) { await node.close(); await network.close(); await store.close() }
  await testnet.destroy()
  fs.rmSync(root, { recursive: true, force: true })
}
process.exitCode = ok ? 0 : 1
