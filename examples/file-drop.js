#!/usr/bin/env node
// A file drop between two people on a local HyperDHT testnet (127.0.0.1 only): Ann sends a file
// into the chain, Ben finds it in the chain's file list and downloads it from Ann with progress;
// the bytes are verified against the hash in the chain, and checked here once more.
//
//   node examples/file-drop.js
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import { ChainFiles, ChainNode, createLocalTestnet } from '../dist/index.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-file-drop-'))
const testnet = await createLocalTestnet() // DHT nodes on 127.0.0.1; every network below binds there too
const open = []

async function person (name, key) {
  const store = new Corestore(path.join(root, name))
  const network = testnet.createNetwork(store)
  await network.ready()
  const node = new ChainNode(store, key ? { key, network } : { name: 'file drop', network })
  await node.ready()
  const files = new ChainFiles(node, { network }) // blob cores are tracked: a peer sending bad blocks is banned
  await files.ready()
  open.push({ files, node, network, store })
  return { node, files }
}

// resolve once cond() holds, checking on every update of the node
function until (node, cond, ms = 20000) {
  return new Promise((resolve, reject) => {
    const check = async () => { if (await cond()) { stop(); resolve() } }
    const timer = setTimeout(() => { stop(); reject(new Error('timed out')) }, ms)
    const stop = () => { clearTimeout(timer); node.off('update', check) }
    node.on('update', check)
    check()
  })
}

const sha256 = async (file) => {
  const h = crypto.createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) h.update(chunk)
  return h.digest('hex')
}

let ok = false
try {
  const source = path.join(root, 'holiday-photos.tar')
  fs.writeFileSync(source, crypto.randomBytes(12 * 1024 * 1024))

  const ann = await person('ann')
  const sent = await ann.files.send(source) // streamed into Ann's blob core, then a FILE entry
  console.log(`ann sent ${sent.name} (${sent.size} bytes) as file ${sent.id}`)

  const ben = await person('ben', ann.node.key)
  await until(ben.node, async () => (await ben.files.list()).some((f) => f.id === sent.id)) // the FILE entry arrived
  const [listed] = await ben.files.list()
  console.log(`ben sees ${listed.name}: ${listed.stored} of ${listed.size} bytes stored here`)

  let shown = -1
  const result = await ben.files.get(sent.id, {
    output: path.join(root, 'ben-copy.tar'),
    onProgress: (p) => {
      const step = Math.floor((p.percent ?? 0) / 25)
      if (step === shown && p.phase !== 'done') return
      shown = step
      console.log(`  ${p.phase.padEnd(11)} ${String(p.percent).padStart(5)}%  ${(p.bytes / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB  ${p.peers} peer${p.peers === 1 ? '' : 's'}`)
    },
  })
  const same = (await sha256(result.path)) === (await sha256(source))
  const mbs = result.downloaded / 1e6 / Math.max(result.elapsed / 1000, 0.001)
  console.log(`ben got ${path.basename(result.path)}: ${result.downloaded} bytes in ${result.elapsed} ms (${mbs.toFixed(1)} MB/s), hash verified against the chain; sha256 ${same ? 'equal' : 'DIFFERENT'}`)
  ok = same && result.file.hash === sent.hash
} finally {
  for (const { files, node, network, store } of open.reverse()) { await files.close(); await node.close(); await network.close(); await store.close() }
  await testnet.destroy()
  fs.rmSync(root, { recursive: true, force: true })
}
process.exitCode = ok ? 0 : 1
