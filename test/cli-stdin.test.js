// `append -` (stdin, one entry per line, batched), signals and a closed stdout.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import { initChain, isCliError, ok, okJson, run, start } from './helpers/cli.js'

const MiB = 1024 * 1024

test('cli: append - streams thousands of lines, one entry each, in order', async (t) => {
  const { storage } = await initChain(t)
  const N = 5000
  const input = Array.from({ length: N }, (_, i) => `line ${i}`).join('\n') + '\n'
  const [res] = await okJson(t, ['append', '-'], { storage, input })
  t.is(res.appended, N, 'append - reports every line')
  t.is(res.length, N + 1)

  const log = await okJson(t, ['log'], { storage })
  t.is(log.length, N + 1, 'genesis + one entry per line')
  let inOrder = true
  for (let i = 0; i < N; i++) {
    const e = log[i + 1]
    if (e.position !== i + 1 || e.data !== `line ${i}` || e.type !== 'data' || !e.final) { inOrder = false; t.fail(`entry ${i + 1}: ${JSON.stringify(e)}`); break }
  }
  t.ok(inOrder, 'all lines present, in order, final')
  t.ok(log[N].seq > log[1].seq, 'spread over several blocks')

  const tail = await okJson(t, ['log', '-n', '3'], { storage })
  t.alike(tail.map((e) => e.data), [`line ${N - 3}`, `line ${N - 2}`, `line ${N - 1}`], 'log -n 3 is the tail')
})

test('cli: append - skips empty lines, drops \\r, keeps a last line without newline', async (t) => {
  const { storage } = await initChain(t)
  const r = await ok(t, ['append', '-'], { storage, input: 'a\r\n\nb\n\n\nc' })
  t.ok(r.stderr.includes('3 empty lines skipped'), 'skipped lines are reported on stderr')
  const log = await okJson(t, ['log'], { storage })
  t.alike(log.slice(1).map((e) => e.data), ['a', 'b', 'c'])
  const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x0a])
  await ok(t, ['append', '-'], { storage, input: bytes })
  const [bin] = await okJson(t, ['log', '-n', '1'], { storage })
  t.alike({ data: bin.data, encoding: bin.encoding }, { data: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), encoding: 'base64' }, 'binary lines pass through unchanged')
  const text = await ok(t, ['log', '-n', '1'], { storage })
  t.ok(text.stdout.trimEnd().endsWith('<3 bytes>'), 'binary shown as <N bytes>')
})

test('cli: append - entry size limit', async (t) => {
  const { storage } = await initChain(t)
  const big = 'x'.repeat(MiB + 1)
  isCliError(t, await run(t, ['append', '-'], { storage, input: big + '\n' }), 'ENTRY_TOO_LARGE', 'a line over 1 MiB')
  let log = await okJson(t, ['log'], { storage })
  t.is(log.length, 1, 'nothing appended')

  const mixed = await run(t, ['append', '-'], { storage, input: `a\nb\n${big}\nc\n` })
  isCliError(t, mixed, 'ENTRY_TOO_LARGE', 'an oversized line after others')
  t.ok(mixed.stderr.includes('line 3') && mixed.stderr.includes('2 entries before it were appended'), 'says which line and what was kept')
  log = await okJson(t, ['log'], { storage })
  t.alike(log.slice(1).map((e) => e.data), ['a', 'b'], 'the lines before it are appended, none after')

  await ok(t, ['append', '-'], { storage, input: 'y'.repeat(MiB) + '\n' })
  const [e] = await okJson(t, ['show', '3'], { storage })
  t.is(e.data.length, MiB, 'exactly 1 MiB is accepted')

  isCliError(t, await run(t, ['append', '-'], { storage, input: '' }), 'EMPTY_ENTRY', 'empty stdin')
  isCliError(t, await run(t, ['append', '-'], { storage, input: '\n\n' }), 'EMPTY_ENTRY', 'only empty lines')
})

test('cli: a closed stdout (log | head) ends quietly; SIGINT closes gracefully', async (t) => {
  const { storage } = await initChain(t)
  await ok(t, ['append', '-'], { storage, input: Array.from({ length: 4000 }, (_, i) => `entry number ${i} `.padEnd(60, '.')).join('\n') })

  // like `feedchain log | head -1`: read one line, then close the pipe
  const { child, done } = start(t, ['--storage', storage, 'log'])
  await new Promise((resolve) => {
    let seen = ''
    child.stdout.on('data', function onData (d) {
      seen += d
      if (seen.includes('\n')) { child.stdout.off('data', onData); child.stdout.destroy(); resolve() }
    })
  })
  const r = await done
  t.is(r.code, 0, 'exit 0 after EPIPE')
  t.is(r.stderr, '', 'nothing on stderr')

  // Ctrl-C while `append -` waits for input: interrupted, store closed and unlocked
  const s = start(t, ['--storage', storage, 'append', '-'], { keepStdin: true })
  s.child.stdin.write('before the signal\n')
  await waitLocked(t, s.child, storage)
  s.child.kill('SIGINT')
  const sr = await s.done
  t.is(sr.code, 130, 'exit 130 on SIGINT')
  t.is(sr.stderr.trimEnd().split('\n').at(-1), 'feedchain: interrupted', 'says it was interrupted: ' + JSON.stringify(sr.stderr))
  t.ok(sr.ms < 10_000, 'closed well within the deadline')
  const [st] = await okJson(t, ['status'], { storage })
  t.ok(st.length >= 4001, 'storage is usable again after the interrupt')
})

/**
 * Wait until `child` holds the storage's lock file open (it has opened the storage), reading
 * /proc/<pid>/fd, so the test neither sleeps nor competes for the lock itself.
 */
async function waitLocked (t, child, dir) {
  const deadline = Date.now() + 15_000
  const fdDir = `/proc/${child.pid}/fd`
  while (Date.now() < deadline) {
    let fds = []
    try { fds = fs.readdirSync(fdDir) } catch {}
    for (const fd of fds) {
      let target = ''
      try { target = fs.readlinkSync(path.join(fdDir, fd)) } catch {}
      if (target.startsWith(dir) && target.endsWith('LOCK')) return
    }
    await new Promise((resolve) => setTimeout(resolve, 25)) // poll interval of a convergence wait
  }
  t.fail('the CLI never opened the storage')
}
