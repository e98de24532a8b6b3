#!/usr/bin/env node
// The feedchain story on this machine, told with the real commands: three people, each with a
// `feedchain daemon` process on their own storage, find each other on a local HyperDHT testnet
// bound to 127.0.0.1. Alice creates a chain, Bob and Carol join and write; Carol goes offline and
// keeps writing while the others carry on; she comes back and the chain reconciles; Bob sends a
// file and Alice and Carol fetch it. Every command line is printed with its real output, every
// claim is checked on real data, and the demo exits 0 only if every check passed.
//
//   npm run demo                    # DEMO_FILE_MB=8 npm run demo for a smaller file (default 100)
//
// It removes its temporary directories and stops exactly the processes it started, also on
// failure and on Ctrl-C. Nothing leaves 127.0.0.1.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FinalityWatch, percentile } from './demo/finality.js'
import { Person, StepError, assertLoopback, stopAll } from './demo/procs.js'
import { c, commandLine, failed, heading, ms, note, output, passed, short, who } from './demo/term.js'
import { fetchAll, randomFile, sha256File } from './demo/transfer.js'

/** Size of the file Bob sends, MB (10^6 bytes): DEMO_FILE_MB, default 100. */
const FILE_MB = process.env.DEMO_FILE_MB === undefined || process.env.DEMO_FILE_MB === '' ? 100 : Number(process.env.DEMO_FILE_MB)
if (!Number.isFinite(FILE_MB) || FILE_MB <= 0 || FILE_MB > 10_000) {
  console.error(`demo: DEMO_FILE_MB must be a number of megabytes between 0 and 10000, not "${process.env.DEMO_FILE_MB}"`)
  process.exit(2)
}
/** Deadline of a convergence wait (polling status), ms. */
const CONVERGE_MS = 30_000
/** Poll period of a convergence wait, ms. */
const POLL_MS = 150

let step = ''
let checks = 0
let testnet = null
let root = null
let people = []
let cleaning = null
let interrupted = false

/** A check: prints ✓ and counts it, or throws (the story stops at the first failed check). */
function check (ok, what, detail = '') {
  if (!ok) {
    failed(what + (detail ? c.dim(` (${detail})`) : ''))
    throw new StepError(`check failed: ${what}${detail ? ` (${detail})` : ''}`)
  }
  checks++
  passed(what)
}

/** Run a command as `p`, print its command line and output; returns the result. */
async function run (p, args, opts = {}) {
  const r = await p.run(args, opts)
  commandLine(p.name, opts.shown ?? args, opts.suffix ?? '')
  output(r.both)
  return r
}

/** Run commands for several people at once (each a [person, args, opts?]), print in the given order. */
async function runTogether (list) {
  const results = await Promise.all(list.map(([p, args, opts = {}]) => p.run(args, opts)))
  list.forEach(([p, args, opts = {}], i) => {
    commandLine(p.name, opts.shown ?? args, opts.suffix ?? '')
    output(results[i].both)
  })
  return results
}

