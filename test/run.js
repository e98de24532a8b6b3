#!/usr/bin/env node
// Runs every test/**/*.test.js file in its own Node process (brittle), two at a time, and ends
// with the plain summary line `N passed, N failed` (tests, not files). Exits 1 on any failure.
//
//   node test/run.js                 all test files
//   node test/run.js chain cli       only files whose path contains one of the words
//   FEEDCHAIN_TEST_JOBS=1            run files one at a time
//   FEEDCHAIN_TEST_TIMEOUT=300       per-file time limit in seconds (default 300)
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const jobs = Number(process.env.FEEDCHAIN_TEST_JOBS) || 2
const timeoutMs = (Number(process.env.FEEDCHAIN_TEST_TIMEOUT) || 300) * 1000

function list (dir) {
  const out = []
  for (const name of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, name.name)
    if (name.isDirectory() && name.name !== 'fixtures' && name.name !== 'helpers') out.push(...list(p))
    else if (name.isFile() && name.name.endsWith('.test.js')) out.push(p)
  }
  return out.sort()
}

const files = list(here).filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
let passed = 0
let failed = 0
const failures = []
const started = Date.now()

function runFile (file) {
  return new Promise((resolve) => {
    const rel = path.relative(path.dirname(here), file)
    const t0 = Date.now()
    // detached: the file gets its own process group, so a timeout kills it and its children
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0' } })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const m = /# tests = (\d+)\/(\d+) pass/.exec(out)
      let p = 0
      let f = 0
      if (m) { p = Number(m[1]); f = Number(m[2]) - p }
      const ok = !timedOut && code === 0 && m !== null && f === 0
      if (!ok && f === 0) f = 1 // crashed, timed out or printed no summary: count the file as one failure
      passed += p
      failed += f
      const secs = ((Date.now() - t0) / 1000).toFixed(1)
      const why = timedOut ? ' (timed out)' : signal ? ` (${signal})` : code !== 0 ? ` (exit ${code})` : ''
      process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${rel}: ${p} passed, ${f} failed, ${secs}s${why}\n`)
      if (!ok) failures.push({ rel, out })
      resolve()
    })
  })
}

const queue = files.slice()
await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
  while (queue.length) await runFile(queue.shift())
}))

for (const { rel, out } of failures) {
  process.stdout.write(`\n--- output of ${rel} (last 80 lines) ---\n`)
  process.stdout.write(out.split('\n').slice(-80).join('\n') + '\n')
}
if (files.length === 0) { failed++; process.stdout.write('no test files matched\n') }
process.stdout.write(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed === 0 ? 0 : 1
