/**
 * Everything the CLI prints goes through here: data on stdout (text lines, or one JSON object per
 * line with `--json`), logs and hints on stderr. Colour only on a TTY, never with NO_COLOR.
 * A closed stdout (EPIPE, e.g. `feedchain log | head`) is not an error: writes stop and
 * `broken` tells the command to finish early.
 */
import type { Writable } from 'node:stream'
import pc from 'picocolors'

/** The colour functions the CLI uses (identity functions when colour is off). */
export type Colors = ReturnType<typeof pc.createColors>

/** Options of Output: the streams and the environment that decide colour. */
export interface OutputOptions {
  json: boolean
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
}

/** True if text written to `stream` may carry ANSI colour. */
export function colorEnabled (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

/** Text vs NDJSON output, with backpressure and EPIPE handling. */
export class Output {
  /** print NDJSON instead of text */
  readonly json: boolean
  /** colours for stdout */
  readonly c: Colors
  /** colours for stderr */
  readonly ce: Colors
  /** stdout is a terminal (commands may shorten or decorate) */
  readonly tty: boolean
  private readonly stdout: Writable
  private readonly stderr: Writable & { isTTY?: boolean, columns?: number }
  private closed = false
  private readonly onBroken: Array<() => void> = []

  constructor (opts: OutputOptions) {
    this.json = opts.json
    this.stdout = opts.stdout
    this.stderr = opts.stderr
    this.tty = opts.stdout.isTTY === true
    this.c = pc.createColors(colorEnabled(opts.stdout, opts.env))
    this.ce = pc.createColors(colorEnabled(opts.stderr, opts.env))
    this.stdout.on('error', (e: NodeJS.ErrnoException) => {
      // The reader went away: stop writing, quietly. (Other errors reach the process handler.)
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.markBroken()
    })
  }

  /** stderr, for progress and status lines that redraw themselves on a terminal */
  get err (): Writable & { isTTY?: boolean, columns?: number } {
    return this.stderr
  }

  /** True once stdout's reader has gone away; commands should stop producing output. */
  get broken (): boolean {
    return this.closed
  }

  /** Call `fn` when stdout breaks (used to abort a long command). */
  onBrokenPipe (fn: () => void): void {
    if (this.closed) fn()
    else this.onBroken.push(fn)
  }

  /** Print one line of data on stdout; resolves when the stream can take more. */
  async line (text: string): Promise<void> {
    await this.write(text + '\n')
  }

  /** Print one NDJSON record on stdout. */
  async record (obj: unknown): Promise<void> {
    await this.write(JSON.stringify(obj) + '\n')
  }

  /** Print a data record: `obj` as NDJSON with --json, else the text lines from `text()`. */
  async emit (obj: unknown, text: () => string | string[]): Promise<void> {
    if (this.json) return this.record(obj)
    const t = text()
    for (const l of Array.isArray(t) ? t : [t]) await this.line(l)
  }

  /** A log line, hint or progress note on stderr (never data). Silent with --json. */
  info (text: string): void {
    if (this.json) return
    this.stderr.write(text + '\n')
  }

  /** A warning on stderr, shown even with --json. */
  warn (text: string): void {
    this.stderr.write(this.ce.yellow('feedchain: warning: ') + text + '\n')
  }

  /** Resolve once everything written to stdout has been handed to the OS (or stdout broke). */
  async flush (): Promise<void> {
    await Promise.all([drained(this.stdout, () => this.closed), drained(this.stderr, () => false)])
  }

  private async write (chunk: string): Promise<void> {
    if (this.closed) return
    let ok: boolean
    try {
      ok = this.stdout.write(chunk)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') { this.markBroken(); return }
      throw e
    }
    if (!ok && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => { this.stdout.off('drain', done); this.stdout.off('close', done); resolve() }
        this.stdout.once('drain', done)
        this.stdout.once('close', done)
        this.onBrokenPipe(done)
      })
    }
  }

  private markBroken (): void {
    if (this.closed) return
    this.closed = true
    for (const fn of this.onBroken.splice(0)) fn()
  }
}

function drained (stream: Writable, broken: () => boolean): Promise<void> {
  if (broken() || stream.destroyed || stream.writableLength === 0) return Promise.resolve()
  return new Promise((resolve) => {
    stream.write('', () => resolve())
    stream.once('error', () => resolve())
  })
}
