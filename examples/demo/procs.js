// The demo's child processes: every person's `feedchain daemon` and CLI commands, run as the
// real bin/feedchain.js on that person's own storage, bound to the loopback testnet.
//
// Safety rules kept here:
// - every child gets FEEDCHAIN_BOOTSTRAP = the local testnet, checked to be on 127.0.0.0/8, and a
//   HOME inside the demo's temporary directory (nothing reads or writes ~/.feedchain);
// - every child's PID is recorded the moment it is spawned; stopAll() ends exactly those, and an
//   exit handler SIGKILLs any still running if the demo dies before stopAll() ran;
// - waits are on output lines or exits, each with a deadline.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** bin/feedchain.js of this checkout. */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'feedchain.js')

/** Limit of one CLI command, ms (a hung command fails its step instead of the demo hanging). */
export const COMMAND_TIMEOUT_MS = 60_000
/** How long a daemon has to print `daemon ready`, ms. */
export const DAEMON_READY_MS = 20_000
/** After SIGTERM, how long a daemon has to exit before SIGKILL, ms (its own hard deadline is 10 s). */
export const DAEMON_STOP_MS = 12_000

/** Arguments as a person would type them in a shell (quoted where needed). */
export function shellLine (args) {
  return args.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`).join(' ')
}

/** A failure of one step of the story: what failed, in one line. */
export class StepError extends Error {}

/** Throw unless every `host:port` of a bootstrap list is on 127.0.0.0/8. */
export function assertLoopback (bootstrap) {
  for (const item of bootstrap.split(',')) {
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+$/.test(item)) throw new Error(`refusing a bootstrap node off loopback: ${item}`)
  }
}

/** The PIDs of every child still running (shared by all people). */
const live = new Map()
process.on('exit', () => {
  for (const pid of live.keys()) { try { process.kill(pid, 'SIGKILL') } catch {} }
})

/**
 * A child process: its output (stdout and stderr, also interleaved in arrival order), line
 * callbacks, and `exited` ({ code, signal }).
 */
class Child {
  constructor (args, env, label) {
    this.label = label
    this.stdout = ''
    this.stderr = ''
    this.both = ''
    this.done = false
    this.waiters = new Set()
    this.proc = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.pid = this.proc.pid
    live.set(this.pid, label)
    this.proc.stdout.setEncoding('utf8')
    this.proc.stderr.setEncoding('utf8')
    this.proc.stdin.on('error', () => {})
    this.proc.stdout.on('data', (d) => { this.stdout += d; this.both += d; this.wake() })
    this.proc.stderr.on('data', (d) => { this.stderr += d; this.both += d; this.wake() })
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => { this.stderr += `spawn failed: ${e.message}\n` })
      this.proc.on('close', (code, signal) => {
        this.done = true
        live.delete(this.pid)
        this.wake()
        resolve({ code, signal })
      })
    })
  }

  wake () {
    for (const w of [...this.waiters]) w()
  }

  /** Signal this child, if it still runs (only ever its own PID). */
  kill (signal) {
    if (!this.done) { try { process.kill(this.pid, signal) } catch {} }
  }

  /** Wait until `re` matches the accumulated `stream` text; fail after `ms` or if the child exits first. */
  waitFor (stream, re, ms, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new StepError(`timed out after ${ms / 1000} s waiting for ${what}`)), ms)
      const finish = (e, v) => {
        clearTimeout(timer)
        this.waiters.delete(test)
        if (e) reject(e)
        else resolve(v)
      }
      const test = () => {
        const m = re.exec(this[stream])
        if (m) return finish(null, m)
        if (this.done) finish(new StepError(`${this.label} exited before ${what}: ${lastLine(this.stderr)}`))
      }
      this.waiters.add(test)
      test()
    })
  }

  /** Wait for the exit; SIGKILL (by PID) after `ms`. */
  async wait (ms) {
    const timer = setTimeout(() => this.kill('SIGKILL'), ms)
    const r = await this.exited
    clearTimeout(timer)
    return { ...r, timedOut: r.signal === 'SIGKILL' }
  }
}

function lastLine (text) {
  const lines = text.trim().split('\n')
  return lines[lines.length - 1] || '(no output)'
}

/** One person: a storage directory, an environment, a daemon that may be running, and commands. */
export class Person {
  constructor (name, root, bootstrap) {
    assertLoopback(bootstrap)
    this.name = name
    this.dir = path.join(root, name)
    this.storage = path.join(this.dir, 'storage')
    fs.mkdirSync(path.join(this.dir, 'home'), { recursive: true })
    this.env = {}
    for (const [k, v] of Object.entries(process.env)) {
      if (k.startsWith('FEEDCHAIN_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue
      this.env[k] = v
    }
    this.env.HOME = path.join(this.dir, 'home')
    this.env.FEEDCHAIN_STORAGE = this.storage
    this.env.FEEDCHAIN_BOOTSTRAP = bootstrap
    this.daemon = null
  }

  /** Start a CLI command (for long-running ones: `log -f`, `get --json` read while it runs). */
  spawn (args, label = `${this.name}'s feedchain ${args[0]}`) {
    return new Child(args, this.env, label)
  }

  /**
   * Run `feedchain args…` to completion: { code, stdout, stderr, both, ms }. Throws a StepError if it
   * exits non-zero (unless `allowFail`) or takes longer than `timeout` ms.
   */
  async run (args, { input, timeout = COMMAND_TIMEOUT_MS, allowFail = false } = {}) {
    const t0 = performance.now()
    const child = this.spawn(args)
    if (input !== undefined) child.proc.stdin.end(input)
    else child.proc.stdin.end()
    const r = await child.wait(timeout)
    const res = { code: r.code, stdout: child.stdout, stderr: child.stderr, both: child.both, ms: performance.now() - t0 }
    if (r.timedOut) throw new StepError(`${this.name}: \`${shellLine(['feedchain', ...args])}\` did not finish within ${timeout / 1000} s`)
    if (r.code !== 0 && !allowFail) throw new StepError(`${this.name}: \`${shellLine(['feedchain', ...args])}\` exited ${r.code}: ${lastLine(child.stderr)}`)
    return res
  }

  /** Run with --json and parse the NDJSON records on stdout. */
  async json (args, opts) {
    const r = await this.run([...args, '--json'], opts)
    return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l))
  }

  /** `status --json` (through the daemon when one runs). */
  async status () {
    const [s] = await this.json(['status'])
    return s
  }

  /** Start `feedchain daemon` and wait for its ready line; returns the line. */
  async startDaemon () {
    if (this.daemon !== null && !this.daemon.done) throw new Error(`${this.name}'s daemon is already running`)
    this.daemon = this.spawn(['daemon'], `${this.name}'s daemon`)
    this.daemon.proc.stdin.end()
    const m = await this.daemon.waitFor('stderr', /daemon ready: \S+\n/, DAEMON_READY_MS, `${this.name}'s daemon to be ready`)
    return m[0].trim()
  }

  /** SIGTERM the daemon (as Ctrl-C would) and wait for it to stop; returns { code, signal, lines }. */
  async stopDaemon () {
    const d = this.daemon
    if (d === null || d.done) return null
    const before = d.stderr.length
    d.kill('SIGTERM')
    const r = await d.wait(DAEMON_STOP_MS)
    this.daemon = null
    return { ...r, pid: d.pid, tail: d.stderr.slice(before) }
  }
}

/**
 * End every child still running: daemons get SIGTERM (they close their storage cleanly) and
 * then SIGKILL after a deadline; anything else SIGKILL at once. Only PIDs this demo spawned.
 */
export async function stopAll (people) {
  const daemons = people.map((p) => p.daemon).filter((d) => d !== null && !d.done)
  for (const pid of live.keys()) {
    if (!daemons.some((d) => d.pid === pid)) { try { process.kill(pid, 'SIGKILL') } catch {} }
  }
  await Promise.all(daemons.map(async (d) => { d.kill('SIGTERM'); await d.wait(DAEMON_STOP_MS) }))
  for (const p of people) p.daemon = null
}
