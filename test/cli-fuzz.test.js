// Random argument vectors against the CLI: no crash, no stack trace, an integer exit code, and
// every failure one `feedchain: … [CODE]` line with the exit code of that code. The vectors are
// built from the real command and option names (read off the commander program) and random
// values: keys in z-base32, hex and garbage, numbers (negative, huge, fractional), empty
// strings, unicode, `-`, `--`, paths that exist, are missing or are directories, and junk.
//
// 1,000+ of them run in this process through `main(argv, io)` with captured streams (a spawned
// process each would take minutes), several at a time, on a local loopback testnet; a command
// still waiting (on peers, or `daemon`) is stopped through io.signal after ABORT_MS, as SIGTERM
// would. Then a sample runs again through the real bin/feedchain.js, each in an environment
// built the same way as its in-process twin, and the exit code and error code must match.
//
//   FEEDCHAIN_FUZZ_SEED=<n>    replay a run (the seed is printed first)
//   FEEDCHAIN_FUZZ_COUNT=<n>   how many vectors (default 1200)
//   FEEDCHAIN_FUZZ_VERBOSE=1   print one vector and its last stderr line for every outcome
import test from 'brittle'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import ids from 'hypercore-id-encoding'
import { DIST, assertLoopback, childEnv, localTestnet, spawnNode, BIN } from './helpers/proc.js'

const SEED = process.env.FEEDCHAIN_FUZZ_SEED !== undefined ? Number(process.env.FEEDCHAIN_FUZZ_SEED) >>> 0 : (Date.now() ^ process.pid) >>> 0
const COUNT = Number(process.env.FEEDCHAIN_FUZZ_COUNT) || 1200
/** In-process runs side by side. */
const WIDTH = 10
/** A run still going after this long is stopped through io.signal (as SIGTERM), ms. */
const ABORT_MS = 1500
/** A run not finished this long after being stopped has hung: a failure, ms. */
const HUNG_MS = 15_000
/** Vectors replayed through the spawned binary, and how many lanes do so side by side. */
const SAMPLE = 52
const SAMPLE_LANES = 4

// Everything a run could touch by default lives in a temporary directory: HOME (`~`, the
// default storage) and the working directory (relative paths, `get`'s default target).
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-fuzz-'))
process.env.HOME = path.join(root, 'home')
fs.mkdirSync(process.env.HOME)
const cwd = path.join(root, 'cwd')
fs.mkdirSync(cwd)
process.chdir(cwd)
process.on('exit', () => { try { fs.rmSync(root, { recursive: true, force: true }) } catch {} })
// main reads its environment from io.env only (checked below); nothing comes from ours
for (const k of Object.keys(process.env)) if (k.startsWith('FEEDCHAIN_')) delete process.env[k]
// many runs at once each listen for SIGINT/SIGTERM while they run
process.setMaxListeners(WIDTH * 4 + 20)

const { main, buildProgram } = await import(path.join(DIST, 'cli', 'index.js'))
const { netArgs } = await import(path.join(DIST, 'cli', 'args.js'))
const { resolveDhtOptions, isLoopback } = await import(path.join(DIST, 'net', 'bootstrap.js'))
const { ERROR_CODES } = await import(path.join(DIST, 'errors.js'))
const { discoveryKey } = await import(path.join(DIST, 'feed', 'keys.js'))

const ERROR_LINE = /^feedchain: .+ \[([A-Z_]+)\]$/

