// Pending (not yet final) entries as the CLI shows them: `~` in log, final:false in JSON, no hash
// in show, the pending count in status. The chain is set up with the library: two indexers
// replicate in process, then the second goes away, so new entries wait for its acknowledgement.
import test from 'brittle'
import path from 'node:path'
import { DIST, isCliError, ok, okJson, run, storagePath } from './helpers/cli.js'

const { ChainNode, Storage } = await import(path.join(DIST, 'index.js'))

test('cli: pending entries are marked in log, show and status', async (t) => {
  const dirA = storagePath(t, 'a')
  const dirB = storagePath(t, 'b')
  const sa = await Storage.open(dirA, { create: true })
  const sb = await Storage.open(dirB, { create: true })
  const a = new ChainNode(sa.store, { name: 'pending' })
  let b = null
  let closed = false
  const closeAll = async () => {
    if (closed) return
    closed = true
    if (b !== null) await b.close()
    await a.close()
    await sb.close()
    await sa.close()
  }
  t.teardown(closeAll)
  await a.ready()
  await sa.addChain({ key: a.key.toString('hex'), name: a.name, addedAt: Date.now(), creator: true })
  b = new ChainNode(sb.store, { key: a.key })
  await b.ready()
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
  await a.addWriter(b.writerKey, { indexer: true })
  await until(() => a.status().writers.some((w) => !w.self && w.indexer), 'b became an indexer')
  s1.destroy()
  s2.destroy()
  await b.close()
  b = null
  const r = await a.append(['waiting one', 'waiting two'])
  t.is(r.length - r.finalLength, 2, 'two entries wait for the absent indexer')
  await closeAll()

  const text = await ok(t, ['log'], { storage: dirA })
  const lines = text.stdout.trimEnd().split('\n')
  t.ok(/^\s*\d+ ~ .*waiting one$/.test(lines.at(-2)), 'pending entries are marked ~')
  t.ok(/^\s*\d+ ~ .*waiting two$/.test(lines.at(-1)))
  t.ok(lines.slice(0, -2).every((l) => /^\s*\d+ ✓ /.test(l)), 'final entries are marked ✓')

  const log = await okJson(t, ['log'], { storage: dirA })
  t.alike(log.slice(-2).map((e) => [e.data, e.final]), [['waiting one', false], ['waiting two', false]], 'final: false in JSON')
  t.ok(log.slice(0, -2).every((e) => e.final), 'the rest is final')

  const pos = log.at(-1).position
  const [shown] = await okJson(t, ['show', String(pos)], { storage: dirA })
  t.is(shown.final, false)
  t.is(shown.hash, null, 'no chain hash while pending')
  const showText = await ok(t, ['show', String(pos)], { storage: dirA })
  t.ok(showText.stdout.includes('pending'), 'show says pending')

  const [st] = await okJson(t, ['status'], { storage: dirA })
  t.is(st.length - st.finalLength, 2)
  t.is(st.pending, 2)
  const stText = await ok(t, ['status'], { storage: dirA })
  t.ok(stText.stdout.includes('2 pending'), 'status text shows the pending count')

  isCliError(t, await run(t, ['show', String(pos + 1)], { storage: dirA }), 'INVALID_POSITION', 'show past the pending tail')
})

/** Wait for a condition with a deadline (the condition is the synchronization, not the poll). */
async function until (fn, what, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out waiting until ' + what)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
