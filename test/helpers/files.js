// Helpers for the file tests: test files, in-process peers (store + Network + ChainNode +
// ChainFiles on a loopback testnet), child-process peers driven over IPC, the CLI with the file
// commands, and RSS sampling of a child. Every helper takes `t` and registers its teardown before
// anything can fail; only children started here are killed, by their pid.
//
// Run as a script, this file is a child process:
//   node test/helpers/files.js cli <feedchain args...>   the CLI, with send/files/get registered
//                                                        (if src/cli/index.ts does not list them yet)
//   node test/helpers/files.js peer                      a peer driven over IPC (see peerMain)
//
// NETWORK RULE: every Network here is created on a local testnet bound to 127.0.0.1, and child
// processes get only its bootstrap string, which they check is on 127.0.0.0/8.
import { fork, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor as waitAny } from './wait.js'

const HERE = fileURLToPath(import.meta.url)
const ROOT = path.resolve(path.dirname(HERE), '..', '..')
const DIST = path.join(ROOT, 'dist')
const MiB = 1024 * 1024

// ------------------------------------------------------------------ files

/** A fresh temporary directory, removed at teardown. */
export function tmpdir (t, prefix = 'feedchain-files-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }), { order: Infinity })
  return dir
}

/**
 * Write a file of `bytes` pseudo-random bytes (seeded: the same seed, the same content). With
 * `marker`, every `every` bytes start with it (the tampering peer looks for it). Returns the path.
 */
export function makeFile (file, bytes, { seed = 1, marker = null, every = 64 * 1024 } = {}) {
  const fd = fs.openSync(file, 'w')
  try {
    let state = crypto.createHash('sha256').update(String(seed)).digest()
    let written = 0
    const chunk = Buffer.allocUnsafe(Math.min(MiB, Math.max(bytes, 1)))
    while (written < bytes) {
      const n = Math.min(chunk.byteLength, bytes - written)
      // fast deterministic bytes: a sha256 chain stretched with aes-ctr
      const cipher = crypto.createCipheriv('aes-256-ctr', state, Buffer.alloc(16))
      const out = cipher.update(chunk.fill(0, 0, n).subarray(0, n))
      if (marker !== null) {
        const m = Buffer.from(marker)
        for (let off = Math.ceil(written / every) * every; off < written + n; off += every) out.set(m.subarray(0, Math.min(m.byteLength, written + n - off)), off - written)
      }
      fs.writeSync(fd, out)
      written += n
      state = crypto.createHash('sha256').update(state).digest()
    }
  } finally {
    fs.closeSync(fd)
  }
  return file
}

/** sha256 (hex) of a file, streamed: an independent check that two files are equal. */
export async function sha256 (file) {
  const h = crypto.createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) h.update(chunk)
  return h.digest('hex')
}

/** The feedchain modules the tests use (compiled). */
export async function lib () {
  const index = await import(path.join(DIST, 'index.js'))
  const files = await import(path.join(DIST, 'files', 'chain-files.js'))
  const errors = await import(path.join(DIST, 'files', 'file-errors.js'))
  return { ...index, ...files, ...errors }
}

/** The code a file error with `reason` carries today (src/files/file-errors.ts). */
export async function codeOf (reason) {
  const { FILE_ERRORS } = await import(path.join(DIST, 'files', 'file-errors.js'))
  return FILE_ERRORS[reason]
}

/** Assert that `promise` rejects with a file error of `reason` (and its code). Returns the error. */
export async function rejectsWith (t, promise, reason, message = reason) {
  const code = await codeOf(reason)
  try {
    await promise
  } catch (e) {
    t.is(e.code, code, `${message}: code ${code}`)
    t.is(e.reason, reason, `${message}: reason ${reason} (${e.message})`)
    return e
  }
  t.fail(`${message}: did not reject`)
  return null
}

// ------------------------------------------------------------------ in-process peers

/** Fast settings for tests (the product defaults suit the public DHT). */
export const FAST = { refreshMin: 250, refreshMax: 2000, handshakeTimeout: 3000, banGrace: 300 }

/** A local testnet on 127.0.0.1, destroyed at teardown (registered before it starts): net.js's. */
export { createLoopbackTestnet } from './net.js'

/**
 * A Corestore on `dir`; `writeBufferSize` (bytes) sets RocksDB's memtable size (hypercore-storage
 * defaults to 64 MiB, two of which may be in memory).
 */
export async function openStore (dir, { writeBufferSize = 0 } = {}) {
  const { default: Corestore } = await import('corestore')
  if (writeBufferSize === 0) return new Corestore(dir)
  const { default: Hypercore } = await import('hypercore')
  return new Corestore(Hypercore.defaultStorage(dir, { writeBufferSize }))
}

