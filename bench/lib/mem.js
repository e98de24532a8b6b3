// Memory of a benchmark process: its peak RSS from the kernel (VmHWM in /proc/self/status, the
// same figure as getrusage's maxrss) and, with BENCH_MEM_TRACE=1, a line to stderr every
// 500 ms (BENCH_MEM_TRACE=<ms>: that period instead) that splits the current RSS into V8 heap, external (Buffers) and the rest (native:
// RocksDB memtables and caches, libuv, UDX), to see where memory goes.
import fs from 'node:fs'

const MB = 1e6

/** Peak resident set size of this process so far, MB (10^6 bytes). */
export function peakRssMB () {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
    if (m) return (Number(m[1]) * 1024) / MB
  } catch {}
  return (process.resourceUsage().maxRSS * 1024) / MB
}

/** Starts the BENCH_MEM_TRACE sampler (no-op without it); returns a stop function. */
export function memTrace (label) {
  if (!process.env.BENCH_MEM_TRACE) return () => {}
  const t0 = Date.now()
  const every = Number(process.env.BENCH_MEM_TRACE) > 1 ? Number(process.env.BENCH_MEM_TRACE) : 500 // BENCH_MEM_TRACE=<ms>: another period
  const timer = setInterval(() => {
    const m = process.memoryUsage()
    const f = (n) => String(Math.round(n / MB)).padStart(4)
    process.stderr.write(`mem ${label} ${String(((Date.now() - t0) / 1000).toFixed(1)).padStart(6)}s rss ${f(m.rss)} heap ${f(m.heapUsed)} ext ${f(m.external)} ab ${f(m.arrayBuffers)} other ${f(m.rss - m.heapTotal - m.external)} peak ${f(peakRssMB() * MB)}\n`)
  }, every)
  timer.unref()
  return () => clearInterval(timer)
}