test(`cli fuzz: ${COUNT} random argument vectors in process, ${SAMPLE} of them again through the binary (seed ${SEED})`, { timeout: 150_000 }, async (t) => {
  t.comment(`seed ${SEED} (replay: FEEDCHAIN_FUZZ_SEED=${SEED} node test/cli-fuzz.test.js)`)
  const t0 = Date.now()
  const { bootstrap } = await localTestnet(t)
  assertLoopback(bootstrap)
  const rejections = []
  const onRejection = (e) => { rejections.push(e) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => process.off('unhandledRejection', onRejection))

  // the network settings come from io.env: a malformed bootstrap there is refused, so the
  // testnet bootstrap every run gets there is the one a network command would use
  const probe = await runInProcess(['--storage', path.join(root, 'probe'), 'sync'], { FEEDCHAIN_BOOTSTRAP: 'not-a-node', HOME: process.env.HOME })
  t.ok(probe.code === 2 && probe.stderr.endsWith('[INVALID_ARGUMENT]\n'), `main takes FEEDCHAIN_BOOTSTRAP from io.env (${lastLine(probe.stderr)})`)

  const shape = programShape()
  t.ok(shape.commands.length >= 15, `${shape.commands.length} command paths read from the program`)
  const rand = prng(SEED)
  const vectors = Array.from({ length: COUNT }, () => generate(rand, shape))

  // phase 1: every vector in process, on one set of fixtures
  const fx = await makeFixtures(path.join(root, 'p1'), bootstrap)
  const failures = []
  const outcomes = new Array(COUNT)
  const codes = new Map()
  const examples = new Map()
  let aborted = 0
  let reachedRun = 0
  await inParallel(vectors.map((v, i) => async () => {
    const argv = resolve(v, fx, i)
    const problem = networkProblem(argv, fx.env)
    if (problem !== null) { failures.push({ argv, why: problem }); return }
    const r = await runInProcess(argv, fx.env, v.input)
    outcomes[i] = r
    if (r.aborted) aborted++
    if (/^network: public HyperDHT/m.test(r.stderr)) failures.push({ argv, why: 'reached for the public HyperDHT', r })
    const why = contractProblem(r)
    if (why !== null) failures.push({ argv, why, r })
    const code = r.code === 0 ? 'ok' : r.aborted ? 'stopped' : (ERROR_LINE.exec(lastLine(r.stderr))?.[1] ?? '?')
    codes.set(code, (codes.get(code) ?? 0) + 1)
    if (!examples.has(code)) examples.set(code, { argv, line: lastLine(r.stderr), aborted: r.aborted })
    if (!['USAGE', 'INVALID_KEY', 'INVALID_NUMBER', 'INVALID_ARGUMENT', 'EMPTY_ENTRY', 'ENTRY_TOO_LARGE'].includes(code) || r.code === 0) reachedRun++
  }), WIDTH)
  const p1 = Date.now() - t0
  t.comment(`phase 1: ${COUNT} vectors in ${(p1 / 1000).toFixed(1)} s; ${aborted} stopped while waiting; outcomes: ${[...codes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (process.env.FEEDCHAIN_FUZZ_VERBOSE === '1') {
    for (const [code, ex] of examples) t.comment(`${code}: ${JSON.stringify(ex.argv.map(clip))}${ex.aborted ? ' (stopped)' : ''} → ${ex.line}`)
  }
  report(t, failures, 'in process')
  t.is(rejections.length, 0, `no unhandled rejection${rejections.length > 0 ? ': ' + String(rejections[0]?.stack ?? rejections[0]) : ''}`)
  t.ok(codes.size >= 10, `the vectors reach many outcomes (${codes.size} distinct)`)
  t.ok(reachedRun >= COUNT / 5, `${reachedRun} vectors got past argument validation`)

  // phase 2: a sample again, in process and through the binary, in twin environments
  const sample = pickSample(vectors, outcomes)
  const lanes = Array.from({ length: SAMPLE_LANES }, () => [])
  for (const [k, i] of sample.entries()) lanes[k % SAMPLE_LANES].push(i)
  const mismatches = []
  let compared = 0
  await Promise.all(lanes.map(async (lane, l) => {
    const a = await makeFixtures(path.join(root, `p2-${l}-a`), bootstrap)
    const b = await makeFixtures(path.join(root, `p2-${l}-b`), bootstrap)
    const env = childEnv(t, bootstrap, { ...b.env, HOME: process.env.HOME })
    for (const i of lane) {
      const v = vectors[i]
      const mine = await runInProcess(resolve(v, a, i), a.env, v.input)
      // a run stopped while waiting leaves state the twin would not have: the lane stops comparing
      if (mine.aborted) break
      const argv = resolve(v, b, i)
      const p = spawnNode(t, [BIN, ...argv], { env, cwd, input: v.input ?? '' })
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000)
      const { code } = await p.exited
      clearTimeout(timer)
      const theirs = { code, stderr: p.err(), stdout: p.out() }
      compared++
      const mineCode = mine.code === 0 ? 'ok' : ERROR_LINE.exec(lastLine(mine.stderr))?.[1]
      const theirCode = theirs.code === 0 ? 'ok' : ERROR_LINE.exec(lastLine(theirs.stderr))?.[1]
      if (mine.code !== theirs.code || mineCode !== theirCode) {
        mismatches.push({ argv, why: `in process: exit ${mine.code} ${mineCode}; binary: exit ${theirs.code} ${theirCode} (${lastLine(theirs.stderr)})` })
      }
      const why = contractProblem(theirs)
      if (why !== null) mismatches.push({ argv, why: 'binary: ' + why, r: theirs })
    }
  }))
  t.ok(compared >= 40, `${compared} vectors compared with the binary`)
  report(t, mismatches, 'binary vs in process')
  t.comment(`cli-fuzz: ${COUNT} vectors, ${failures.length} failures; ${compared} replayed through the binary, ${mismatches.length} mismatches; ${((Date.now() - t0) / 1000).toFixed(1)} s`)
})

/** Run `main` in this process with captured streams; stop it through io.signal after ABORT_MS. */
async function runInProcess (argv, env, input) {
  const out = sink()
  const err = sink()
  const stdin = Readable.from(input === undefined ? [] : [Buffer.from(input)])
  const controller = new AbortController()
  let stopped = false
  const stopTimer = setTimeout(() => { stopped = true; controller.abort() }, ABORT_MS)
  let hungTimer = null
  const hung = new Promise((resolve) => { hungTimer = setTimeout(() => resolve('hung'), ABORT_MS + HUNG_MS) })
  const t0 = Date.now()
  let code
  try {
    code = await Promise.race([main(argv, { stdin, stdout: out.stream, stderr: err.stream, env, signal: controller.signal }), hung])
  } catch (e) {
    code = { threw: e }
  } finally {
    clearTimeout(stopTimer)
    clearTimeout(hungTimer)
  }
  return { code, aborted: stopped, stdout: out.text(), stderr: err.text(), ms: Date.now() - t0 }
}

/** The contract every run must keep, or what it broke. */
function contractProblem (r) {
  if (r.code === 'hung') return `did not finish within ${HUNG_MS / 1000} s of being stopped`
  if (typeof r.code === 'object' && r.code !== null) return `main threw: ${String(r.code.threw?.stack ?? r.code.threw)}`
  if (!Number.isInteger(r.code)) return `exit code is not an integer: ${String(r.code)}`
  if (/^\s+at /m.test(r.stderr)) return 'stack trace on stderr'
  if (r.stderr.includes('[INTERNAL]')) return 'INTERNAL error: ' + lastLine(r.stderr)
  if (r.code === 0) return null
  const last = lastLine(r.stderr)
  if (r.aborted && r.code === 143 && last === 'feedchain: interrupted') return null
  const m = ERROR_LINE.exec(last)
  if (m === null) return `non-zero exit ${r.code} without a "feedchain: … [CODE]" last line: ${JSON.stringify(r.stderr.slice(-300))}`
  const entry = ERROR_CODES[m[1]]
  if (entry === undefined) return `unknown code ${m[1]}`
  if (entry[0] !== r.code) return `code ${m[1]} exited ${r.code}, not ${entry[0]}`
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('feedchain: ') && !l.startsWith('feedchain: warning: '))
  if (errorLines.length !== 1) return `${errorLines.length} error lines on stderr`
  return null
}

/**
 * Why running `argv` could reach beyond the loopback testnet, or null. Parsed with the real
 * program: the bootstrap and host it would use must be loopback (a vector never carries another).
 */
function networkProblem (argv, env) {
  let input = null
  const quiet = { write () { return true } }
  const program = buildProgram({ stdout: quiet, stderr: quiet }, (s) => { input = s.input }, () => {})
  try {
    program.parse(argv, { from: 'user' })
  } catch {
    return null // refused by the parser: nothing runs
  }
  if (input === null) return null
  let cfg
  try {
    cfg = resolveDhtOptions(netArgs(input.opts, env))
  } catch {
    return null // refused: INVALID_ARGUMENT before any network
  }
  if (cfg.bootstrap === undefined) return 'would use the public HyperDHT'
  if (!cfg.bootstrap.every((n) => isLoopback(n.host))) return 'a bootstrap node off loopback'
  if (cfg.host !== undefined && !cfg.host.startsWith('127.')) return `would bind ${cfg.host}`
  return null
}

/** Commands, options and arguments as the commander program declares them. */
function programShape () {
  const quiet = { write () { return true } }
  const program = buildProgram({ stdout: quiet, stderr: quiet }, () => {}, () => {})
  const optionsOf = (cmd) => cmd.options.map((o) => ({ flags: [o.long, o.short].filter(Boolean), takesValue: o.required || o.optional, name: o.attributeName() }))
  const commands = []
  const walk = (cmd, words) => {
    for (const sub of cmd.commands) {
      const w = [...words, sub.name()]
      commands.push({ words: w, options: optionsOf(sub), args: sub.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic })) })
      walk(sub, w)
    }
  }
  walk(program, [])
  return { commands, globals: optionsOf(program) }
}

// ---- the generator: argv parts are strings or functions of the fixtures (resolved per environment)

const JUNK_CHARS = 'abcxyz019-_=./~:@%$ \tü日🙂\u001b\u00a0'
const NUMBERS = ['0', '1', '2', '7', '20', '-1', '-0', '+5', '2.5', '1e3', '0x10', '99999999999999999999', '9007199254740993', '', ' 3', '3 ', 'NaN', 'Infinity', '٣', '0.001', '0.1', '1', '3600', '31536001']
const TEXTS = ['hello', 'two words', '日本語のテキスト', '🙂🙃', '\t', '\u001b[31mred', '-', '--', '-n', '--json', 'x'.repeat(3000), '$(touch pwned)', "' OR 1=1 --", ' ', '']
/** The only network values a vector carries: the testnet (added at resolve time), or values the CLI must refuse. */
const BAD_BOOTSTRAPS = ['', 'nope', '127.0.0.1:0', '127.0.0.1:70000', '[::1]:4000', '127.0.0.1:1,,127.0.0.1:2', ':5', '999.1.1.1:5']
const HOSTS = ['127.0.0.1', '::1', '1.2.3', '', 'localhost', '300.0.0.1']

const KEYS = [
  (f) => f.chain.key, (f) => f.chain.hex, (f) => f.chain.writerKey, (f) => f.chain.dkHex, (f) => f.chain.dkZ32,
  (f) => f.chain.key.toUpperCase(), (f) => 'feedchain://' + f.chain.key, (f) => f.chain.key.slice(1), (f) => f.chain.hex + '0',
  () => ids.encode(Buffer.alloc(32, 9)), () => 'a'.repeat(64), () => 'g'.repeat(64), () => 'l'.repeat(52), () => 'abc', () => '', () => ' ',
]
const PATHS = [
  (f) => f.file, (f) => f.dirWithFile, (f) => f.emptyDir, (f, i) => path.join(f.dir, `missing-${i}`), (f) => path.join(f.file, 'sub'),
  (f) => path.join(f.dirWithFile, 'data.txt'), (f, i) => path.relative(cwd, path.join(f.dir, `rel-${i}`)), () => '', () => '-',
  (f) => f.dir + '/' + 'd'.repeat(120), (f) => f.chain.storage, (f) => f.bare,
]
/** Values that name a place shared by every environment (the working directory, HOME): never replayed. */
const SHARED = ['.', '~', '~/store']
const STORAGES = [(f) => f.chain.storage, (f) => f.chain.storage, (f) => f.bare, (f) => f.file, (f) => f.emptyDir, (f, i) => path.join(f.dir, `missing-${i}`), () => '']

function valuesFor (name) {
  if (/^(key|chain|writer)$/.test(name)) return KEYS
  if (name === 'since') return ['0', '5', '-1', '2h', '90s', '1w', '0s', '2024-01-01', '2024-13-45', '2024-01-01T10:00', 'yesterday', '']
  if (name === 'type') return ['data', 'file', 'data,file', 'genesis,membership,join', 'bogus', 'data,', '']
  if (name === 'format') return ['text', 'json', 'xml', '']
  if (/^(lines|position|timeout)$/.test(name)) return NUMBERS
  if (/^(storage)$/.test(name)) return STORAGES
  if (/^(output|file)$/.test(name)) return PATHS
  if (name === 'bootstrap') return BAD_BOOTSTRAPS
  if (name === 'host') return HOSTS
  if (name === 'shell') return ['bash', 'zsh', 'fish', 'tcsh', '', 'BASH']
  if (name === 'mime') return ['text/plain', 'application/octet-stream', 'bad', 'a/b/c', '']
  return null
}

/** One random vector: { parts, input?, shared }. */
function generate (rand, shape) {
  const pick = (list) => list[Math.floor(rand() * list.length)]
  const chance = (p) => rand() < p
  const parts = []
  let shared = false
  const anyValue = () => {
    const r = rand()
    if (r < 0.25) return pick(KEYS)
    if (r < 0.45) return pick(NUMBERS)
    if (r < 0.65) return pick(TEXTS)
    if (r < 0.85) return pick(PATHS)
    if (r < 0.9) { shared = true; return pick(SHARED) }
    return junk(rand)
  }
  const valueFor = (name) => {
    const pool = valuesFor(name)
    return pool !== null && chance(0.85) ? pick(pool) : anyValue()
  }
  const option = (o) => {
    const flag = pick(o.flags)
    if (!o.takesValue) return [flag]
    const v = valueFor(o.name)
    // --flag=value now and then (commander takes both), and sometimes the value is missing
    if (chance(0.1)) return [flag]
    if (chance(0.15) && flag.startsWith('--') && typeof v === 'string') return [`${flag}=${v}`]
    return [flag, v]
  }
  // global options, before the command
  if (chance(0.7)) parts.push('--storage', pick(STORAGES))
  else if (chance(0.1)) { shared = true; parts.push('--storage', pick(SHARED)) }
  if (chance(0.08)) parts.push('--bootstrap', pick(BAD_BOOTSTRAPS))
  if (chance(0.08)) parts.push(...option(shape.globals.find((o) => o.name === 'host')))
  if (chance(0.03)) parts.push(pick(['-V', '--version', '-h', '--help']))

  const cmd = chance(0.93) ? pick(shape.commands) : null
  if (cmd === null) {
    parts.push(junk(rand))
  } else {
    parts.push(...cmd.words)
    const tail = []
    for (const a of cmd.args) {
      if (!a.required && chance(0.5)) continue
      if (a.required && chance(0.08)) continue // a missing argument
      const n = a.variadic ? 1 + Math.floor(rand() * 3) : 1
      for (let k = 0; k < n; k++) tail.push([valueFor(a.name)])
    }
    const nOpts = Math.floor(rand() * 4)
    for (let k = 0; k < nOpts; k++) {
      const pool = chance(0.85) ? cmd.options : shape.globals
      if (pool.length > 0) tail.push(option(pick(pool)))
    }
    if (chance(0.15)) tail.push([anyValue()]) // an extra argument
    if (chance(0.1)) tail.push([pick(['-', '--', '-x', '--nope', '---', '-n5', '--=', '-1'])])
    // shuffle options among the arguments, as people type them
    for (let k = tail.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [tail[k], tail[j]] = [tail[j], tail[k]]
    }
    for (const p of tail) parts.push(...p)
  }
  let input
  if (chance(0.5)) input = pick(['', 'one\ntwo\n', '\n\n', 'x'.repeat(1024 * 1024 + 5) + '\n', '\u0000\u0001binary\r\n', 'ü\nü\n'.repeat(50)])
  return { parts, input, shared }
}

function junk (rand) {
  const n = Math.floor(rand() * 12)
  let s = ''
  for (let k = 0; k < n; k++) s += [...JUNK_CHARS][Math.floor(rand() * [...JUNK_CHARS].length)]
  // junk never spells a network option: those only ever carry the values above
  return /^--?(bootstrap|host)/.test(s) ? s.slice(2) : s
}

function resolve (v, f, i) {
  return v.parts.map((p) => typeof p === 'function' ? p(f, i) : p)
}

/** Up to SAMPLE vectors spread over the run: ones that finished by themselves and touch no shared place. */
function pickSample (vectors, outcomes) {
  const ok = []
  for (const [i, v] of vectors.entries()) {
    const r = outcomes[i]
    if (r === undefined || r.aborted || v.shared || r.ms > 1000) continue
    if (v.parts.includes('daemon')) continue
    ok.push(i)
  }
  const step = Math.max(1, Math.floor(ok.length / SAMPLE))
  return ok.filter((_, k) => k % step === 0).slice(0, SAMPLE)
}

/** Storages and paths a set of vectors runs against: a chain, a storage without one, a file, directories. */
async function makeFixtures (dir, bootstrap) {
  fs.mkdirSync(dir, { recursive: true })
  const f = { dir }
  f.file = path.join(dir, 'a-file.txt')
  fs.writeFileSync(f.file, 'a file\n')
  f.dirWithFile = path.join(dir, 'dir')
  fs.mkdirSync(f.dirWithFile)
  fs.writeFileSync(path.join(f.dirWithFile, 'data.txt'), 'data\n'.repeat(100))
  f.emptyDir = path.join(dir, 'empty')
  fs.mkdirSync(f.emptyDir)
  f.env = { FEEDCHAIN_BOOTSTRAP: bootstrap, FEEDCHAIN_STORAGE: path.join(dir, 'default-store'), HOME: process.env.HOME }
  const chain = path.join(dir, 'chain')
  const init = await runInProcess(['--storage', chain, 'init', '--name', 'fuzz', '--json'], f.env)
  if (init.code !== 0) throw new Error('fixture init failed: ' + init.stderr)
  const rec = JSON.parse(init.stdout)
  const key = ids.decode(rec.key)
  f.chain = { storage: chain, key: rec.key, hex: key.toString('hex'), writerKey: rec.writerKey, dkHex: discoveryKey(key).toString('hex'), dkZ32: ids.encode(discoveryKey(key)) }
  f.bare = path.join(dir, 'bare')
  const { Storage } = await import(path.join(DIST, 'storage.js'))
  await (await Storage.open(f.bare, { create: true })).close()
  return f
}

function report (t, failures, what) {
  t.is(failures.length, 0, `${what}: ${failures.length} vectors broke the contract`)
  for (const f of failures.slice(0, 10)) {
    t.comment(`${what}: ${JSON.stringify(f.argv.map(clip))}: ${f.why}`)
  }
}

function clip (a) {
  return a.length > 80 ? a.slice(0, 60) + `…(${a.length})` : a
}

function lastLine (s) {
  return s.split('\n').filter((l) => l !== '').at(-1) ?? ''
}

function sink () {
  const chunks = []
  const stream = new Writable({ write (chunk, _enc, cb) { chunks.push(chunk.toString()); cb() } })
  return { stream, text: () => chunks.join('') }
}

/** mulberry32: a small seeded PRNG, so a seed replays the same vectors. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

async function inParallel (fns, width) {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < fns.length) await fns[next++]()
  }))
}
