// `log-open`: how fast `feedchain log -n 20` answers on a big chain, as a user runs it — a cold
// CLI process (node start, module loading, storage open, chain view lookup, read the last 20
// entries, print) on a chain of BENCH_LOG_N entries (default 1,000,000).
//
// Setup (not timed): one writer appends BENCH_LOG_N entries in batches of BENCH_LOG_BATCH (cut
// into blocks of 1,000) through the library into a temporary storage, registered like
// `feedchain init` does, then closes it.
//
// Timed, BENCH_LOG_RUNS times each, interleaved (bare, version, log, bare, …) so load drifts hit
// all three alike; the median is reported:
//   bare     `node -e ''`                        the floor: starting Node itself
//   version  `feedchain --version`               the anchor: Node plus loading the CLI's modules
//   log      `feedchain --storage D log -n 20`   the command
// The difference log − version is what the command itself costs (open, look up, read, print).
// Every log run's output is checked: 20 lines, the last one at position N − 1.
// Target (issue 5): log median < 500 ms.
//
// Children get FEEDCHAIN_BOOTSTRAP pointing at a local testnet on 127.0.0.1 (log does not touch
// the network; this makes sure nothing could go to the public DHT if it ever did).
//
// Env: BENCH_LOG_N (1,000,000), BENCH_LOG_BATCH (10,000), BENCH_LOG_RUNS (7), BENCH_ENTRY_BYTES (100).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { BENCH_DIR } from './lib/child.js'
import { envInt } from './lib/env.js'
import { loadFeedchain } from './lib/feedchain.js'
import { median } from './lib/entries.js'
import { emitResult } from './lib/result.js'
import { printTable } from './lib/table.js'
import { fmt, fmtMs, now } from './lib/timing.js'
import { removeTmpDir, tmpDir } from './lib/tmp.js'

const N = Math.max(21, envInt('BENCH_LOG_N', 1_000_000))
const BATCH = Math.max(1, envInt('BENCH_LOG_BATCH', 10_000))
const RUNS = Math.max(1, envInt('BENCH_LOG_RUNS', 7))
const ENTRY_BYTES = Math.max(8, envInt('BENCH_ENTRY_BYTES', 100))
const TARGET_MS = 500
const BIN = path.join(BENCH_DIR, '..', 'bin', 'feedchain.js')

/** Build a storage holding one chain of N entries (the genesis plus N − 1 appended). */
async function buildChain (fc, dir) {
  const storage = await fc.Storage.open(dir, { create: true })
  try {
    const node = new fc.ChainNode(storage.store, { name: 'log-open bench' })
    await node.ready()
    await storage.addChain({ key: node.key.toString('hex'), name: node.name, addedAt: Date.now(), creator: true })
    const pad = 'x'.repeat(ENTRY_BYTES)
    let appended = 1 // the genesis
    while (appended < N) {
      const k = Math.min(BATCH, N - appended)
      const batch = new Array(k)
      for (let i = 0; i < k; i++) batch[i] = (`entry ${appended + i} ` + pad).slice(0, ENTRY_BYTES)
      await node.append(batch)
      appended += k
    }
    const st = node.status()
    await node.close()
    return st
  } finally {
    await storage.close()
  }
}

/** Run `node args`, resolve { ms, code, stdout, stderr } (wall time from spawn to exit). */
function timed (args, env) {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms: now() - t0, code, stdout, stderr }))
  })
}

async function main () {
  const fc = await loadFeedchain()
  console.log(`log-open: cold \`feedchain log -n 20\` on a chain of ${fmt(N)} entries (${ENTRY_BYTES} B, batches of ${fmt(BATCH)}), ${RUNS} runs each, medians`)
  const testnet = await fc.createLocalTestnet(3)
  const bootstrap = testnet.bootstrapString
  if (!bootstrap.split(',').every((b) => /^127\.\d+\.\d+\.\d+:\d+$/.test(b))) throw new Error('refusing a bootstrap off loopback: ' + bootstrap)
  const dir = tmpDir('log-open')
  try {
    const storageDir = path.join(dir, 'store')
    const t0 = now()
    const st = await buildChain(fc, storageDir)
    console.log(`built: length ${fmt(st.length)}, final ${fmt(st.finalLength)} in ${fmtMs(now() - t0)}`)
    if (st.length !== N || st.finalLength !== N) throw new Error(`expected ${N} final entries, got ${st.finalLength}/${st.length}`)

    const env = { ...process.env, FEEDCHAIN_BOOTSTRAP: bootstrap, NO_COLOR: '1' }
    for (const k of ['FEEDCHAIN_STORAGE', 'FEEDCHAIN_HOST']) delete env[k]
    const kinds = {
      bare: ['-e', ''],
      version: [BIN, '--version'],
      log: [BIN, '--storage', storageDir, 'log', '-n', '20'],
    }
    const ms = { bare: [], version: [], log: [] }
    // one untimed round first: the OS file cache holds the modules and the store afterwards
    for (const args of Object.values(kinds)) await timed(args, env)
    for (let r = 0; r < RUNS; r++) {
      for (const [kind, args] of Object.entries(kinds)) {
        const res = await timed(args, env)
        if (res.code !== 0) throw new Error(`${kind} exited ${res.code}: ${res.stderr.trim()}`)
        if (kind === 'log') {
          const lines = res.stdout.split('\n').filter((l) => l !== '')
          const lastPos = Number((lines[lines.length - 1] ?? '').trim().split(/\s+/)[0])
          if (lines.length !== 20 || lastPos !== N - 1) throw new Error(`log -n 20 printed ${lines.length} lines ending at ${lastPos}, expected 20 ending at ${N - 1}`)
        }
        ms[kind].push(res.ms)
      }
    }
    const med = { bare: median(ms.bare), version: median(ms.version), log: median(ms.log) }
    printTable('log-open (wall time of a whole process, ms)', [
      { key: 'what', title: 'process', align: 'left' },
      { key: 'median', title: 'median' },
      { key: 'min', title: 'min' },
      { key: 'max', title: 'max' },
    ], [
      { what: 'node -e \'\' (bare Node start)', median: fmtMs(med.bare), min: fmtMs(Math.min(...ms.bare)), max: fmtMs(Math.max(...ms.bare)) },
      { what: 'feedchain --version (anchor)', median: fmtMs(med.version), min: fmtMs(Math.min(...ms.version)), max: fmtMs(Math.max(...ms.version)) },
      { what: `feedchain log -n 20 (${fmt(N)} entries)`, median: fmtMs(med.log), min: fmtMs(Math.min(...ms.log)), max: fmtMs(Math.max(...ms.log)) },
    ])
    console.log(`\nlog − version: ${fmtMs(med.log - med.version)} (the command's own work); log − bare: ${fmtMs(med.log - med.bare)}; ` +
      `target: log < ${TARGET_MS} ms: ${med.log < TARGET_MS ? 'PASS' : 'MISS'}`)
    emitResult({
      bench: 'log-open',
      n: N,
      runs: RUNS,
      ms,
      rows: [{
        name: `log -n 20, cold process, ${fmt(N)} entries`,
        feedchain: med.log,
        anchor: med.version,
        anchorName: 'feedchain --version',
        unit: 'ms',
        ratio: med.version > 0 ? med.log / med.version : null,
        target: `< ${TARGET_MS} ms`,
        targetRatio: null,
        pass: med.log < TARGET_MS,
        note: `bare node ${fmtMs(med.bare)}; log − version ${fmtMs(med.log - med.version)}`,
      }],
    })
  } finally {
    removeTmpDir(dir)
    await testnet.destroy()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
