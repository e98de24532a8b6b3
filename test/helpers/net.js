// Helpers for the networking tests: a loopback testnet, Networks and stores that close
// themselves at teardown, waits on events with a deadline, and the two adversaries (a peer that
// writes garbage, a peer that tampers with the blocks it serves).
//
// NETWORK RULE: everything here binds 127.0.0.1 and bootstraps only from the local testnet.
// Teardown order (brittle runs lower `order` first): networks/swarms 0, stores 10, testnet 20, dirs ∞.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import ids from 'hypercore-id-encoding'
import { createLocalTestnet } from '../../dist/net/testnet.js'

/** A fresh temporary directory, removed at teardown. */
export function tmpdir (t, prefix = 'feedchain-net-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }), { order: Infinity })
  return dir
}

/** A Corestore on a temp dir (or `dir`), closed at teardown. */
export function createStore (t, dir = tmpdir(t)) {
  const store = new Corestore(dir)
  t.teardown(() => store.close(), { order: 10 })
  return store
}

/**
 * A local testnet on 127.0.0.1 (`createLocalTestnet`: `createTestnet(size, { host: '127.0.0.1' })`),
 * destroyed at teardown (registered before it starts); throws unless every bootstrap node is
 * 127.0.0.1. Named so every call site says it is on loopback.
 */
export async function createLoopbackTestnet (t, size = 3) {
  let testnet = null
  t.teardown(() => testnet?.destroy(), { order: 20 })
  testnet = await createLocalTestnet(size)
  for (const n of testnet.bootstrap) if (n.host !== '127.0.0.1') throw new Error('testnet not on loopback: ' + n.host)
  return testnet
}

/** Fast settings for tests: the product defaults are tuned for the public DHT. */
export const FAST = { refreshMin: 250, refreshMax: 2000, handshakeTimeout: 3000, banGrace: 300 }

/** A ready Network on the testnet, closed at teardown. */
export async function createNetwork (t, testnet, store, opts = {}) {
  const network = testnet.createNetwork(store, { ...FAST, ...opts })
  t.teardown(() => network.close(), { order: 0 })
  await network.ready()
  return network
}

/** A writable core in `store` holding `n` blocks `PAYLOAD-<i>` (a marker the tamperer looks for). */
export async function writerCore (store, n, name = 'writer') {
  const core = store.get({ name })
  await core.ready()
  const blocks = []
  for (let i = core.length; i < n; i++) blocks.push(Buffer.from(`PAYLOAD-${i}-${'x'.repeat(32)}`))
  if (blocks.length) await core.append(blocks)
  return core
}

/** Open a core by key in `store` (a reader) and wait until it is ready. */
export async function openCore (store, key) {
  const core = store.get({ key })
  await core.ready()
  return core
}

export { waitFor } from './wait.js'

/** Resolve with the arguments of the next `event` of `emitter` matching `filter`; reject after ms. */
export function once (emitter, event, { ms = 15000, filter = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const on = (...args) => {
      if (!filter(...args)) return
      clearTimeout(timer)
      emitter.off(event, on)
      resolve(args)
    }
    const timer = setTimeout(() => { emitter.off(event, on); reject(new Error(`timed out after ${ms} ms waiting for '${event}'`)) }, ms)
    emitter.on(event, on)
  })
}

/** Wait until `core` has blocks 0..n-1 locally (downloading them), with a deadline. */
export async function waitDownloaded (core, n, ms = 15000) {
  const range = core.download({ start: 0, end: n })
  let timer
  try {
    await Promise.race([
      range.done(),
      new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms downloading ${n} blocks (have ${core.contiguousLength})`)), ms) })
    ])
  } finally {
    clearTimeout(timer)
    range.destroy()
  }
}

/** The peer table row of `other` in `network`, or undefined. */
export function rowOf (network, other) {
  const key = typeof other === 'string' ? other : idOf(other)
  return network.peers().find((p) => p.publicKey === key)
}

/** z-base32 id of a Network's public key (as the peer table prints it). */
export function idOf (network) {
  return ids.encode(network.publicKey)
}

/**
 * A raw Hyperswarm (no feedchain, no replication) on the testnet that joins `topic` and, on
 * every connection, writes random bytes into the encrypted stream (or with `raw`, under it). Returns { swarm, connections,
 * publicKey } where connections counts the connections it got. Destroyed at teardown.
 */
export async function garbagePeer (t, testnet, topic, { bytes = 200, every = 5, raw = false } = {}) {
  const swarm = new Hyperswarm({ dht: new HyperDHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1' }) })
  t.teardown(() => swarm.destroy(), { order: 0 })
  const state = { swarm, connections: 0, written: 0, publicKey: swarm.keyPair.publicKey }
  swarm.on('connection', (conn) => {
    state.connections++
    conn.on('error', () => {})
    const timer = setInterval(() => {
      if (conn.destroyed) return clearInterval(timer)
      for (let i = 0; i < 8; i++) {
        const chunk = crypto.randomBytes(1 + Math.floor(Math.random() * bytes))
        state.written += chunk.byteLength
        // raw: below the encryption, straight into the UDX stream (the remote's secret-stream
        // framing sees nonsense lengths and stalls, or fails to decrypt)
        if (raw) conn.rawStream.write(chunk)
        else conn.write(chunk)
      }
    }, every)
    conn.on('close', () => clearInterval(timer))
  })
  await swarm.join(topic, { server: true, client: true }).flushed()
  return state
}

/**
 * Make a Network serve tampered blocks: every outgoing plaintext message (before encryption)
 * that contains `marker` gets one byte of the marker flipped, so the block's hash no longer
 * matches its Merkle proof. Returns a counter object { tampered }.
 */
export function tamperOutgoing (network, marker = 'PAYLOAD-') {
  const state = { tampered: 0 }
  const needle = Buffer.from(marker)
  network.on('connection', (conn) => {
    const write = conn.write
    conn.write = function (data, ...rest) {
      if (Buffer.isBuffer(data) || data instanceof Uint8Array) {
        // every occurrence: Protomux can batch several messages (several blocks) into one write
        let i = Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(needle)
        if (i !== -1) data = Buffer.from(data) // copy: never touch the sender's own buffers
        while (i !== -1) {
          data[i + needle.length - 1] ^= 0x55
          state.tampered++
          i = data.indexOf(needle, i + needle.length)
        }
      }
      return write.call(this, data, ...rest)
    }
  })
  return state
}