/**
 * An in-process peer: store, Network on the testnet, ChainNode (creating a chain, or joining
 * `key`), ChainFiles. Everything is closed at teardown.
 */
export async function createPeer (t, testnet, { key = null, blockSize = 0, network = true, dir = tmpdir(t) } = {}) {
  const { ChainNode, ChainFiles } = await lib()
  const store = await openStore(dir)
  t.teardown(() => store.close(), { order: 10 })
  let net = null
  if (network) {
    net = testnet.createNetwork(store, FAST)
    t.teardown(() => net.close(), { order: 0 })
    await net.ready()
  }
  const node = new ChainNode(store, { flushDelay: 20, ...(key ? { key } : {}), ...(net ? { network: net } : {}) })
  t.teardown(() => node.close(), { order: 1 })
  await node.ready()
  const files = new ChainFiles(node, { ...(net ? { network: net } : {}), ...(blockSize ? { blockSize } : {}) })
  t.teardown(() => files.close(), { order: 0.5 })
  await files.ready()
  return { store, network: net, node, files, dir }
}

/** Wait until cond() (sync or async) holds, re-checking on 'update' of the emitters (see wait.js); 20 s by default. */
export function waitFor (emitters, cond, opts = {}) {
  return waitAny(emitters, cond, { ms: 20000, ...opts })
}

/** Wait until `peer` knows the file `id`. */
export function waitForFile (peer, id, ms = 20000) {
  return waitFor([peer.node], async () => (await peer.files.list()).some((f) => f.id === id), { ms, what: `file ${id} on a peer` })
}

// ------------------------------------------------------------------ child processes

function track (t, child) {
  let exited = child.exitCode !== null || child.signalCode !== null
  child.once('exit', () => { exited = true })
  // registered at once: nothing between spawn and here can fail
  t.teardown(() => { if (!exited) child.kill('SIGKILL') }, { order: -10 })
  return () => exited
}

/** The environment for a child: no inherited FEEDCHAIN_* or colour settings, HOME in a temp dir. */
export function cleanEnv (t, extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('FEEDCHAIN_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue
    env[k] = v
  }
  env.HOME = tmpdir(t, 'feedchain-home-')
  return { ...env, ...extra }
}

/**
 * Start the CLI (`feedchain ...args` with the file commands) as a child. Returns { child, done }:
 * done resolves to { code, signal, stdout, stderr, ms }. `onStdout(chunk)` sees stdout as it
 * comes. With `wrap` (e.g. ['unshare', '-m', 'sh', '-c', script]) the command line is handed to it.
 */
export function startCli (t, args, { env = null, timeout = 60000, onStdout = null, input = null, wrap = null } = {}) {
  const argv = [HERE, 'cli', ...args]
  const cmd = wrap ? wrap[0] : process.execPath
  const cmdArgs = wrap ? [...wrap.slice(1), process.execPath, ...argv] : argv
  const t0 = Date.now()
  const child = spawn(cmd, cmdArgs, { env: env ?? cleanEnv(t), stdio: ['pipe', 'pipe', 'pipe'] })
  const exited = track(t, child)
  const timer = setTimeout(() => { if (!exited()) child.kill('SIGKILL') }, timeout)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (d) => { stdout += d; if (onStdout) onStdout(d) })
  child.stderr.on('data', (d) => { stderr += d })
  child.stdin.on('error', () => {})
  if (input !== null) child.stdin.end(input)
  else child.stdin.end()
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })
    })
  })
  return { child, done }
}

/** Run the CLI to completion. */
export function runCli (t, args, opts = {}) {
  return startCli(t, args, opts).done
}

/** Run the CLI, expect exit 0 and return the result. */
export async function okCli (t, args, opts = {}) {
  const r = await runCli(t, args, opts)
  if (r.code !== 0) t.fail(`feedchain ${args.join(' ')} exited ${r.code} (${r.signal ?? ''}): ${r.stderr.trim()}`)
  return r
}

