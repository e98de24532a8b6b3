/**
 * Sync progress (join, sync) on stderr: on a terminal one line redrawn at most 4 times a second;
 * otherwise a line only when the picture changes (peers found, lag, caught up), at most one a
 * second. Nothing with --json (the result record says it all).
 */
import type { SyncProgress } from '../daemon/chain-api.js'
import type { Output } from './output.js'
import { StatusLine } from './status-line.js'

/** Fewest ms between two plain (non-terminal) progress lines. */
const PLAIN_MS = 1000

/** The progress text of a sync. Pure. */
export function progressText (label: string, p: SyncProgress): string {
  const peers = p.peers === 0 ? 'looking for peers' : `${p.peers} peer${p.peers === 1 ? '' : 's'}`
  const parts = [`${label}: ${peers}`, `${p.length} entr${p.length === 1 ? 'y' : 'ies'} (${p.finalLength} final)`]
  if (p.lag > 0) parts.push(`${p.lag} block${p.lag === 1 ? '' : 's'} to download`)
  if (p.unsent > 0) parts.push(`${p.unsent} to upload`)
  if (p.pending > 0) parts.push(`${p.pending} pending`)
  parts.push(`${(p.elapsed / 1000).toFixed(1)} s`)
  return parts.join(' · ')
}

/** A progress display for one sync. */
export class SyncProgressView {
  private readonly label: string
  private readonly line: StatusLine | null
  private latest: SyncProgress | null = null
  private lastPlain = 0
  private lastKey = ''

  constructor (out: Output, label: string) {
    this.label = label
    this.line = out.json ? null : new StatusLine(out.err, () => this.latest === null ? '' : progressText(this.label, this.latest))
  }

  /** A new progress report. */
  update (p: SyncProgress): void {
    this.latest = p
    if (this.line === null) return
    if (this.line.live) { this.line.update(); return }
    // off a terminal: a line when the kind of state changes, at most once a second
    const key = `${p.peers > 0}/${p.lag > 0}/${p.unsent > 0}/${p.length > 0}`
    const now = Date.now()
    if (key !== this.lastKey && now - this.lastPlain >= PLAIN_MS) {
      this.lastKey = key
      this.lastPlain = now
      this.line.log(progressText(this.label, p))
    }
  }

  /** Remove the live line (before the final message). */
  close (): void {
    this.line?.close()
  }
}
