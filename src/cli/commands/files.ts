/**
 * `feedchain files [--json]`: the files of the chain, and how much of each is stored here. Also
 * what `send` and `get` share: reaching the chain's files (through the daemon if one runs) and
 * showing transfer progress.
 */
import { createRequire } from 'node:module'
import type { SingleBar } from 'cli-progress'
import type { FileInfo } from '../../files/chain-files.js'
import type { FileProgress } from '../../files/progress.js'
import type { FilesApi } from '../../daemon/files-api.js'
import { LocalFiles } from '../../daemon/local-files.js'
import { RemoteFiles } from '../../daemon/remote-files.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { escapeText, formatBytes, formatTime, marker, shortKey } from '../format.js'
import type { Colors, Output } from '../output.js'

/**
 * The files of the chain (`chain`, or the storage's first): through the daemon if one serves the
 * storage (it is online and seeds them), else opened in this process, where `network` joins the
 * swarm too (get). Close the result when done.
 */
export async function openFiles (ctx: Context, chain: Buffer | null, opts: { network: boolean }): Promise<FilesApi> {
  return ctx.viaDaemon<FilesApi>(
    async (client) => new RemoteFiles(client, chain),
    async () => {
      const { node, network } = await ctx.openChain(chain, { network: opts.network })
      const { ChainFiles } = await import('../../files/chain-files.js')
      const files = new ChainFiles(node, { network: network ?? undefined })
      try {
        await files.ready()
      } catch (e) {
        await files.close().catch(() => {})
        throw e
      }
      return new LocalFiles(files, node, network, { owned: true })
    },
  )
}

/** The NDJSON record of a file. */
export function fileRecord (f: FileInfo): Record<string, unknown> {
  return {
    id: f.id, name: f.name, size: f.size, mime: f.mime, hash: f.hash, author: f.author, position: f.position, final: f.final,
    time: f.time, blobsKey: f.blobsKey, blockOffset: f.blockOffset, blockLength: f.blockLength, byteOffset: f.byteOffset,
    byteLength: f.byteLength, storedBlocks: f.storedBlocks, stored: f.stored, complete: f.complete,
  }
}

/** How much of a file is stored here, as `files` prints it: `100%`, ` 42%`, `  0%`. */
export function storedText (f: FileInfo): string {
  if (f.complete) return '100%'
  const pct = f.blockLength === 0 ? 100 : Math.floor((f.storedBlocks / f.blockLength) * 100)
  return `${String(Math.min(99, pct)).padStart(3)}%`
}

/** The column titles `files` prints above its lines on a terminal, aligned with fileLine. */
export function fileHeader (c: Colors, posWidth: number): string {
  return c.dim(`${'ID'.padEnd(16)}  ${'SIZE'.padStart(9)}  HERE  ${'POS'.padStart(posWidth + 2)}  ${'AUTHOR'.padEnd(8)}  ${'SENT'.padEnd(19)}  NAME`)
}

/** One `files` line: id, size, stored, marker and position, author, time, name. */
export function fileLine (f: FileInfo, c: Colors, posWidth: number): string {
  const stored = f.complete ? c.green(storedText(f)) : c.yellow(storedText(f))
  return `${c.bold(f.id)}  ${formatBytes(f.size).padStart(9)}  ${stored}  ${marker(f.final, c)} ${String(f.position).padStart(posWidth)}  ` +
    `${c.cyan(shortKey(f.author))}  ${c.dim(formatTime(f.time))}  ${escapeText(f.name)}`
}

/** Fewest ms between two NDJSON progress records of one phase. */
export const JSON_PROGRESS_MS = 250

