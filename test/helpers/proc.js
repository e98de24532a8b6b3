// Child processes for the daemon and end-to-end tests: the real bin/feedchain.js (daemons and
// CLI calls) and small adversary scripts, all on a local testnet bound to 127.0.0.1.
//
// Rules kept here so every test gets them for free:
// - every child gets FEEDCHAIN_BOOTSTRAP pointing at the local testnet (checked to be loopback
//   only), so nothing ever bootstraps from the public DHT;
// - every child is SIGKILLed at teardown if it is still running, by its own PID only; its
//   teardown is registered before it is spawned; teardown order: children -10, testnet 20,
//   temporary directories Infinity, all with `force` (brittle runs only forced teardowns when a
//   test throws), and an exit handler repeats the kills if the process dies before teardown;
// - waits are on output lines or polled conditions with a deadline, never on sleeps.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(root, 'bin', 'feedchain.js')
export const DIST = path.join(root, 'dist')
export const ROOT = root

/** Per-call limit of one CLI run, ms (a hung command fails its test, not the file). */
const CLI_TIMEOUT_MS = 45_000

// Safety net for a test process that dies before its teardowns run (brittle lets an error thrown
// in a test crash the process): kill every child still running, by its PID, and remove the
// temporary directories, as the process exits.
const live = new Set()
const dirs = new Set()
process.on('exit', () => {
  for (const pid of live) { try { process.kill(pid, 'SIGKILL') } catch {} }
  for (const dir of dirs) { try { fs.rmSync(dir, { recursive: true, force: true }) } catch {} }
})

/** A fresh temporary directory, removed at teardown (after every child is gone). */
export function tmpDir (t, prefix = 'feedchain-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  dirs.add(dir)
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }); dirs.delete(dir) }, { order: Infinity, force: true })
  return dir
}

/** A local testnet on 127.0.0.1 in this process, destroyed at teardown. Returns { bootstrap: 'h:p,…', testnet }. */
export async function localTestnet (t) {
  const { createLocalTestnet } = await import(path.join(DIST, 'net', 'testnet.js'))
  let testnet = null
  t.teardown(() => testnet?.destroy(), { order: 20, force: true })
  testnet = await createLocalTestnet(3)
  assertLoopback(testnet.bootstrapString)
  return { bootstrap: testnet.bootstrapString, testnet }
}

/** Throw unless every node of a bootstrap list is on 127.0.0.0/8. */
export function assertLoopback (bootstrap) {
  for (const item of bootstrap.split(',')) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+$/.test(item)) throw new Error(`refusing a bootstrap node off loopback: ${item}`)
  }
}

/**
 * The environment of a child: no inherited FEEDCHAIN_* or colour settings, HOME in a temporary
 * directory, FEEDCHAIN_BOOTSTRAP = the local testnet (loopback only).
 */
export function childEnv (t, bootstrap, extra = {}) {
  assertLoopback(bootstrap)
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('FEEDCHAIN_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue
    env[k] = v
  }
  env.HOME = tmpDir(t, 'feedchain-home-')
  env.FEEDCHAIN_BOOTSTRAP = bootstrap
  return { ...env, ...extra }
}

/**
 * Spawn `node <args>` and track it. Returns a Proc:
 *   { child, pid, out(), err(), waitFor(stream, match, ms, what), exited, kill(signal), alive() }
 * `exited` resolves to { code, signal }. SIGKILLed at teardown if still running.
 */
