// Helpers for the CLI tests: run the real bin/feedchain.js in a child process on temporary
// storage, and check the one-line error contract. Every helper takes `t` and registers its own
// teardown before anything can fail; only children started here are killed.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(root, 'bin', 'feedchain.js')
export const DIST = path.join(root, 'dist')

/** Per-run time limit of one CLI call, ms: a hung command fails its test instead of the file. */
const RUN_TIMEOUT_MS = 30_000

/** A fresh temporary directory, removed at teardown. */
export function tmpDir (t, prefix = 'feedchain-cli-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A storage path inside a fresh temporary directory; not created (init creates it). */
export function storagePath (t, name = 'store') {
  return path.join(tmpDir(t), name)
}

const homes = new WeakMap()

/** The environment for a child: no inherited FEEDCHAIN_* or colour settings, HOME in a temp dir (one per test). */
export function cleanEnv (t, extra = {}) {
  if (!homes.has(t)) homes.set(t, tmpDir(t, 'feedchain-home-'))
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('FEEDCHAIN_') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue
    env[k] = v
  }
  env.HOME = homes.get(t)
  return { ...env, ...extra }
}

/**
 * Start `feedchain ...args` and return { child, done } where done resolves to
 * { code, signal, stdout, stderr, ms }. The child is killed at teardown if still running.
 */
export function start (t, args, opts = {}) {
  const env = opts.env ?? cleanEnv(t)
  const t0 = Date.now()
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let exited = false
  t.teardown(() => { if (!exited) child.kill('SIGKILL') })
  const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL') }, opts.timeout ?? RUN_TIMEOUT_MS)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  child.stdin.on('error', () => {}) // the child may exit before reading all of its input
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      exited = true
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })
    })
  })
  if (opts.input !== undefined) child.stdin.end(opts.input)
  else if (opts.keepStdin !== true) child.stdin.end()
  return { child, done }
}

/** Run `feedchain ...args` to completion. opts: { storage, input, env, timeout }. */
export function run (t, args, opts = {}) {
  const full = opts.storage !== undefined ? ['--storage', opts.storage, ...args] : args
  return start(t, full, opts).done
}

/** Run, expect exit 0, and return the result (fails the test with stderr otherwise). */
export async function ok (t, args, opts = {}) {
  const r = await run(t, args, opts)
  if (r.code !== 0) t.fail(`feedchain ${args.join(' ')} exited ${r.code} (${r.signal ?? ''}): ${r.stderr.trim()}`)
  return r
}

/** Run with --json, expect exit 0, and return the parsed NDJSON records. */
export async function okJson (t, args, opts = {}) {
  const r = await ok(t, [...args, '--json'], opts)
  return parseNdjson(t, r.stdout)
}

/** Parse NDJSON output (every line must be one JSON object). */
export function parseNdjson (t, text) {
  const out = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    try {
      out.push(JSON.parse(line))
    } catch {
      t.fail('not an NDJSON line: ' + line.slice(0, 200))
    }
  }
  return out
}

/**
 * Assert the error contract: non-zero exit, exactly one line on stderr ending in `[CODE]`, no
 * stack trace, nothing on stdout.
 */
export function isCliError (t, r, code, message = '') {
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  t.ok(r.code !== 0 && r.code !== null, `${message} exits non-zero (got ${r.code})`)
  t.is(lines.length, 1, `${message} prints one line on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`)
  t.ok(/^feedchain: .*\[[A-Z_]+\]$/.test(lines[0] ?? ''), `${message} line is "feedchain: … [CODE]"`)
  t.ok((lines[0] ?? '').endsWith(`[${code}]`), `${message} code is ${code}: ${lines[0]}`)
  t.absent(/\n\s+at /.test(r.stderr), `${message} no stack trace`)
  t.is(r.stdout, '', `${message} nothing on stdout`)
}

/** Create a chain in a fresh storage; returns { storage, key, writerKey }. */
export async function initChain (t, name = 'test chain') {
  const storage = storagePath(t)
  const [rec] = await okJson(t, ['init', '--name', name], { storage })
  return { storage, key: rec.key, writerKey: rec.writerKey }
}