/** Parse NDJSON (every non-empty line an object). */
export function ndjson (text) {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

/** The one-line error contract: non-zero exit, one stderr line `feedchain: … [CODE]`, nothing on stdout. */
export function isCliError (t, r, code, message = '') {
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  t.ok(r.code !== 0 && r.code !== null, `${message} exits non-zero (got ${r.code})`)
  t.is(lines.length, 1, `${message} prints one line on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`)
  t.ok((lines[0] ?? '').endsWith(`[${code}]`), `${message} code is ${code}: ${lines[0]}`)
  t.absent(/\n\s+at /.test(r.stderr), `${message} no stack trace`)
  t.is(r.stdout, '', `${message} nothing on stdout`)
}

/**
 * A peer in a child process, driven over IPC: `request({ type, ... })` resolves with its reply
 * ({ type: 'error' } rejects). Types: open { dir, bootstrap, key? (hex or z-base32), blockSize?, writeBufferSize?, product? }
 * → { key, writerKey }; send { file } → { info }; seed { wait } → {}; files → { list };
 * get { id, output } → { result, peakRss }; peers → { count }; rss → { peak }; close → {}.
 * Killed at teardown if still running.
 */
export function spawnPeer (t, { name = 'peer' } = {}) {
  const child = fork(HERE, ['peer'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: cleanEnv(t) })
  const exited = track(t, child)
  child.on('error', () => {}) // a send to a child that just exited (EPIPE): its exit is reported below
  let log = ''
  child.stdout.on('data', (d) => { log += d })
  child.stderr.on('data', (d) => { log += d })
  let seq = 0
  const waiting = new Map()
  child.on('message', (m) => {
    const w = waiting.get(m.id)
    if (w === undefined) return
    waiting.delete(m.id)
    if (m.type === 'error') w.reject(Object.assign(new Error(`${name}: ${m.message}`), { code: m.code, reason: m.reason }))
    else w.resolve(m)
  })
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${signal ?? code}): ${log.slice(-2000)}`))
    waiting.clear()
  })
  t.teardown(async () => {
    if (exited()) return
    // ask it to close; the kill registered by track() follows if it does not
    await Promise.race([
      new Promise((resolve) => { child.once('exit', resolve); try { child.send({ type: 'close', id: -1 }) } catch { resolve() } }),
      new Promise((resolve) => setTimeout(resolve, 5000)) // deadline, not synchronization
    ])
  }, { order: -5 })
  return {
    child,
    get log () { return log },
    request (msg, ms = 60000) {
      const id = ++seq
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(id); reject(new Error(`${name}: no reply to ${msg.type} in ${ms} ms: ${log.slice(-2000)}`)) }, ms)
        waiting.set(id, {
          resolve: (m) => { clearTimeout(timer); resolve(m) },
          reject: (e) => { clearTimeout(timer); reject(e) }
        })
        child.send({ ...msg, id })
      })
    }
  }
}

/**
 * Sample a child's memory from /proc/<pid>/status every `every` ms until stop(): returns
 * { peakKb: VmHWM (the kernel's own high-water mark, so nothing between samples is missed), lastKb }.
 */
export function sampleRss (pid, every = 100) {
  let peakKb = 0
  let lastKb = 0
  const read = () => {
    try {
      const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
      const hwm = /VmHWM:\s+(\d+) kB/.exec(s)
      const rss = /VmRSS:\s+(\d+) kB/.exec(s)
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]))
      if (rss) lastKb = Number(rss[1])
    } catch {}
  }
  read()
  const timer = setInterval(read, every)
  return {
    stop () {
      read()
      clearInterval(timer)
      return { peakKb, lastKb }
    }
  }
}

// ------------------------------------------------------------------ child side

/**
 * Limit what `network` sends on every connection (present and future) to `rate` bytes/s: a
 * token bucket in front of each connection's write, which reports backpressure (false, then
 * 'drain') so hypercore stops scheduling more data meanwhile.
 */
export function throttle (network, rate) {
  const wrap = (conn) => {
    if (conn.__throttled) return
    conn.__throttled = true
    const write = conn.write.bind(conn)
    const queue = []
    let queued = 0
    let tokens = 0
    let last = Date.now()
    let timer = null
    let needDrain = false
    const pump = () => {
      timer = null
      const now = Date.now()
      tokens = Math.min(rate / 10, tokens + ((now - last) / 1000) * rate) // bursts of at most 100 ms
      last = now
      while (queue.length > 0 && tokens > 0) {
        const d = queue.shift()
        queued -= d.byteLength
        tokens -= d.byteLength
        if (!conn.destroyed) write(d)
      }
      if (queue.length > 0) timer = setTimeout(pump, 10) // pacing, not synchronization
      else if (needDrain) { needDrain = false; conn.emit('drain') }
    }
    conn.write = (data) => {
      queue.push(data)
      queued += data.byteLength
      if (timer === null) pump()
      if (queued < 256 * 1024) return true
      needDrain = true
      return false
    }
  }
  for (const conn of network.swarm?.connections ?? []) wrap(conn)
  network.on('connection', (conn) => wrap(conn))
}

function assertLoopback (bootstrap) {
  const hosts = String(bootstrap).split(',').map((s) => s.slice(0, s.lastIndexOf(':')))
  if (!hosts.length || !hosts.every((h) => /^127\.\d+\.\d+\.\d+$/.test(h))) throw new Error(`refusing a bootstrap outside 127.0.0.0/8: ${bootstrap}`)
}

async function cliMain (args) {
  const { COMMANDS, cli } = await import(path.join(DIST, 'cli', 'index.js'))
  const { sendCommand } = await import(path.join(DIST, 'cli', 'commands', 'send.js'))
  const { filesCommand } = await import(path.join(DIST, 'cli', 'commands', 'files.js'))
  const { getCommand } = await import(path.join(DIST, 'cli', 'commands', 'get.js'))
  for (const c of [sendCommand, filesCommand, getCommand]) if (!COMMANDS.some((x) => x.name === c.name)) COMMANDS.push(c)
  const bootstrap = args[args.indexOf('--bootstrap') + 1]
  if (args.includes('--bootstrap')) assertLoopback(bootstrap)
  process.argv = [process.argv[0], HERE, ...args]
  await cli()
}

async function peerMain () {
  const { ChainNode, ChainFiles, Network, Storage, parseKey, tuneAllocator } = await lib()
  let peer = null
  const reply = (m) => { if (process.connected) process.send(m) }
  process.on('disconnect', () => process.exit(0)) // the test is gone: never linger
  process.on('message', async (m) => {
    try {
      switch (m.type) {
        case 'open': {
          assertLoopback(m.bootstrap)
          // product: the storage and allocator setting the CLI and the daemon use (src/storage.ts,
          // src/allocator.ts); otherwise a plain Corestore
          const storage = m.product === true ? await Storage.open(m.dir, { create: true }) : null
          if (m.product === true) tuneAllocator()
          const store = storage !== null ? storage.store : await openStore(m.dir, { writeBufferSize: m.writeBufferSize ?? 0 })
          const network = new Network(store, { bootstrap: m.bootstrap, host: '127.0.0.1', ...FAST })
          await network.ready()
          const node = new ChainNode(store, { flushDelay: 20, network, ...(m.key ? { key: parseKey(m.key) } : {}) })
          await node.ready()
          const files = new ChainFiles(node, { network, ...(m.blockSize ? { blockSize: m.blockSize } : {}) })
          await files.ready()
          peer = { store, storage, network, node, files }
          return reply({ id: m.id, type: 'opened', key: node.key.toString('hex'), writerKey: node.writerKey.toString('hex') })
        }
        case 'send': return reply({ id: m.id, type: 'sent', info: await peer.files.send(m.file, m.name ? { name: m.name } : {}) })
        case 'seed': await peer.files.seed({ wait: m.wait === true }); return reply({ id: m.id, type: 'seeded' })
        case 'files': return reply({ id: m.id, type: 'files', list: await peer.files.list() })
        case 'wait-file': {
          await waitFor([peer.node], async () => (await peer.files.list()).some((f) => f.id === m.fileId), { ms: m.ms ?? 30000, what: 'file ' + m.fileId })
          return reply({ id: m.id, type: 'has-file' })
        }
        case 'get': {
          const result = await peer.files.get(m.fileId, { output: m.output })
          return reply({ id: m.id, type: 'got', result, peakRss: process.resourceUsage().maxRSS * 1024 })
        }
        case 'add-writer': await peer.node.addWriter(parseKey(m.key)); return reply({ id: m.id, type: 'added' })
        case 'throttle': throttle(peer.network, m.rate); return reply({ id: m.id, type: 'throttled' })
        case 'peers': return reply({ id: m.id, type: 'peers', count: peer.network.peers().length })
        case 'rss': return reply({ id: m.id, type: 'rss', peak: process.resourceUsage().maxRSS * 1024, now: process.memoryUsage().rss })
        case 'close': {
          if (peer !== null) {
            await peer.files.close().catch(() => {})
            await peer.node.close().catch(() => {})
            await peer.network.close().catch(() => {})
            await (peer.storage ?? peer.store).close().catch(() => {})
          }
          reply({ id: m.id, type: 'closed' })
          process.exit(0)
        }
      }
      throw new Error('unknown request ' + m.type)
    } catch (e) {
      reply({ id: m.id, type: 'error', message: e?.message ?? String(e), code: e?.code, reason: e?.reason })
    }
  })
}

if (process.argv[1] === HERE) {
  const mode = process.argv[2]
  if (mode === 'cli') cliMain(process.argv.slice(3))
  else if (mode === 'peer') peerMain()
  else {
    console.error('usage: node test/helpers/files.js cli <args...> | peer')
    process.exit(2)
  }
}