export function spawnNode (t, args, { env, cwd = root, input, keepStdin = false, malformedBootstrap = false } = {}) {
  if (env === undefined || typeof env.FEEDCHAIN_BOOTSTRAP !== 'string') throw new Error('spawnNode needs an env with a loopback FEEDCHAIN_BOOTSTRAP (childEnv)')
  // malformedBootstrap: only for input the CLI must reject before any network exists (and the test checks it did)
  if (!malformedBootstrap) assertLoopback(env.FEEDCHAIN_BOOTSTRAP)
  const state = { exited: false, stdout: '', stderr: '', waiters: [] }
  let child = null
  t.teardown(() => { if (child !== null && !state.exited) { try { process.kill(child.pid, 'SIGKILL') } catch {} } }, { order: -10, force: true })
  child = spawn(process.execPath, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child.pid)
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  const check = () => { for (const w of [...state.waiters]) w() }
  child.stdout.on('data', (d) => { state.stdout += d; check() })
  child.stderr.on('data', (d) => { state.stderr += d; check() })
  child.stdin.on('error', () => {})
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => { state.exited = true; live.delete(child.pid); check(); resolve({ code, signal }) })
  })
  if (input !== undefined) child.stdin.end(input)
  else if (!keepStdin) child.stdin.end()
  return {
    child,
    pid: child.pid,
    exited,
    out: () => state.stdout,
    err: () => state.stderr,
    alive: () => !state.exited,
    /** Send a signal to this child (only if it still runs). */
    kill (signal = 'SIGKILL') {
      if (!state.exited) { try { process.kill(child.pid, signal) } catch {} }
    },
    /**
     * Wait until `match` (a RegExp, or a function of the text) matches the accumulated text of
     * `stream` ('stdout' | 'stderr'); resolves with the match. Fails after `ms`, or if the child exits first.
     */
    waitFor (stream, match, ms = 20_000, what = String(match)) {
      return new Promise((resolve, reject) => {
        const test = () => {
          const text = stream === 'stdout' ? state.stdout : state.stderr
          return typeof match === 'function' ? match(text) : match.exec(text)
        }
        const done = (e, v) => {
          clearTimeout(timer)
          state.waiters = state.waiters.filter((w) => w !== onData)
          if (e) reject(e)
          else resolve(v)
        }
        const onData = () => {
          const m = test()
          if (m) return done(null, m)
          if (state.exited) done(new Error(`process ${child.pid} exited before ${what}; stderr: ${state.stderr.slice(-800)}`))
        }
        const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${what}; stderr: ${state.stderr.slice(-800)}`)), ms)
        state.waiters.push(onData)
        onData()
      })
    },
  }
}

/** Run `feedchain --storage <storage> ...args` to completion: { code, signal, stdout, stderr, ms }. */
export async function cli (t, env, storage, args, { input, timeout = CLI_TIMEOUT_MS, malformedBootstrap = false } = {}) {
  const t0 = Date.now()
  const full = storage === null ? args : ['--storage', storage, ...args]
  const p = spawnNode(t, [BIN, ...full], { env, input, malformedBootstrap })
  const timer = setTimeout(() => p.kill('SIGKILL'), timeout)
  const { code, signal } = await p.exited
  clearTimeout(timer)
  return { code, signal, stdout: p.out(), stderr: p.err(), ms: Date.now() - t0 }
}

/** Run a CLI command expecting exit 0; returns the result (fails the test with stderr otherwise). */
export async function cliOk (t, env, storage, args, opts) {
  const r = await cli(t, env, storage, args, opts)
  if (r.code !== 0) t.fail(`feedchain ${args.join(' ')} exited ${r.code} (${r.signal ?? ''}): ${r.stderr.trim().slice(-600)}`)
  return r
}

/** Run with --json expecting exit 0; returns the parsed NDJSON records. */
export async function cliJson (t, env, storage, args, opts) {
  const r = await cliOk(t, env, storage, [...args, '--json'], opts)
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

/** `status --json` of a storage (through its daemon if one runs). */
export async function statusOf (t, env, storage) {
  const [s] = await cliJson(t, env, storage, ['status'])
  return s
}

/**
 * Start `feedchain daemon` on `storage` and wait for its ready line. Returns the Proc plus
 * { storage, socket, stop(signal) } — stop() signals it and waits for the exit (SIGKILL after 15 s).
 */
export async function startDaemon (t, env, storage, { json = false } = {}) {
  const p = spawnNode(t, [BIN, '--storage', storage, 'daemon', ...(json ? ['--json'] : [])], { env })
  const m = await p.waitFor('stderr', /daemon ready: (\S+)\n/, 20_000, `the daemon on ${storage} to be ready`)
  return {
    ...p,
    storage,
    socket: m[1],
    async stop (signal = 'SIGTERM') {
      p.kill(signal)
      const timer = setTimeout(() => p.kill('SIGKILL'), 15_000)
      const r = await p.exited
      clearTimeout(timer)
      return r
    },
  }
}

/**
 * Poll `fn` (async, returns truthy when done) until it succeeds; fail after `ms` with `what` and
 * the last value `describe(last)` gives. The interval is the poll period of a convergence wait.
 */
export async function until (fn, { ms = 30_000, what = 'condition', interval = 200, describe = null } = {}) {
  const deadline = Date.now() + ms
  let last
  while (true) {
    last = await fn()
    if (last && last !== null && (typeof last !== 'object' || last.ok !== false)) return last
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}` + (describe ? ': ' + describe(last) : ''))
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

/** Every status in `list` has the same final length and head, nothing pending, and no forked writer. */
export function sameFinal (list, minFinal = 0) {
  const [first] = list
  return list.every((s) => s.finalLength === first.finalLength && s.head === first.head && s.pending === 0 &&
    s.length === s.finalLength && s.writers.every((w) => !w.forked)) && first.finalLength >= minFinal
}

/** Poll `status --json` of every storage until they all agree (sameFinal); returns the statuses. */
export async function waitConverged (t, env, storages, { minFinal = 0, ms = 40_000 } = {}) {
  return until(async () => {
    const list = await Promise.all(storages.map((s) => statusOf(t, env, s)))
    return sameFinal(list, minFinal) ? list : { ok: false, list }
  }, {
    ms,
    what: `${storages.length} storages to converge (final ≥ ${minFinal})`,
    describe: (last) => JSON.stringify(last?.list?.map((s) => ({ len: s.length, fin: s.finalLength, pend: s.pending, head: s.head.slice(0, 8), peers: s.peers.length }))),
  })
}

/**
 * A three-member chain on three daemons: A creates it (init through its daemon), B and C join
 * through theirs, A adds both as indexers; returns once every node sees 3 indexers.
 * Returns { key, nodes: [{ name, storage, daemon, writerKey }] }.
 */
export async function threeDaemonChain (t, env, dir, name = 'e2e') {
  const storages = ['a', 'b', 'c'].map((n) => path.join(dir, n))
  const daemons = await Promise.all(storages.map((s) => startDaemon(t, env, s)))
  const [created] = await cliJson(t, env, storages[0], ['init', '--name', name])
  const joined = await Promise.all(storages.slice(1).map((s) => cliJson(t, env, s, ['join', created.key])))
  for (const [rec] of joined) t.is(rec.caughtUp, true, 'join through the daemon caught up')
  const nodes = storages.map((storage, i) => ({ name: 'ABC'[i], storage, daemon: daemons[i], writerKey: i === 0 ? created.writerKey : joined[i - 1][0].writerKey }))
  for (const n of nodes.slice(1)) await cliOk(t, env, storages[0], ['writers', 'add', n.writerKey, '--indexer'])
  await until(async () => {
    const list = await Promise.all(storages.map((s) => statusOf(t, env, s)))
    return list.every((s) => s.isIndexer && s.writers.filter((w) => w.indexer).length === 3)
  }, { what: 'three indexers on every node' })
  return { key: created.key, nodes }
}

/** Entries of `log --json` of a storage. */
export function logOf (t, env, storage) {
  return cliJson(t, env, storage, ['log'])
}
