// Faults of the storage on disk (faults.md "corrupted storage"): bytes flipped in, or files
// truncated of, a closed store. The contract: never wrong data silently. Each damaged store
// either opens with every entry it shows correct (a clean prefix of what was written: RocksDB
// may drop an incomplete tail of its log, as after a crash), or the command fails with one line
// and STORAGE_CORRUPT. A store copied elsewhere is refused with STORAGE_COPIED (a copy could
// append below what peers hold and fork the feed).
import test from 'brittle'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { run, tmpDir } from './helpers/cli.js'
import { DIST } from './helpers/proc.js'

const { Storage, ChainNode } = await import(path.join(DIST, 'index.js'))

const ENTRIES = 2000
const expected = Array.from({ length: ENTRIES }, (_, i) => `e${i + 1} ${'x'.repeat(200)}`)

/** A store with ENTRIES data entries, written over several opens so RocksDB has flushed tables and blob files. */
async function makeStore (dir) {
  let s = await Storage.open(dir, { create: true })
  let node = new ChainNode(s.store, { name: 'faults' })
  await node.ready()
  const key = node.key
  await s.addChain({ key: key.toString('hex'), name: 'faults', addedAt: Date.now(), creator: true })
  let n = 0
  for (let round = 0; round < 4; round++) {
    for (let b = 0; b < 5; b++) await node.append(Array.from({ length: ENTRIES / 20 }, () => expected[n++]))
    await node.close()
    await s.close()
    s = await Storage.open(dir)
    node = new ChainNode(s.store, { key })
    await node.ready()
  }
  await node.close()
  await s.close()
}

/** A small seeded PRNG (mulberry32), so a failing trial can be replayed. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')

/** Damage one RocksDB file of the closed store at `dir`; returns what was done. */
function damage (dir, rnd) {
  const db = path.join(dir, 'corestore', 'db')
  const files = fs.readdirSync(db).filter((f) => /\.(sst|blob|log)$/.test(f) || /^(MANIFEST|CURRENT)/.test(f))
  const file = files[Math.floor(rnd() * files.length)]
  const p = path.join(db, file)
  const before = sha(p)
  const size = fs.statSync(p).size
  const truncate = rnd() < 0.3
  if (truncate) {
    fs.truncateSync(p, Math.floor(rnd() * size))
  } else {
    const fd = fs.openSync(p, 'r+')
    const flips = 1 + Math.floor(rnd() * 8)
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(rnd() * size)
      const b = Buffer.alloc(1)
      fs.readSync(fd, b, 0, 1, at)
      b[0] ^= 1 << Math.floor(rnd() * 8)
      fs.writeSync(fd, b, 0, 1, at)
    }
    fs.closeSync(fd)
  }
  // a run only counts if the fault really fired (a flip pair can cancel out on the same bit)
  return { file: file.replace(/^\d+/, 'N'), how: truncate ? 'truncate' : 'flip', fired: sha(p) !== before }
}

test('corrupted storage: flipped or truncated store files never show wrong data; damage is STORAGE_CORRUPT', async (t) => {
  const seed = Number(process.env.FEEDCHAIN_FAULT_SEED) || 20261123
  const trials = Number(process.env.FEEDCHAIN_FAULT_TRIALS) || 16
  const rnd = prng(seed)
  const root = tmpDir(t, 'feedchain-faults-')
  const tally = { intact: 0, prefix: 0, corrupt: 0, wrong: 0, other: 0, unfired: 0 }
  const problems = []
  for (let i = 0; i < trials; i++) {
    const dir = path.join(root, `s${i}`)
    await makeStore(dir)
    const d = damage(dir, rnd)
    if (!d.fired) { tally.unfired++; continue }
    const r = await run(t, ['--storage', dir, 'log', '--json'])
    const what = `trial ${i} (${d.how} ${d.file})`
    if (r.code === 0) {
      const data = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)).filter((e) => e.type === 'data').map((e) => e.data)
      const isPrefix = data.every((x, k) => x === expected[k])
      if (!isPrefix) { tally.wrong++; problems.push(`${what}: wrong data shown`) } else if (data.length === ENTRIES) tally.intact++
      else tally.prefix++
    } else {
      const lines = r.stderr.trim().split('\n')
      if (lines.length === 1 && /^feedchain: .* \[STORAGE_CORRUPT\]$/.test(lines[0]) && r.code === 3) tally.corrupt++
      else { tally.other++; problems.push(`${what}: exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`) }
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  t.alike(problems, [], 'every damaged store opened clean or failed with STORAGE_CORRUPT')
  t.is(tally.wrong, 0, 'no wrong data shown')
  t.ok(tally.corrupt > 0, 'the damage was detected at least once (the fault fired)')
  t.ok(trials - tally.unfired >= trials / 2, `${trials - tally.unfired} of ${trials} trials changed a file`)
  t.comment(`corrupt-storage: seed ${seed}, ${trials - tally.unfired} damaged stores: ${tally.corrupt} STORAGE_CORRUPT, ${tally.intact} intact, ${tally.prefix} clean prefix (log tail dropped), ${tally.wrong} wrong data`)
})

test('a store copied to another directory is refused with STORAGE_COPIED; the original still opens', async (t) => {
  const root = tmpDir(t, 'feedchain-faults-')
  const dir = path.join(root, 'orig')
  await makeStore(dir)
  const copy = path.join(root, 'copy')
  fs.cpSync(dir, copy, { recursive: true })
  const r = await run(t, ['--storage', copy, 'status'])
  t.is(r.code, 3, 'exit 3')
  t.ok(/^feedchain: storage .* was copied or restored from elsewhere .* \[STORAGE_COPIED\]\n$/.test(r.stderr), 'one line with STORAGE_COPIED: ' + r.stderr.trim())
  const o = await run(t, ['--storage', dir, 'status', '--json'])
  t.is(o.code, 0, 'the original opens')
  t.is(JSON.parse(o.stdout).length, ENTRIES + 1, 'with every entry')
})
