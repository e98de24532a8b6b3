/**
 * The daemon's live status line on a terminal: one line on stderr, redrawn at most 4 times a
 * second, with event lines printed above it. Off a terminal nothing periodic is printed: only
 * the event lines.
 */
import type { Writable } from 'node:stream'
import type { DaemonSnapshot } from '../daemon/daemon.js'
import { escapeText, formatBytes, shortKey } from './format.js'

/** Fewest ms between two redraws (≤ 4 per second). */
export const REDRAW_MS = 250

/** The status line text for a snapshot, cut to `width` columns. Pure. */
export function renderStatusLine (s: DaemonSnapshot, width: number): string {
  const parts = [
    'feedchain daemon',
    `${s.peers} peer${s.peers === 1 ? '' : 's'}`,
    `↓ ${formatBytes(s.bytesIn)} ↑ ${formatBytes(s.bytesOut)}`,
  ]
  if (s.bans > 0) parts.push(`${s.bans} banned`)
  if (s.chains.length === 0) parts.push('no chains yet (feedchain init / join <key>)')
  for (const c of s.chains) {
    let text = `${shortKey(c.key)}${c.name !== '' ? ` "${escapeText(c.name).slice(0, 20)}"` : ''} ${c.finalLength}/${c.length}`
    if (c.pending > 0) text += ` (${c.pending} pending)`
    if (c.lag > 0) text += ` ↓${c.lag}`
    parts.push(text)
  }
  const line = parts.join(' · ')
  const max = Math.max(10, width - 1)
  return line.length > max ? line.slice(0, max - 1) + '…' : line
}

/** The status line on a stream. */
export class StatusLine {
  /** true on a terminal: the line is drawn; otherwise only log() prints */
  readonly live: boolean
  private readonly stream: Writable & { isTTY?: boolean, columns?: number }
  private readonly render: (width: number) => string
  private shown = false
  private timer: NodeJS.Timeout | null = null
  private last = 0
  private closed = false

  constructor (stream: Writable & { isTTY?: boolean, columns?: number }, render: (width: number) => string) {
    this.stream = stream
    this.render = render
    this.live = stream.isTTY === true
  }

  /** Something changed: redraw soon (throttled to REDRAW_MS). */
  update (): void {
    if (!this.live || this.closed || this.timer !== null) return
    const wait = Math.max(0, this.last + REDRAW_MS - Date.now())
    this.timer = setTimeout(() => { this.timer = null; this.draw() }, wait)
    this.timer.unref()
  }

  /** Print an event line (above the status line on a terminal). */
  log (line: string): void {
    if (this.closed) return
    if (this.live) {
      this.stream.write('\r\x1b[K' + line + '\n')
      this.shown = false
      this.update()
    } else {
      this.stream.write(line + '\n')
    }
  }

  /** Remove the line and stop redrawing. */
  close (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.live && this.shown) this.stream.write('\r\x1b[K')
    this.closed = true
  }

  private draw (): void {
    if (this.closed) return
    this.last = Date.now()
    const columns = this.stream.columns
    this.stream.write('\r\x1b[K' + this.render(columns !== undefined && columns > 0 ? columns : 80))
    this.shown = true
  }
}
