// CPU time of a process by thread (Linux /proc): where a benchmark's cycles go, e.g. the main
// thread (JS, UDX, crypto) versus libuv's pool (file I/O, RocksDB calls) versus RocksDB's own
// flush and compaction threads. Thread names are the kernel's `comm` (15 characters).
import fs from 'node:fs'
import os from 'node:os'

const TICK_MS = 1000 / 100 // USER_HZ is 100 on Linux

/** CPU ms (user + system) per thread name of `pid`, summed over threads of the same name. */
export function threadCpu (pid) {
  const out = {}
  let tasks
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const t of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      // the main thread (JS, UDX, crypto) has the process's id; the others are named by the kernel
      const name = String(t) === String(pid) ? 'main' : normalize(stat.slice(stat.indexOf('(') + 1, close))
      const f = stat.slice(close + 2).split(' ')
      out[name] = (out[name] || 0) + (Number(f[11]) + Number(f[12])) * TICK_MS // utime, stime
    } catch {} // the thread ended meanwhile
  }
  return out
}

// numbered pool threads ("rocksdb:low3") are counted as one
function normalize (name) {
  return name.replace(/\d+$/, '') || name
}

/** Difference of two threadCpu() snapshots; entries below 1 ms are dropped. */
export function cpuDelta (after, before) {
  const out = {}
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] || 0)
    if (d >= 1) out[k] = d
  }
  return out
}

/** CPU ms of all threads together, from threadCpu() or cpuDelta(). */
export function totalCpu (byThread) {
  return Object.values(byThread).reduce((s, v) => s + v, 0)
}

/** "main 3.1 s, libuv-worker 0.8 s, …" sorted by time; `total` first. */
export function fmtCpu (delta) {
  const entries = Object.entries(delta).sort((a, b) => b[1] - a[1])
  const total = totalCpu(delta)
  return [`total ${(total / 1000).toFixed(1)} s`, ...entries.map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)].join(', ')
}

/** The machine's CPU counters (/proc/stat, all cores): busy and total ms so far. */
export function machineCpu () {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const total = f.reduce((a, b) => a + b, 0) * TICK_MS
    const idle = ((f[3] || 0) + (f[4] || 0)) * TICK_MS // idle + iowait
    return { busy: total - idle, total }
  } catch {
    return { busy: 0, total: 0 }
  }
}

/** Share of all cores busy between two machineCpu() snapshots (0..1), or null. */
export function busyShare (after, before) {
  const total = after.total - before.total
  return total > 0 ? (after.busy - before.busy) / total : null
}

/** Number of cores. */
export function cores () {
  return os.cpus().length
}
