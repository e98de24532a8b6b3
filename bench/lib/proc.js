// Worker processes for the multi-process benchmarks (finality, catch-up, their anchors).
//
// Parent side: spawnWorker() forks a benchmark file in worker mode with an IPC channel,
// prefixes its output, and returns a handle with send(), next(type) (a message with a
// deadline) and on(type) (a stream of messages). runTracked() runs a whole benchmark script
// (like lib/child.js runChild) and collects its BENCH_RESULT line. Every PID is tracked until
// it exits: on normal exit, uncaught errors, SIGINT/SIGTERM/SIGHUP of this process, all live
// children get SIGTERM, then SIGKILL after a grace period (kill(pid), never by name), and the
// process waits until they are gone before lib/tmp.js removes the temp dirs. stopWorkers()
// asks workers to close, waits for their exit with a deadline, then kills what is left.
//
// Child side: workerChannel() exits a worker when the parent's IPC channel goes away (parent
// died, even by SIGKILL), so a worker never outlives the benchmark; a runTracked() child that
// calls guardProcesses() does the same.
//
// Clock: clock() is performance.timeOrigin + performance.now(), ms since the epoch with
// sub-ms resolution. All processes run on one machine, so timestamps taken in different
// processes are comparable; measureClockOffsets() checks that with IPC ping-pongs.
import { fork, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { BENCH_DIR } from './child.js'
import { parseResult } from './result.js'

/** Wall-clock ms (sub-ms resolution) comparable across processes on this machine. */
export function clock () {
  return performance.timeOrigin + performance.now()
}

const live = new Map() // pid -> ChildProcess
/** BENCH_PROFILE=1: workers write perf symbol maps, so perf's samples name JavaScript frames (lib/perf-profile.js). */
export const PERF_MAPS = process.env.BENCH_PROFILE === '1'
let hooked = false

/**
 * Installs the kill-children-on-exit hooks now. Call it first thing in a parent's main(),
 * before lib/tmp.js hooks SIGINT, so children die before their temp dirs are removed.
 * (spawnWorker/runTracked install it anyway.)
 */
export function guardProcesses () {
  hook()
  // started by runTracked() (an IPC channel to the parent): if the parent dies, so do we (and
  // the 'exit' hook takes our own children with us)
  if (typeof process.send === 'function' && !process.argv.includes('--worker')) {
    process.on('disconnect', () => process.exit(130))
    if (process.channel) process.channel.unref() // the channel alone must not keep us alive
  }
}

function hook () {
  if (hooked) return
  hooked = true
  // 'exit' listeners run synchronously; kill() is a synchronous syscall, so this works there.
  process.on('exit', () => killAll())
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll()
      // other handlers (lib/tmp.js) may exit with their own code; if none does, exit here.
      setImmediate(() => process.exit(130))
    })
  }
  process.on('uncaughtException', (err) => {
    console.error(err)
    killAll()
    process.exit(1)
  })
}

/**
 * Stops every tracked child that has not exited yet: SIGTERM first (a benchmark child then
 * kills its own workers and removes its temp dirs, see hook()), up to `graceMs` for them to
 * go, then SIGKILL and up to 1 s more. Waits synchronously (this runs in exit and signal
 * handlers) until each is gone or a zombie: its files are closed then, so lib/tmp.js can
 * remove the temp dirs it wrote to (its hooks run right after these).
 */
export function killAll ({ graceMs = 2000 } = {}) {
  const pids = []
  for (const [pid, child] of live) {
    if (child.exitCode === null && child.signalCode === null) pids.push(pid)
    live.delete(pid)
  }
  if (!pids.length) return
  const signal = (sig) => { for (const pid of pids) { try { process.kill(pid, sig) } catch {} } }
  const waitGone = (ms) => {
    const deadline = Date.now() + ms
    const tick = new Int32Array(new SharedArrayBuffer(4))
    while (pids.some(running) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 5) // cleanup path only
  }
  if (graceMs > 0) {
    signal('SIGTERM')
    waitGone(graceMs)
  }
  if (pids.some(running)) {
    signal('SIGKILL')
    waitGone(1000)
  }
}

// Linux: /proc/<pid>/stat gone or state Z (exited, not reaped yet) means the process is done.
function running (pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false // gone (or no /proc here: then don't wait)
  }
}

/** Number of tracked children still running (for a final check). */
export function liveCount () {
  return live.size
}

/** Track a child started some other way (perf, a tool) like the workers: killed at exit. */
export function trackChild (child) {
  track(child)
}

