// A daemon killed with -9, and a command run at once: the kernel tears the daemon down over a few
// to a few tens of ms, during which its socket still accepts connections that are then reset, and
// its storage lock can outlive its socket. The command must wait that moment out — treat the
// reset connection as no daemon, and retry the locked store while the daemon's pid file names a
// process that still exists (src/cli/context.ts, src/daemon/pid-file.ts) — instead of failing
// with CLOSED or STORE_LOCKED.
//
// Each round starts a daemon on one storage, SIGKILLs it, and runs `append` at once, two ways in
// turn: a fresh `feedchain append` process spawned right after the kill (what a user or script
// does; its start-up takes longer than most teardowns), and the CLI already loaded in a child
// that runs `append` the moment it is told to, right after the kill (its first probe lands inside
// the teardown). Every append must succeed, and the log must hold each once, in order. A daemon
// restarted right after a kill must start too.
//
// FEEDCHAIN_KILL_ROUNDS sets the number of rounds (default 8).
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import { BIN, DIST, cli, cliJson, childEnv, localTestnet, logOf, spawnNode, startDaemon, tmpDir } from './helpers/proc.js'

const ROUNDS = Number(process.env.FEEDCHAIN_KILL_ROUNDS) || 8

// The CLI, loaded and waiting: on a line on stdin it runs `feedchain <argv…>` as bin/feedchain.js
// would (cli() parses process.argv, runs, and exits with the command's code).
const PRELOADED = `
const { cli } = await import(${JSON.stringify(path.join(DIST, 'cli', 'index.js'))})
process.stdout.write('loaded\\n')
process.stdin.once('data', () => {
  process.argv = [process.argv[0], ${JSON.stringify(BIN)}, ...process.argv.slice(1)]
  cli()
})
`

test('append right after kill -9 of the daemon succeeds every time', { timeout: 60_000 + ROUNDS * 20_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const storage = path.join(tmpDir(t), 'store')
  await cliJson(t, env, storage, ['init', '--name', 'kill-restart'])

  const failures = []
  const texts = []
  let staleLeft = 0
  let slowest = 0
  for (let i = 0; i < ROUNDS; i++) {
    const text = `after kill ${i}`
    const preloaded = i % 2 === 1
    const daemon = await startDaemon(t, env, storage) // every spawn registers its SIGKILL teardown first
    let r
    if (preloaded) {
      const p = spawnNode(t, ['--input-type=module', '-e', PRELOADED, '--', '--storage', storage, 'append', text], { env, keepStdin: true })
      await p.waitFor('stdout', /loaded\n/, 20_000, 'the CLI to load')
      daemon.kill('SIGKILL')
      const t0 = Date.now()
      p.child.stdin.end('go\n')
      const { code } = await p.exited
      r = { code, stderr: p.err(), ms: Date.now() - t0 }
    } else {
      daemon.kill('SIGKILL')
      r = await cli(t, env, storage, ['append', text])
    }
    await daemon.exited
    texts.push(text)
    slowest = Math.max(slowest, r.ms)
    const how = preloaded ? 'preloaded CLI' : 'new process'
    if (r.code !== 0) failures.push(`round ${i} (${how}): exit ${r.code}: ${r.stderr.trim()}`)
    // it went the direct way, holding the lock: so it removed the socket and pid files the kill left
    else if (fs.existsSync(daemon.socket) || fs.existsSync(path.join(storage, 'feedchain.pid'))) staleLeft++
  }
  t.alike(failures, [], `every append right after a kill succeeded (${ROUNDS} rounds)`)
  t.is(staleLeft, 0, 'each append removed the socket and pid files the killed daemon left')

  const data = (await logOf(t, env, storage)).filter((e) => e.type === 'data').map((e) => e.data)
  t.alike(data, texts.filter((_, i) => !failures.some((f) => f.startsWith(`round ${i} `))), 'the log holds each append once, in order')
  t.comment(`kill-restart: ${ROUNDS} kills, ${failures.length} failed appends, slowest ${slowest} ms`)
})

