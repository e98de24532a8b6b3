// Where the CPU of a benchmark's worker processes goes, sampled with Linux `perf` (opt-in:
// BENCH_PROFILE=1; needs the perf tool and kernel.perf_event_paranoid <= 1 or root).
//
// startProfile(workers) runs `perf record -g -p <their pids>` until stop(), then reads the
// samples back with `perf script` and puts each one in the first category below that any frame
// of its stack matches: the crypto and checksum loops first, then page faults, then what the
// kernel does for a syscall (file writes, file reads, UDP), then V8's garbage collector,
// JavaScript, RocksDB, UDX and libc. Workers started with BENCH_PROFILE=1 run with
// --perf-basic-prof-only-functions (lib/proc.js), so JavaScript frames have names; lib/proc.js
// removes their /tmp/perf-<pid>.map files when they exit.
//
// Samples are taken at a fixed rate per CPU second, so a category's share of a process's
// samples is its share of that process's CPU time; the caller turns shares into CPU seconds
// with the CPU it measured itself (lib/cpu.js).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { PERF_MAPS, trackChild } from './proc.js'

/** BENCH_PROFILE=1 (read once, in lib/proc.js, which starts the workers ready for it). */
export const PROFILE = PERF_MAPS
/** Samples per CPU second. */
const FREQUENCY = 999

const WRITE = /ksys_write|__x64_sys_pwrite64|__x64_sys_write\b|__x64_sys_pwritev|__x64_sys_writev|__x64_sys_fdatasync|__x64_sys_fsync|__x64_sys_sync_file_range/
const READ = /ksys_read|__x64_sys_pread64|__x64_sys_read\b|__x64_sys_preadv/
const UDP = /__sys_sendmsg|__sys_recvmsg|__sys_sendmmsg|__sys_recvmmsg|udp_sendmsg|udp_recvmsg|handle_softirqs|net_rx_action/
const GC = /v8::internal::(Heap::(CollectGarbage|PerformGarbageCollection|MarkCompact|Scavenge|FinalizeIncrementalMarking|StartIncrementalMarking)|MarkCompactCollector|MinorMarkCompactCollector|ConcurrentMarking|IncrementalMarking|MarkingVisitor|Sweeper|Scavenger|ScavengerCollector|ArrayBufferSweeper|Evacuat|RememberedSet|PointersUpdatingVisitor|MemoryReducer|GCTracer|ScavengeJob)/

/**
 * [name, test(stack, leaf)]: the first that matches names the sample. `stack` is every frame,
 * "symbol (dso)" per line, leaf first; `leaf` is the frame the CPU was in. The first rules look
 * at the whole stack (work done for a purpose, wherever the CPU was in it); the last ones only at
 * the leaf's library.
 */
export const CATEGORIES = [
  ['crc32c (RocksDB checksums)', (s) => /crc32c/.test(s)],
  ['blake2b (Merkle tree, file hash)', (s) => /blake2b/.test(s)],
  ['chacha20-poly1305 (secret-stream)', (s) => /chacha20|poly1305|salsa20/.test(s)],
  ['page faults (fresh memory)', (s) => /exc_page_fault/.test(s)],
  ['mmap, munmap', (s) => /__x64_sys_munmap|__x64_sys_mmap|__x64_sys_madvise|__x64_sys_brk/.test(s)],
  ['RocksDB file writes (WAL, blob, table)', (s) => WRITE.test(s) && /rocksdb/.test(s)],
  ['other file writes (the output file)', (s) => WRITE.test(s)],
  ['file reads', (s) => READ.test(s)],
  ['UDP send and receive (kernel)', (s) => UDP.test(s)],
  ['V8 garbage collection', (s) => GC.test(s)],
  ['JavaScript', (s, leaf) => /JS:|Builtins_|InterpreterEntry|\[JIT\]|perf-\d+\.map/.test(leaf)],
  ['RocksDB, other', (s, leaf) => /rocksdb/.test(leaf)],
  ['UDX, user space', (s, leaf) => /udx-native/.test(leaf)],
  ['libc (memcpy, malloc)', (s, leaf) => /libc\.so/.test(leaf)],
  ['Node and V8, other', (s, leaf) => /\(\S*\/node\)|\(\S*libstdc\+\+/.test(leaf)],
  ['kernel, other (scheduling, futex, ...)', (s, leaf) => /kernel\.kallsyms/.test(leaf)],
  ['other', () => true]
]

/** null if perf can run here, else why not (one line). */
export function perfUnavailable () {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' })
  if (r.error) return `perf is not installed (${r.error.code ?? r.error.message})`
  if (r.status !== 0) return `perf --version exited ${r.status}`
  return null
}

/**
 * Start sampling the workers ({ name, pid }). stop() ends it and resolves to
 * { [worker name]: { samples, categories: { [name]: samples } } }, or null (with a line on
 * stderr) if perf could not record.
 */
export function startProfile (workers) {
  const why = perfUnavailable()
  if (why !== null) {
    console.error(`profile: skipped, ${why}`)
    return { stop: async () => null }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedchain-perf-'))
  const file = path.join(dir, 'perf.data')
  const child = spawn('perf', ['record', '-q', '-F', String(FREQUENCY), '-g', '-p', workers.map((w) => w.pid).join(','), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  trackChild(child)
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return {
    async stop () {
      try {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
        await exited
        if (!fs.existsSync(file) || fs.statSync(file).size === 0) {
          console.error(`profile: perf record wrote nothing (${stderr.trim().split('\n').at(-1) || 'no message'})`)
          return null
        }
        return await summarize(file, workers)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

async function summarize (file, workers) {
  const byPid = new Map(workers.map((w) => [w.pid, { name: w.name, samples: 0, categories: {} }]))
  const child = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] })
  trackChild(child)
  const closed = new Promise((resolve) => child.once('close', resolve))
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity })
  let pid = null
  let frames = []
  const flush = () => {
    const p = pid === null ? undefined : byPid.get(pid)
    if (p !== undefined && frames.length > 0) {
      const stack = frames.join('\n')
      const [name] = CATEGORIES.find(([, test]) => test(stack, frames[0]))
      p.samples++
      p.categories[name] = (p.categories[name] ?? 0) + 1
    }
    pid = null
    frames = []
  }
  for await (const line of lines) {
    if (line.length === 0) { flush(); continue }
    const head = /^\s*(\d+)\/\d+\s*$/.exec(line)
    if (head !== null) { flush(); pid = Number(head[1]); continue }
    frames.push(line.trim().replace(/^[0-9a-f]+\s+/, ''))
  }
  flush()
  const code = await closed
  if (code !== 0) console.error(`profile: perf script exited ${code}`)
  return Object.fromEntries([...byPid.values()].map((p) => [p.name, { samples: p.samples, categories: p.categories }]))
}

/**
 * Rows for printing: per category, the CPU seconds per GiB in each worker and in all, from the
 * profile's shares and the CPU each worker used (`cpuMs`: { [worker name]: ms }).
 */
export function profileRows (profile, cpuMs, gib) {
  const names = Object.keys(profile)
  const rows = []
  for (const [cat] of CATEGORIES) {
    const per = names.map((n) => {
      const p = profile[n]
      return p.samples === 0 ? 0 : (p.categories[cat] ?? 0) / p.samples * (cpuMs[n] ?? 0) / 1000 / gib
    })
    const all = per.reduce((a, b) => a + b, 0)
    if (all > 0) rows.push({ category: cat, per, all })
  }
  rows.sort((a, b) => b.all - a.all)
  return { names, rows }
}