/** Poll `fn` (async; a truthy result ends the wait) every POLL_MS until it holds; StepError after `ms`. */
async function until (fn, what, { ms: limit = CONVERGE_MS, describe = null } = {}) {
  const deadline = Date.now() + limit
  for (;;) {
    const v = await fn()
    if (v.ok) return v
    if (Date.now() >= deadline) throw new StepError(`timed out after ${limit / 1000} s waiting for ${what}${describe ? ': ' + describe(v) : ''}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** The statuses of `list` once they agree: same length, final length and head, nothing pending. */
async function converged (list, what, minFinal = 0) {
  const t0 = performance.now()
  const v = await until(async () => {
    const statuses = await Promise.all(list.map((p) => p.status()))
    const [a] = statuses
    const ok = a.finalLength >= minFinal && statuses.every((s) => s.length === a.length && s.finalLength === a.finalLength && s.head === a.head && s.pending === 0)
    return { ok, statuses }
  }, what, { describe: (v) => v.statuses.map((s, i) => `${list[i].name} ${s.length}/${s.finalLength} ${short(s.head, 8)}`).join(', ') })
  return { statuses: v.statuses, ms: performance.now() - t0 }
}

/** The writer key a `share` printed (its stdout: `chain  <key>` / `writer <key>`). */
function writerKeyOf (r) {
  const m = /^writer\s+(\S+)$/m.exec(r.stdout)
  if (m === null) throw new StepError(`no writer key in the output of share: ${r.stdout.trim()}`)
  return m[1]
}

const entryId = (e) => `${e.writer}:${e.seq}:${e.index}`

async function story () {
  const { createLocalTestnet } = await import('../dist/net/testnet.js')
  const names = ['alice', 'bob', 'carol']

  step = 'start a local testnet'
  heading(0, 'A local HyperDHT testnet on 127.0.0.1, and three people with their own storage')
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-demo-'))
  testnet = await createLocalTestnet(3)
  assertLoopback(testnet.bootstrapString)
  people = names.map((n) => new Person(n, root, testnet.bootstrapString))
  const [alice, bob, carol] = people
  note(`a 3-node DHT testnet in this process, bootstrap ${testnet.bootstrapString}`)
  note(`each person's commands run with FEEDCHAIN_STORAGE=${root}/<name>/storage`)
  note(`and FEEDCHAIN_BOOTSTRAP=${testnet.bootstrapString} (so nothing reaches the public DHT)`)

  step = 'Alice creates a chain and shares the key'
  heading(1, 'Alice starts her daemon, creates a chain and shares its key')
  commandLine('alice', ['daemon'], ' &')
  output(await alice.startDaemon())
  const init = await run(alice, ['init', '--name', 'team notes'])
  const key = init.stdout.trim()
  check(/^[a-z0-9]{52}$/.test(key), 'init printed a chain key')
  await run(alice, ['share'])

  step = 'Bob and Carol join and are added as writers'
  heading(2, 'Bob and Carol start their daemons and join with the key; Alice adds them as indexers')
  const ready = await Promise.all([bob.startDaemon(), carol.startDaemon()])
  for (const [i, p] of [bob, carol].entries()) { commandLine(p.name, ['daemon'], ' &'); output(ready[i]) }
  await runTogether([[bob, ['join', key]], [carol, ['join', key]]])
  const [bobShare, carolShare] = await runTogether([[bob, ['share']], [carol, ['share']]])
  await run(alice, ['writers', 'add', writerKeyOf(bobShare), '--indexer'])
  await run(alice, ['writers', 'add', writerKeyOf(carolShare), '--indexer'])
  await until(async () => {
    const list = await Promise.all(people.map((p) => p.status()))
    return { ok: list.every((s) => s.isIndexer && s.writers.filter((w) => w.indexer).length === 3 && s.pending === 0), list }
  }, 'three indexers on every node')
  check(true, 'all three daemons see three indexers, nothing pending')
  await run(carol, ['writers', 'list'])

  step = 'all three append'
  heading(3, 'All three append at the same time')
  const { statuses: s0 } = await converged(people, 'the three to agree before appending')
  const watch = new FinalityWatch(people)
  let online = []
  try {
    await watch.start(s0[0].finalLength)
    note(`(each daemon also serves a \`feedchain log -f --json\` to the demo, to time finality)`)
    for (let i = 1; i <= 3; i++) {
      const texts = names.map((n) => `${n}: hello #${i}`)
      online.push(...texts)
      await runTogether(people.map((p, j) => [p, ['append', texts[j]]]))
    }
    const lines = ['todo: book the room', 'todo: send the agenda', 'todo: order lunch']
    online.push(...lines)
    await run(alice, ['append', '-'], { input: lines.join('\n') + '\n', suffix: c.dim('   < 3 lines on stdin') })
    await watch.waitFinal(online)
  } finally {
    await watch.stop()
  }
  const finality = watch.times(online)
  const { statuses: s1 } = await converged(people, 'the three to agree after the appends', s0[0].finalLength + online.length)
  check(true, `same length ${s1[0].length}, final length ${s1[0].finalLength} and head ${short(s1[0].head)}… on all three`)
  await run(bob, ['log', '-n', '6'])

  step = 'Carol goes offline and keeps writing'
  heading(4, 'Carol goes offline and keeps writing; Alice and Bob carry on')
  const stopped = await carol.stopDaemon()
  commandLine('carol', ['daemon'], c.dim(`   ^C  (the demo sends SIGTERM to pid ${stopped.pid})`))
  output(stopped.tail)
  check(stopped.code === 0, 'her daemon stopped cleanly', `exit ${stopped.code} ${stopped.signal ?? ''}`)
  note('with no daemon, Carol\'s commands open her storage directly and stay offline')
  const finalBefore = s1[0].finalLength
  const watch2 = new FinalityWatch([alice, bob])
  const offline = []
  const meanwhile = []
  try {
    await watch2.start(finalBefore)
    for (let i = 1; i <= 3; i++) {
      const mine = `carol (offline): note ${i}`
      const theirs = [`alice: update ${i}`, `bob: update ${i}`]
      offline.push(mine)
      meanwhile.push(...theirs)
      await runTogether([[carol, ['append', mine]], [alice, ['append', theirs[0]]], [bob, ['append', theirs[1]]]])
    }
    await watch2.waitFinal(meanwhile)
  } finally {
    await watch2.stop()
  }
  const twoOfThree = watch2.times(meanwhile)
  const { statuses: [sa] } = await converged([alice, bob], 'Alice and Bob to agree while Carol is away', finalBefore + meanwhile.length)
  const finalMeanwhile = sa.finalLength
  const prefix = (await alice.json(['log'])).filter((e) => e.final).map(entryId)
  check(prefix.length === finalMeanwhile, `Alice and Bob (2 of 3 indexers, a quorum) made ${meanwhile.length} new entries final: final length ${finalMeanwhile}`)
  await run(carol, ['status'])
  const cStatus = await carol.status()
  check(cStatus.finalLength === finalBefore && cStatus.pending === offline.length && cStatus.peers.length === 0,
    `Carol, offline, has her ${offline.length} entries pending and final length ${cStatus.finalLength} < ${finalMeanwhile}`,
    `final ${cStatus.finalLength}, pending ${cStatus.pending}, peers ${cStatus.peers.length}`)

  step = 'Carol comes back and the chain reconciles'
  heading(5, 'Carol comes back: her daemon reconnects and the chain reconciles')
  const t0 = performance.now()
  commandLine('carol', ['daemon'], ' &')
  output(await carol.startDaemon())
  await run(carol, ['sync'])
  const { statuses: s2 } = await converged(people, 'the three to agree after Carol is back', finalMeanwhile + offline.length)
  const reconcileMs = performance.now() - t0
  const [a2] = s2
  check(true, `same length ${a2.length}, final length ${a2.finalLength} and head ${short(a2.head)}… on all three, ${ms(reconcileMs)} after her daemon started`)
  const logs = await Promise.all(people.map((p) => p.json(['log'])))
  const ids = logs.map((l) => l.map(entryId).join(','))
  check(ids.every((x) => x === ids[0]), 'the three logs list the same entries in the same order')
  check(prefix.every((id, i) => entryId(logs[2][i]) === id), `the ${finalMeanwhile} positions final while Carol was away did not move`)
  const carolsOffline = logs[2].filter((e) => offline.includes(e.data))
  check(carolsOffline.length === offline.length && carolsOffline.every((e) => e.final && e.position >= finalMeanwhile),
    `Carol's offline entries are final after that prefix, at positions ${carolsOffline.map((e) => e.position).join(', ')}`)
  await run(carol, ['log', '-n', '8'])
  await run(bob, ['show', String(carolsOffline[0].position)])

  step = 'Bob sends a file; Alice and Carol fetch it'
  heading(6, `Bob sends a file of ${FILE_MB} MB; Alice and Carol fetch it at the same time`)
  const fileName = `demo-${FILE_MB}MB.bin`
  const source = path.join(bob.dir, fileName)
  const size = Math.round(FILE_MB * 1e6)
  const sourceHash = randomFile(source, size)
  note(`${source}: ${size.toLocaleString('en-US')} random bytes, sha256 ${short(sourceHash, 16)}…`)
  const sent = await run(bob, ['send', source])
  const fileId = sent.stdout.trim()
  check(/^[0-9a-f]{16}$/.test(fileId), `send printed the file id ${fileId}`)
  const targets = [alice, carol].map((p) => path.join(p.dir, fileName))
  note('their daemons start fetching the blocks once Bob\'s FILE entry reaches them; `get` asks the daemon,')
  note('shows the progress (bars from its --json records), checks the hash against the chain and writes the file')
  for (const [i, p] of [alice, carol].entries()) commandLine(p.name, ['get', fileId, '-o', targets[i], '--json'], i === 0 ? ' &' : '')
  const got = await fetchAll([alice, carol], fileId, targets, { size })
  for (const g of got) {
    const from = Object.keys(g.got.sources ?? {}).length
    const fetched = g.got.downloaded > 0 ? `${(g.got.downloaded / 1e6).toFixed(1)} MB fetched from ${from} peer${from === 1 ? '' : 's'}` : 'nothing left to fetch'
    const had = g.got.reused > 0 ? `, ${(g.got.reused / 1e6).toFixed(1)} MB already stored by her daemon` : ''
    note(`${g.person.name}: ${g.got.path} in ${ms(g.ms)}: ${fetched}${had}`)
  }
  for (const [i, p] of [alice, carol].entries()) {
    const h = await sha256File(targets[i])
    check(h === sourceHash, `${p.name}'s copy has the sha256 of Bob's file`, `${short(h, 16)} vs ${short(sourceHash, 16)}`)
  }
  await run(carol, ['files'])

  step = 'the final table'
  heading(7, 'Summary')
  const { statuses: s3 } = await converged(people, 'the three to agree at the end')
  check(true, `all three at length ${s3[0].length}, final ${s3[0].finalLength}, head ${short(s3[0].head)}…`)
  const rows = people.map((p, i) => {
    const mine = finality.filter((f) => f.data.startsWith(p.name) || (p.name === 'alice' && f.data.startsWith('todo:'))).map((f) => f.ms)
    return [who(p.name), String(s3[i].length), String(s3[i].finalLength), short(s3[i].head, 16), ms(percentile(mine, 50)), ms(Math.max(...mine))]
  })
  table(['person', 'length', 'final', 'head', 'finality p50', 'max'], rows)
  const all = finality.map((f) => f.ms)
  const two = twoOfThree.map((f) => f.ms)
  note('time to finality: from an entry\'s timestamp (taken by its writer\'s daemon as it wrote the block)')
  note('to the moment the last daemon reported it final through `log -f --json` (the CLI\'s start-up not included):')
  note(`  all three online:  ${all.length} entries, p50 ${ms(percentile(all, 50))}, max ${ms(Math.max(...all))} (final on all three)`)
  note(`  Carol offline:     ${two.length} entries, p50 ${ms(percentile(two, 50))}, max ${ms(Math.max(...two))} (2 of 3 indexers; final on Alice and Bob)`)
  note(`  Carol back online: ${ms(reconcileMs)} from her daemon's start to the same head on all three`)
}

/** Print a table with aligned columns (ANSI colour codes do not count toward the width). */
function table (header, rows) {
  const visible = (s) => s.replace(/\x1b\[[0-9;]*m/g, '').length // eslint-disable-line no-control-regex
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i]))))
  const line = (cells) => ('  ' + cells.map((s, i) => s + ' '.repeat(widths[i] - visible(s))).join('   ')).trimEnd()
  console.log(c.bold(line(header)))
  for (const r of rows) console.log(line(r))
}