test('a daemon restarted right after kill -9 starts', { timeout: 60_000 + ROUNDS * 20_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const storage = path.join(tmpDir(t), 'store')
  await cliJson(t, env, storage, ['init', '--name', 'kill-restart-daemon'])
  const rounds = Math.max(2, Math.ceil(ROUNDS / 2))
  let daemon = await startDaemon(t, env, storage)
  for (let i = 0; i < rounds; i++) {
    daemon.kill('SIGKILL')
    daemon = await startDaemon(t, env, storage) // fails the test if the new daemon exits (STORE_LOCKED) before its ready line
  }
  const [rec] = await cliJson(t, env, storage, ['append', 'through the last daemon'])
  t.is(rec.appended, 1, `after ${rounds} kills and restarts, the last daemon serves an append`)
  t.is((await daemon.stop()).code, 0, 'and stops cleanly')
  t.absent(fs.existsSync(path.join(storage, 'feedchain.pid')), 'a clean stop removes the pid file')
})

// A process that holds the store and has recorded itself in the daemon's pid file, as a daemon
// does, with no socket: what a command sees while a daemon is on its way out. On a line on stdin
// it lets go of the store after RELEASE_MS (closes it, removes the pid file, exits); HOLD_MS = -1
// never lets go.
const HOLDER = `
const [dir, ms] = process.argv.slice(1)
const { Storage } = await import(${JSON.stringify(path.join(DIST, 'storage.js'))})
const { writePidFile, removePidFile } = await import(${JSON.stringify(path.join(DIST, 'daemon', 'pid-file.js'))})
const storage = await Storage.open(dir)
writePidFile(dir)
process.stdout.write('held\\n')
process.stdin.once('data', () => {
  if (Number(ms) < 0) return setInterval(() => {}, 1 << 30)
  setTimeout(async () => {
    await storage.close()
    removePidFile(dir)
    process.exit(0)
  }, Number(ms))
})
`

/** The holder on `storage`, holding; `go()` starts its countdown (ms < 0: never lets go). */
async function holder (t, env, storage, ms) {
  const p = spawnNode(t, ['--input-type=module', '-e', HOLDER, '--', storage, String(ms)], { env, keepStdin: true })
  await p.waitFor('stdout', /held\n/, 20_000, 'the holder to hold the store')
  return { ...p, go: () => p.child.stdin.end('go\n') }
}

/** The CLI loaded in a child, ready to run `feedchain --storage <storage> <args…>` on `run()`: { code, stderr, ms }. */
async function preloadedCli (t, env, storage, args) {
  const p = spawnNode(t, ['--input-type=module', '-e', PRELOADED, '--', '--storage', storage, ...args], { env, keepStdin: true })
  await p.waitFor('stdout', /loaded\n/, 20_000, 'the CLI to load')
  return {
    async run () {
      const t0 = Date.now()
      p.child.stdin.end('go\n')
      const { code } = await p.exited
      return { code, stderr: p.err(), ms: Date.now() - t0 }
    },
  }
}

test('a store held by a daemon on its way out: the command waits for the lock, up to a bound', { timeout: 120_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const storage = path.join(tmpDir(t), 'store')
  await cliJson(t, env, storage, ['init', '--name', 'leaving'])

  // lets go 1.2 s after the command starts: later than the 1 s a command looks for a starting
  // daemon, so only the wait for a daemon on its way out (its pid file) gets the store
  const leaving = await holder(t, env, storage, 1200)
  const append = await preloadedCli(t, env, storage, ['append', 'after the holder let go'])
  leaving.go()
  const r = await append.run()
  t.is(r.code, 0, `append succeeded once the holder let go (${r.ms} ms): ${r.stderr.trim()}`)
  t.ok(r.ms >= 1000, `it waited for the lock (${r.ms} ms)`)
  await leaving.exited
  const data = (await logOf(t, env, storage)).filter((e) => e.type === 'data').map((e) => e.data)
  t.alike(data, ['after the holder let go'], 'the entry is in the log')

  // a holder that never lets go: STORE_LOCKED, one line, after the bounded wait (2 s)
  const stuck = await holder(t, env, storage, -1)
  stuck.go()
  const s = await cli(t, env, storage, ['append', 'never'])
  t.is(s.code, 3, 'exit 3')
  t.ok(/^feedchain: .* \[STORE_LOCKED\]\n$/.test(s.stderr), `one STORE_LOCKED line: ${s.stderr.trim()}`)
  t.ok(s.ms >= 2000 && s.ms < 10_000, `gave up after the bounded wait (${s.ms} ms)`)
})
