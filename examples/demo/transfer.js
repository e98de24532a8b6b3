// The file step's parts: a file of random bytes (and its sha256), and two `feedchain get --json`
// downloads at once, shown as one cli-progress MultiBar on a terminal (fed from the children's
// NDJSON progress records, see src/cli/commands/files.ts FileProgressView), else as a few plain
// progress lines.
import crypto from 'node:crypto'
import fs from 'node:fs'
import { MultiBar, Presets } from 'cli-progress'
import { StepError } from './procs.js'
import { c, who } from './term.js'

/** Write `bytes` random bytes to `file` in 1 MiB chunks; returns the sha256 (hex). */
export function randomFile (file, bytes) {
  const hash = crypto.createHash('sha256')
  const chunk = Buffer.alloc(1024 * 1024)
  const fd = fs.openSync(file, 'w')
  try {
    for (let left = bytes; left > 0; left -= chunk.byteLength) {
      const part = left >= chunk.byteLength ? chunk : chunk.subarray(0, left)
      crypto.randomFillSync(part)
      hash.update(part)
      fs.writeSync(fd, part)
    }
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File (file) {
  const hash = crypto.createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk)
  return hash.digest('hex')
}

/** One NDJSON line as an object, or null (blank or not JSON: a child's stray output is not a crash). */
export function parseRecord (line) {
  if (line.trim() === '') return null
  try {
    const v = JSON.parse(line)
    return v !== null && typeof v === 'object' ? v : null
  } catch {
    return null
  }
}

/** Bytes as text, in MB (10^6), like the CLI's formatBytes for this range. */
function mb (n) {
  return `${(n / 1e6).toFixed(1)} MB`
}

/**
 * Run `feedchain get <id> -o <out> --json` for every person at once and show their progress.
 * Resolves to [{ person, got (the "got" record), ms }] in the order given; StepError if one fails.
 */
export async function fetchAll (people, id, outputs, { size, timeout = 120_000 } = {}) {
  const tty = process.stdout.isTTY === true
  const bars = tty
    ? new MultiBar({
      stream: process.stdout,
      format: `{who} {bar} {percentage}% | {done} / {total_} | {speed} | {peers}`,
      barsize: 28,
      fps: 8,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      gracefulExit: true,
      linewrap: false,
    }, Presets.shades_classic)
    : null
  const pad = Math.max(...people.map((p) => p.name.length))
  try {
    return await Promise.all(people.map(async (p, i) => {
      const t0 = performance.now()
      const bar = bars?.create(Math.max(1, size), 0, { who: who(p.name.padEnd(pad)), done: '0 B', total_: mb(size), speed: '--', peers: '' })
      let plainPhase = ''
      let plainQuarter = -1
      let got = null
      let buf = ''
      const child = p.spawn(['get', id, '-o', outputs[i], '--json'])
      child.proc.stdin.end()
      child.proc.stdout.on('data', (d) => {
        buf += d
        let nl
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          const rec = parseRecord(line)
          if (rec === null) continue
          if (rec.type === 'got') { got = rec; bar?.update(Math.max(1, size), { done: mb(size), speed: c.dim('hash verified'), peers: '' }); continue }
          if (rec.type !== 'progress') continue
          const total = rec.total ?? size
          // downloading: bytes stored here; then writing: bytes of the output file written
          const value = rec.phase === 'downloading' ? rec.bytes : rec.written
          const rate = rec.rate > 0 ? `${(rec.rate / 1e6).toFixed(1)} MB/s` : '--'
          const peers = `${rec.peers} peer${rec.peers === 1 ? '' : 's'}${rec.sources > 0 ? ` (${rec.sources} sending)` : ''}`
          if (bar) {
            bar.setTotal(Math.max(1, total))
            bar.update(value, { done: mb(value), total_: mb(total), speed: rate, peers: `${rec.phase}, ${peers}` })
            continue
          }
          // off a terminal: a line when the phase changes or the value passes a quarter
          const quarter = Math.floor((value / Math.max(1, total)) * 4)
          if (rec.phase !== plainPhase || quarter > plainQuarter) {
            plainPhase = rec.phase
            plainQuarter = quarter
            console.log(`    ${p.name.padEnd(pad)}  ${rec.phase.padEnd(11)} ${String(Math.floor((value / Math.max(1, total)) * 100)).padStart(3)}%  ${mb(value)} of ${mb(total)}  ${rate}  ${peers}`)
          }
        }
      })
      const r = await child.wait(timeout)
      if (r.timedOut) throw new StepError(`${p.name}: \`feedchain get ${id}\` did not finish within ${timeout / 1000} s`)
      if (r.code !== 0) throw new StepError(`${p.name}: \`feedchain get ${id}\` exited ${r.code}: ${child.stderr.trim().split('\n').pop() ?? ''}`)
      if (got === null) throw new StepError(`${p.name}: \`feedchain get ${id} --json\` printed no "got" record`)
      return { person: p, got, ms: performance.now() - t0, stderr: child.stderr }
    }))
  } finally {
    bars?.stop()
  }
}