/** Stop every process the demo started, close the testnet, remove the temporary directories. Once. */
function cleanup () {
  cleaning ??= (async () => {
    await stopAll(people).catch(() => {})
    await testnet?.destroy().catch(() => {})
    if (root !== null) fs.rmSync(root, { recursive: true, force: true })
  })()
  return cleaning
}

// Ctrl-C (or a SIGTERM): clean up, then exit 130 / 143. A second Ctrl-C exits at once (the exit
// handler in demo/procs.js still SIGKILLs the children by PID).
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(sig, () => {
    if (interrupted) process.exit(code)
    interrupted = true
    console.log(`\n${c.red('interrupted')} during "${step}": stopping the demo's processes and removing ${root ?? 'its files'}`)
    cleanup().finally(() => process.exit(code))
  })
}

const started = performance.now()
let ok = false
try {
  await story()
  ok = true
} catch (e) {
  if (interrupted) await new Promise(() => {}) // the signal handler cleans up and exits
  const why = e instanceof StepError ? e.message : (e?.stack ?? String(e))
  console.log(`\n${c.red('✗ the demo failed')} at step "${step}": ${why}`)
} finally {
  await cleanup()
}
if (ok) console.log(`\n${c.green(`✓ all ${checks} checks passed`)} in ${ms(performance.now() - started)}; processes stopped, temporary files removed`)
process.exit(ok ? 0 : 1)
