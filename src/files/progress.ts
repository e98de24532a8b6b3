/**
 * Progress of a file transfer as an event stream (design §6): bytes, total, percent, rate, ETA
 * and peers, reported at most every PROGRESS_INTERVAL_MS plus once at every phase change. The
 * CLI renders it as a bar or NDJSON; the library never prints.
 */

/** What a transfer is doing. */
export type FilePhase = 'reading' | 'downloading' | 'writing' | 'verifying' | 'done'

/** One progress report. Sizes in bytes, times in ms unless noted. */
export interface FileProgress {
  phase: FilePhase
  /** send: bytes read and stored in the blob core; get: bytes of the file stored locally */
  bytes: number
  /** size of the file; null while unknown (send from a stream) */
  total: number | null
  /** bytes / total × 100, one decimal (100 for an empty file); null while the total is unknown */
  percent: number | null
  /** bytes per second over the last RATE_WINDOW_MS */
  rate: number
  /** seconds left at that rate; null while the rate or the total is unknown */
  eta: number | null
  /** get: peers replicating the file's blob core; send: 0 */
  peers: number
  /** get: peers that have served blocks of this file in this run */
  sources: number
  /** get: bytes of the output (temporary) file written so far; send: equal to bytes */
  written: number
  /** ms since the transfer started */
  elapsed: number
}

/** A callback receiving progress reports. */
export type OnFileProgress = (p: FileProgress) => void

/** Fewest ms between two reports of the same phase. */
export const PROGRESS_INTERVAL_MS = 100
/** The rate is measured over this window, ms. */
export const RATE_WINDOW_MS = 3000

/** Bytes per second over a sliding window of samples. */
export class RateMeter {
  private readonly samples: Array<{ t: number, bytes: number }> = []
  private readonly window: number

  constructor (windowMs = RATE_WINDOW_MS) {
    this.window = windowMs
  }

  /** Record the running byte count `bytes` (monotonic) at time `t` (ms). */
  sample (bytes: number, t = Date.now()): void {
    this.samples.push({ t, bytes })
    // keep one sample older than the window as the base of the rate
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.window) this.samples.shift()
  }

  /** Bytes per second; 0 until two samples are some time apart. */
  rate (): number {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (first === undefined || last === undefined || last.t - first.t < 200) return 0
    return (last.bytes - first.bytes) / ((last.t - first.t) / 1000)
  }
}

/** Builds and throttles progress reports for one transfer. */
export class ProgressReporter {
  private readonly fn: OnFileProgress | undefined
  private readonly started = Date.now()
  private readonly meter = new RateMeter()
  private last = 0
  private lastPhase: FilePhase | null = null
  private lastBytes = 0
  private lastWritten = 0
  total: number | null

  /** `total`: the size in bytes, or null while unknown (set `total` once known). */
  constructor (total: number | null, fn: OnFileProgress | undefined) {
    this.total = total
    this.fn = fn
  }

  /**
   * Report; dropped when the previous report of the same phase is too recent, unless `force` or
   * it is the first progress of the transfer (the first bytes stored or written show at once).
   */
  report (state: { phase: FilePhase, bytes: number, peers?: number, sources?: number, written?: number }, force = false): void {
    const now = Date.now()
    this.meter.sample(state.bytes, now)
    if (this.fn === undefined) return
    const written = state.written ?? state.bytes
    const first = (this.lastBytes === 0 && state.bytes > 0) || (this.lastWritten === 0 && written > 0)
    if (!force && !first && state.phase === this.lastPhase && now - this.last < PROGRESS_INTERVAL_MS) return
    this.last = now
    this.lastPhase = state.phase
    this.lastBytes = state.bytes
    this.lastWritten = written
    const rate = this.meter.rate()
    const total = this.total
    const left = total === null ? null : Math.max(0, total - state.bytes)
    this.fn({
      phase: state.phase,
      bytes: state.bytes,
      total,
      percent: total === null ? null : total === 0 ? 100 : Math.floor((state.bytes / total) * 1000) / 10,
      rate: Math.round(rate),
      eta: left === null ? null : left === 0 ? 0 : rate > 0 ? Math.round((left / rate) * 10) / 10 : null,
      peers: state.peers ?? 0,
      sources: state.sources ?? 0,
      written: state.written ?? state.bytes,
      elapsed: now - this.started,
    })
  }

  /** ms since the transfer started. */
  get elapsed (): number {
    return Date.now() - this.started
  }
}
