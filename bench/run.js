// `npm run bench [names...]`: runs each benchmark in its own child process (clean heap and
// RSS), streams its output, then prints a summary: name, feedchain figure, anchor figure
// (measured in the same run), ratio, target, PASS/MISS.
// Exit code: 0 even when a target is missed (benchmarks report, they are not tests);
// 1 if a benchmark crashed (non-zero exit or no BENCH_RESULT line); 2 on bad arguments.
//
// Env: sizes are read by each benchmark (see the header of each file); BENCH_OUT=<file>
// also writes the collected results as JSON.
import fs from 'node:fs'
import os from 'node:os'
import { createRequire } from 'node:module'
import path from 'node:path'
import { runChild, BENCH_DIR } from './lib/child.js'
import { printTable } from './lib/table.js'
import { fmt, fmtMs, fmtRatio } from './lib/timing.js'

// name -> script, in default run order (cheap first). A script that exits 0 without a
// BENCH_RESULT line (lib/result.js) still runs and shows its own table; its summary row says so.
const BENCHES = {
  'chain-engine': 'chain-engine.js',
  append: 'append.js',
  'log-open': 'log-open.js',
  reconcile: 'reconcile.js',
  finality: 'finality.js',
  'catch-up': 'catch-up.js',
  'swarm-download': 'swarm-download.js',
  latency: 'latency.js',
  'entry-delay': 'entry-delay.js',
  'seed-many': 'seed-many.js',
  transfer: 'transfer.js'
}

function usage () {
  return `usage: node bench/run.js [${Object.keys(BENCHES).join('|')}]...   (default: all)`
}

async function main () {
  const args = process.argv.slice(2)
  if (args.includes('-h') || args.includes('--help')) { console.log(usage()); return 0 }
  const names = args.length ? args : Object.keys(BENCHES)
  const unknown = names.filter((n) => !BENCHES[n])
  if (unknown.length) { console.error(`unknown benchmark(s): ${unknown.join(', ')}\n${usage()}`); return 2 }

  const require = createRequire(import.meta.url)
  const version = (p) => { try { return require(`${p}/package.json`).version } catch { return 'missing' } }
  console.log(`feedchain benchmarks: ${names.join(', ')}`)
  console.log(`node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model?.trim() || '?'}), ` +
    `${fmt(os.totalmem() / 2 ** 30, 1)} GiB, hypercore ${version('hypercore')}, autobase ${version('autobase')}, ${new Date().toISOString()}`)

  const collected = []
  for (const name of names) {
    console.log(`\n=== ${name} ${'='.repeat(Math.max(0, 70 - name.length))}`)
    if (!fs.existsSync(path.join(BENCH_DIR, BENCHES[name]))) {
      console.log(`=== ${name}: skipped, bench/${BENCHES[name]} does not exist`)
      collected.push({ name, skipped: true, crashed: false, result: null })
      continue
    }
    const child = await runChild(BENCHES[name])
    const crashed = child.code !== 0
    collected.push({ name, code: child.code, signal: child.signal, ms: child.ms, crashed, result: child.result })
    console.log(`=== ${name}: ${crashed ? `CRASHED (exit ${child.signal || child.code})` : 'done'} in ${fmtMs(child.ms)}`)
  }

  const rows = []
  for (const c of collected) {
    const resultRows = c.result?.rows || []
    if (!resultRows.length) {
      const why = c.skipped ? 'skipped (file missing)' : c.crashed ? '' : 'see its table (no BENCH_RESULT line)'
      rows.push({ name: c.name, fc: why, anchor: '', ratio: '', target: '', verdict: c.crashed ? 'CRASH' : '-' })
    }
    for (const r of resultRows) {
      rows.push({
        name: r.name,
        fc: value(r.feedchain, r.unit),
        anchor: r.anchor === null ? '' : `${value(r.anchor, r.unit)}${r.anchorName ? ` (${r.anchorName})` : ''}`,
        ratio: ratioText(r),
        target: r.target,
        verdict: c.crashed || (r.feedchain === null) ? 'CRASH' : r.pass === null ? '-' : r.pass ? 'PASS' : 'MISS'
      })
    }
  }
  printTable('\nSummary', [
    { key: 'name', title: 'benchmark', align: 'left' },
    { key: 'fc', title: 'feedchain', align: 'right' },
    { key: 'anchor', title: 'anchor (same run)', align: 'left' },
    { key: 'ratio', title: 'ratio', align: 'right' },
    { key: 'target', title: 'target', align: 'left' },
    { key: 'verdict', title: 'result', align: 'left' }
  ], rows)

  if (process.env.BENCH_OUT) {
    fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify({ at: new Date().toISOString(), node: process.version, benches: collected }, null, 2))
    console.log(`\nresults written to ${process.env.BENCH_OUT}`)
  }
  return collected.some((c) => c.crashed) ? 1 : 0
}

function value (v, unit) {
  if (v === null || v === undefined) return 'n/a'
  if (unit === 'ms') return fmtMs(v)
  return `${fmt(v, v < 100 ? 1 : 0)} ${unit}`
}

function ratioText (r) {
  if (r.ratio === null || r.ratio === undefined) return ''
  // targets below 1 are "fraction of the anchor": show a percentage
  return r.targetRatio !== null && r.targetRatio < 1 ? `${fmt(r.ratio * 100, 1)}%` : fmtRatio(r.ratio)
}

main().then((code) => { process.exitCode = code }, (err) => {
  console.error(err)
  process.exitCode = 1
})