function track (child) {
  hook()
  if (child.pid === undefined) return
  live.set(child.pid, child)
  child.once('exit', () => live.delete(child.pid))
}

function pipeLines (stream, out, prefix) {
  if (!stream) return
  stream.setEncoding('utf8')
  let buf = ''
  stream.on('data', (d) => {
    buf += d
    const lines = buf.split('\n')
    buf = lines.pop()
    for (const l of lines) out.write(prefix + l + '\n')
  })
  stream.on('end', () => { if (buf) out.write(prefix + buf + '\n') })
}

/**
 * Forks `bench/<script> --worker` with an IPC channel (and `nodeFlags` for Node). Returns a Worker:
 *   name, pid, spawnedAt (clock() just before fork), send(msg),
 *   next(type, { timeoutMs, filter }) -> the next message of that type (queued ones first),
 *   on(type, fn) -> every message of that type is handed to fn instead of being queued,
 *   exited -> Promise<{ code, signal }>, kill().
 * A message is an object { type, ... }; { type: 'error', message } from the worker rejects
 * every pending next().
 */
export function spawnWorker (script, { name = script, env = {}, args = [], nodeFlags = [] } = {}) {
  const file = path.join(BENCH_DIR, script)
  const spawnedAt = clock()
  const child = fork(file, ['--worker', ...args], {
    env: { ...process.env, ...env },
    // nodeFlags: Node's flags for this worker (feedchain's sides run with the CLI's, NODE_FLAGS)
    execArgv: [...process.execArgv, ...nodeFlags, ...(PERF_MAPS ? ['--perf-basic-prof-only-functions'] : [])],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced'
  })
  track(child)
  // V8 writes the JIT symbol map for perf to /tmp/perf-<pid>.map (a fixed path) and leaves it
  if (PERF_MAPS && child.pid !== undefined) child.once('exit', () => fs.rmSync(`/tmp/perf-${child.pid}.map`, { force: true }))
  const prefix = `  [${name}] `
  pipeLines(child.stdout, process.stdout, prefix)
  pipeLines(child.stderr, process.stderr, prefix)

  const inbox = []
  const waiters = new Set()
  const streams = new Map()
  let failure = null

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      if (!failure) failure = new Error(`worker ${name} exited (${signal || code})`)
      for (const w of [...waiters]) w.reject(failure)
      resolve({ code, signal })
    })
  })
  child.on('error', (err) => {
    failure = err
    for (const w of [...waiters]) w.reject(err)
  })
  child.on('message', (msg) => {
    if (!msg || typeof msg !== 'object') return
    if (msg.type === 'error') {
      failure = new Error(`worker ${name}: ${msg.message}`)
      for (const w of [...waiters]) w.reject(failure)
      return
    }
    const fn = streams.get(msg.type)
    if (fn) { fn(msg); return }
    for (const w of waiters) {
      if (w.type === msg.type && w.filter(msg)) { w.resolve(msg); return }
    }
    inbox.push(msg)
  })

  return {
    name,
    pid: child.pid,
    spawnedAt,
    child,
    exited,
    send (msg) {
      if (child.connected) child.send(msg)
      else throw new Error(`worker ${name} is not connected`)
    },
    on (type, fn) {
      streams.set(type, fn)
      for (let i = 0; i < inbox.length; i++) {
        if (inbox[i].type === type) { fn(inbox[i]); inbox.splice(i--, 1) }
      }
    },
    next (type, { timeoutMs = 60_000, filter = () => true } = {}) {
      const i = inbox.findIndex((m) => m.type === type && filter(m))
      if (i !== -1) return Promise.resolve(inbox.splice(i, 1)[0])
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => {
        const w = {
          type,
          filter,
          resolve: (m) => { done(); resolve(m) },
          reject: (e) => { done(); reject(e) }
        }
        const timer = setTimeout(() => w.reject(new Error(`timed out after ${timeoutMs} ms waiting for '${type}' from worker ${name}`)), timeoutMs)
        function done () { clearTimeout(timer); waiters.delete(w) }
        waiters.add(w)
      })
    },
    kill () {
      if (child.exitCode === null && child.signalCode === null) {
        try { process.kill(child.pid, 'SIGKILL') } catch {}
      }
    }
  }
}

/** Sends a message to several workers and waits for one reply of `type` from each. */
export function request (workers, msg, type, opts) {
  for (const w of workers) w.send(msg)
  return Promise.all(workers.map((w) => w.next(type, opts)))
}