/** A rate as text: `12.3 MB/s`. */
export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** An ETA in seconds as text: `42s`, `3m05s`, `1h02m`, `--` when unknown. */
export function formatEta (eta: number | null): string {
  if (eta === null || !Number.isFinite(eta)) return '--'
  const s = Math.round(eta)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * Transfer progress: a bar on stderr when it is a terminal (cli-progress: bytes, percent, rate,
 * ETA, peers); NDJSON `{"type":"progress",…}` records on stdout with --json; otherwise nothing.
 */
export class FileProgressView {
  private readonly out: Output
  private readonly peers: boolean
  private bar: SingleBar | null = null
  private lastJson = 0
  private lastPhase = ''
  /** the latest record dropped by the throttle, written when the interval is over unless a newer one was */
  private pendingJson: FileProgress | null = null
  private jsonTimer: NodeJS.Timeout | null = null
  private closed = false

  constructor (out: Output, label: string, opts: { peers: boolean }) {
    this.out = out
    this.peers = opts.peers
    if (!out.json && out.err.isTTY === true) {
      const peers = opts.peers ? ' | {peers}' : ''
      // loaded only when a bar is drawn (a terminal, no --json): it costs start-up time otherwise
      const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress')
      this.bar = new SingleBar({
        stream: out.err,
        format: `${label} {bar} {percentage}% | {done} / {size} | {speed} | ETA {etaText}${peers}`,
        barsize: 24,
        fps: 5,
        hideCursor: null,
        clearOnComplete: true,
        linewrap: false,
      })
      this.bar.start(1, 0, { done: '0 B', size: '?', speed: '--', etaText: '--', peers: '' })
    }
  }

  /** A new progress report. */
  update (p: FileProgress): void {
    if (this.closed) return
    if (this.out.json) {
      const now = Date.now()
      if (p.phase === this.lastPhase && now - this.lastJson < JSON_PROGRESS_MS) {
        // a transfer that stalls (stdin waiting, peers gone) must not leave its last state unsaid
        this.pendingJson = p
        if (this.jsonTimer === null) {
          this.jsonTimer = setTimeout(() => {
            this.jsonTimer = null
            const last = this.pendingJson
            if (last !== null && !this.closed) this.writeJson(last, Date.now())
          }, JSON_PROGRESS_MS - (now - this.lastJson))
          this.jsonTimer.unref()
        }
        return
      }
      this.writeJson(p, now)
      return
    }
    if (this.bar === null) return
    // unknown size (stdin): the bar stays empty, the byte count and rate still move
    const total = p.total === null ? 0 : p.total
    this.bar.setTotal(Math.max(1, total))
    this.bar.update(p.total === null ? 0 : total === 0 ? 1 : p.bytes, {
      done: formatBytes(p.bytes),
      size: p.total === null ? '?' : formatBytes(p.total),
      speed: p.rate > 0 ? formatRate(p.rate) : '--',
      etaText: p.phase === 'done' ? '0s' : formatEta(p.eta),
      peers: this.peers ? `${p.peers} peer${p.peers === 1 ? '' : 's'}${p.sources > 0 ? ` (${p.sources} sending)` : ''}` : '',
    })
  }

  private writeJson (p: FileProgress, now: number): void {
    this.pendingJson = null
    this.lastJson = now
    this.lastPhase = p.phase
    this.out.record({ type: 'progress', ...p }).catch(() => {})
  }

  /** Remove the bar (before the final message); a throttled record still waiting is dropped. */
  close (): void {
    if (this.closed) return
    this.closed = true
    if (this.jsonTimer !== null) clearTimeout(this.jsonTimer)
    this.jsonTimer = null
    this.bar?.stop()
  }
}

/** Arguments of files. */
export interface FilesArgs {
  chain: Buffer | null
  json: boolean
}

/** List the chain's files, oldest first. */
export async function files (ctx: Context, args: FilesArgs): Promise<void> {
  const files = await openFiles(ctx, args.chain, { network: false })
  try {
    const list = await files.list()
    const posWidth = String(list.reduce((m, f) => Math.max(m, f.position), 0)).length
    // column titles for a reader at a terminal; a pipe gets the lines alone
    if (ctx.out.tty && !ctx.out.json && list.length > 0) await ctx.out.line(fileHeader(ctx.out.c, posWidth))
    for (const f of list) {
      if (ctx.out.broken) break
      await ctx.out.emit(fileRecord(f), () => fileLine(f, ctx.out.c, posWidth))
    }
    if (list.length === 0) ctx.out.info(ctx.out.ce.dim('no files in this chain yet (`feedchain send <file>` adds one)'))
  } finally {
    await files.close()
  }
}

/** The files command. */
export const filesCommand = defineCommand<FilesArgs>({
  name: 'files',
  summary: 'list the files sent to the chain and how much of each is stored here',
  description: 'List the files of the chain, oldest first (on a terminal, under a line of column titles). Each line: the file id (the first 16 hex characters of ' +
    'its blake2b-256 hash; `get` takes it, a unique prefix of it, or the name), size, how much of it is stored in ' +
    'this storage (100% once `get` or a daemon has fetched it), ✓ final or ~ pending and its position, the ' +
    'sender, when it was sent, and its name.\n\n' +
    'With --json, one object per file: id, name, size, mime, hash, author, position, final, time, blobsKey, ' +
    'blockOffset, blockLength, byteOffset, byteLength, storedBlocks, stored (bytes), complete.',
  examples: [
    'feedchain files',
    'feedchain files --json | jq -r \'select(.complete) | .name\'',
  ],
  configure (cmd) {
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { chain: chainArg(opts), json: jsonArg(opts) }
  },
  run: files,
})
