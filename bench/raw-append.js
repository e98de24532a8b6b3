// Anchor for `append`: raw Hypercore appends of the same bytes, on a Corestore in a temp dir.
//   single:  `await core.append(buf)` in a loop, one entry per call
//   batched: `await core.append(arrayOf1000Bufs)` (BENCH_APPEND_BATCH entries per call)
// Importable (append.js interleaves these with the feedchain runs) and runnable alone.
//
// Env: BENCH_APPEND_N (single-append entries, default 10,000), BENCH_APPEND_BATCH_N (entries
//      appended in batches, default 200,000), BENCH_APPEND_BATCH (1,000), BENCH_ENTRY_BYTES (100),
//      BENCH_REPEAT (runs per measure, the median is reported; default 3).
import Corestore from 'corestore'
import { envInt } from './lib/env.js'
import { now, perSecond, fmt, fmtMs, peakRssMiB } from './lib/timing.js'
import { tmpDir, removeTmpDir } from './lib/tmp.js'
import { makeEntries, chunk, median } from './lib/entries.js'
import { printTable } from './lib/table.js'
import { emitResult } from './lib/result.js'
import { isMain } from './lib/main.js'

/** The sizes every append benchmark uses, from the environment. */
export function appendSizes () {
  return {
    single: envInt('BENCH_APPEND_N', 10_000),
    batched: envInt('BENCH_APPEND_BATCH_N', 200_000),
    batch: Math.max(1, envInt('BENCH_APPEND_BATCH', 1000)),
    bytes: Math.max(1, envInt('BENCH_ENTRY_BYTES', 100)),
    repeat: Math.max(1, envInt('BENCH_REPEAT', 3))
  }
}

/** Opens a fresh core on a fresh Corestore in a temp dir. Returns { core, close() }. */
export async function openRawCore () {
  const dir = tmpDir('raw-append')
  const store = new Corestore(dir)
  const core = store.get({ name: 'raw-append' })
  await core.ready()
  return {
    core,
    async close () {
      await core.close()
      await store.close()
      removeTmpDir(dir)
    }
  }
}

async function withCore (fn) {
  const { core, close } = await openRawCore()
  try {
    return await fn(core)
  } finally {
    await close()
  }
}

/** One awaited core.append(buf) per entry. Returns { entries, ms, perSec }. */
export async function rawSingle (entries) {
  return withCore(async (core) => {
    const start = now()
    for (const buf of entries) await core.append(buf)
    const ms = now() - start
    if (core.length !== entries.length) throw new Error(`raw core length ${core.length}, expected ${entries.length}`)
    return { entries: entries.length, ms, perSec: perSecond(entries.length, ms) }
  })
}

/** One awaited core.append(array) per batch. Returns { entries, ms, perSec }. */
export async function rawBatched (entries, batch) {
  const batches = chunk(entries, batch)
  return withCore(async (core) => {
    const start = now()
    for (const b of batches) await core.append(b)
    const ms = now() - start
    if (core.length !== entries.length) throw new Error(`raw core length ${core.length}, expected ${entries.length}`)
    return { entries: entries.length, ms, perSec: perSecond(entries.length, ms) }
  })
}

async function main () {
  const z = appendSizes()
  console.log(`raw-append: hypercore ${await hypercoreVersion()}, ${z.bytes} B entries; single x ${fmt(z.single)}, ` +
    `batched x ${fmt(z.batched)} in batches of ${fmt(z.batch)}; median of ${z.repeat}`)
  const single = makeEntries(z.single, z.bytes)
  const batched = makeEntries(z.batched, z.bytes)
  const s = []
  const b = []
  for (let r = 0; r < z.repeat; r++) {
    s.push(await rawSingle(single))
    b.push(await rawBatched(batched, z.batch))
  }
  const result = {
    bench: 'raw-append',
    entryBytes: z.bytes,
    single: { entries: z.single, perSec: median(s.map((x) => x.perSec)), runs: s.map((x) => x.perSec) },
    batched: { entries: z.batched, batch: z.batch, perSec: median(b.map((x) => x.perSec)), runs: b.map((x) => x.perSec) },
    peakRssMiB: peakRssMiB()
  }
  printTable('Raw Hypercore append', [
    { key: 'mode', title: 'mode', align: 'left' },
    { key: 'entries', title: 'entries' },
    { key: 'time', title: 'median time' },
    { key: 'rate', title: 'entries/s (median)' },
    { key: 'runs', title: 'runs (entries/s)', align: 'left' }
  ], [
    { mode: 'single await append(buf)', entries: fmt(z.single), time: fmtMs(median(s.map((x) => x.ms))), rate: fmt(result.single.perSec), runs: s.map((x) => fmt(x.perSec)).join(' ') },
    { mode: `batched append(${fmt(z.batch)} bufs)`, entries: fmt(z.batched), time: fmtMs(median(b.map((x) => x.ms))), rate: fmt(result.batched.perSec), runs: b.map((x) => fmt(x.perSec)).join(' ') }
  ])
  emitResult(result)
}

/** Version of the hypercore actually loaded (must be the pinned 11.37.1). */
export async function hypercoreVersion () {
  const { createRequire } = await import('node:module')
  const require = createRequire(import.meta.url)
  return require('hypercore/package.json').version
}

if (isMain(import.meta.url)) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