/**
 * Asks workers to close ({ type: 'close' }), waits up to `timeoutMs` for each to exit, then
 * SIGKILLs the rest. Never throws. Resolves to the names of workers that had to be killed.
 */
export async function stopWorkers (workers, { timeoutMs = 10_000 } = {}) {
  const killed = []
  await Promise.all(workers.map(async (w) => {
    try { w.send({ type: 'close' }) } catch {}
    let timer
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve('late'), timeoutMs) })
    const r = await Promise.race([w.exited, late])
    clearTimeout(timer)
    if (r === 'late') { killed.push(w.name); w.kill(); await w.exited }
  }))
  return killed
}

/**
 * Runs `node bench/<script>` (a whole benchmark, e.g. an anchor) as a tracked child, echoing
 * its output with `prefix`. Resolves { code, signal, result, ms } like lib/child.js runChild;
 * the child is SIGKILLed if it runs past `timeoutMs` (or this process exits).
 */
export function runTracked (script, { env = {}, prefix = '', timeoutMs = 0 } = {}) {
  const file = path.join(BENCH_DIR, script)
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'] // the channel only tells the child when we are gone
    })
    track(child)
    let out = ''
    let timedOut = false
    const timer = timeoutMs > 0
      ? setTimeout(() => { timedOut = true; try { process.kill(child.pid, 'SIGKILL') } catch {} }, timeoutMs)
      : null
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d) => { out += d })
    pipeLines(child.stdout, process.stdout, prefix)
    pipeLines(child.stderr, process.stderr, prefix)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      let result = null
      try { result = parseResult(out) } catch (err) { process.stderr.write(`[bench] bad BENCH_RESULT from ${script}: ${err.message}\n`) }
      resolve({ code, signal, result, ms: Date.now() - start, timedOut })
    })
  })
}

/**
 * Estimates each worker's clock offset against ours with `rounds` IPC ping-pongs (the worker
 * answers { type: 'pong', id, t: clock() }): offset = t - (sent + received) / 2 from the round
 * with the smallest round trip. Returns [{ name, offsetMs, rttMs }].
 */
export async function measureClockOffsets (workers, { rounds = 20 } = {}) {
  const out = []
  for (const w of workers) {
    let best = null
    for (let i = 0; i < rounds; i++) {
      const id = `${w.name}-${i}`
      const sent = clock()
      w.send({ type: 'ping', id })
      const pong = await w.next('pong', { filter: (m) => m.id === id, timeoutMs: 10_000 })
      const received = clock()
      const rtt = received - sent
      if (best === null || rtt < best.rttMs) best = { name: w.name, offsetMs: pong.t - (sent + received) / 2, rttMs: rtt }
    }
    out.push(best)
  }
  return out
}

// ------------------------------------------------------------------ worker side

/** True when this process was started by spawnWorker(). */
export function isWorker () {
  return process.argv.includes('--worker') && typeof process.send === 'function'
}

/**
 * Worker side of the channel: dispatches { type } messages to `handlers[type](msg, reply)`
 * (reply(obj) sends to the parent), answers 'ping' with the clock, reports a handler's
 * failure as { type: 'error' } and exits when the parent goes away. 'close' runs
 * handlers.close (if any) and then exits 0.
 */
export function workerChannel (handlers) {
  const reply = (msg) => { if (process.connected) process.send(msg) }
  const fail = (err) => {
    try { reply({ type: 'error', message: String(err && err.stack ? err.stack : err) }) } catch {}
    console.error(err)
    setImmediate(() => process.exit(1))
  }
  process.on('disconnect', () => process.exit(0)) // the parent is gone: never linger
  process.on('unhandledRejection', fail)
  process.on('uncaughtException', fail)
  process.on('message', async (msg) => {
    if (!msg || typeof msg !== 'object') return
    if (msg.type === 'ping') { reply({ type: 'pong', id: msg.id, t: clock() }); return }
    try {
      if (msg.type === 'close') {
        if (handlers.close) await handlers.close(msg, reply)
        reply({ type: 'closed' })
        process.disconnect()
        process.exit(0)
      }
      const h = handlers[msg.type]
      if (!h) throw new Error(`unknown message type ${msg.type}`)
      await h(msg, reply)
    } catch (err) {
      fail(err)
    }
  })
  return reply
}

/** Percentile (nearest rank, p in 0..100) of a list of numbers; null if empty. */
export function percentile (xs, p) {
  if (!xs.length) return null
  const s = [...xs].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * s.length)
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]
}
