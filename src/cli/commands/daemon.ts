/**
 * `feedchain daemon`: own the storage, stay online, seed every chain, serve the other commands
 * over the socket, until Ctrl-C / SIGTERM.
 *
 * Output: `daemon ready: <socket path>` on stderr once it serves requests (scripts wait for
 * that line), then one line per event (peer connected or gone, strike, ban, chain added,
 * warning) on stderr; on a terminal also a live status line (peers, bytes, heights), redrawn at
 * most 4 times a second. With --json the events go to stdout as NDJSON instead, starting with
 * `{"event":"ready",...}`. A clean stop prints `daemon stopped` and exits 0.
 */
import { FeedchainError } from '../../errors.js'
import type { DaemonEvent } from '../../daemon/daemon.js'
import { describeNetConfig } from '../../daemon/net-config.js'
import { jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { loadStorage } from '../library.js'
import { escapeText, shortKey } from '../format.js'
import { StatusLine, renderStatusLine } from '../status-line.js'

/** After a signal the daemon exits at the latest after this long, closed or not, ms. */
export const DAEMON_HARD_DEADLINE_MS = 10_000

/** At most this many warning lines per WARNING_WINDOW_MS (a peer sending many bad entries must not flood the log). */
export const MAX_WARNINGS_PER_WINDOW = 20
const WARNING_WINDOW_MS = 10_000

/** Arguments of daemon. */
export interface DaemonArgs {
  json: boolean
}

/** One event as a log line. Pure. */
export function eventLine (ev: DaemonEvent, at: Date): string {
  const time = at.toTimeString().slice(0, 8)
  switch (ev.type) {
    case 'chain': return `${time} ${ev.created ? 'created' : 'joined'} chain ${ev.key}${ev.name !== '' ? ` "${escapeText(ev.name)}"` : ''}`
    case 'peer-add': return `${time} peer connected ${shortKey(ev.publicKey)}`
    case 'peer-remove': return `${time} peer gone ${shortKey(ev.publicKey)}`
    case 'strike': return `${time} strike ${ev.count} for peer ${ev.publicKey}: ${escapeText(ev.reason)}`
    case 'ban': return `${time} banned peer ${ev.publicKey}: ${escapeText(ev.reason)}`
    case 'warning': return `${time} warning (chain ${shortKey(ev.chain)}): ${escapeText(ev.message)}`
  }
}

/** Run the daemon until a signal (`--json` is read through ctx.out). */
export async function daemon (ctx: Context, _args: DaemonArgs): Promise<void> {
  const running = await ctx.daemon()
  if (running !== null) {
    throw new FeedchainError('STORE_LOCKED', `a daemon is already running on ${ctx.storageDir} (pid ${running.info?.pid ?? '?'})`)
  }
  // the whole library, loaded now rather than at start (see command.ts); loadStorage lets
  // exit.ts report damaged storage found while serving as STORAGE_CORRUPT
  const [{ Daemon }] = await Promise.all([import('../../daemon/daemon.js'), loadStorage()])
  const d = new Daemon({ storageDir: ctx.storageDir, bootstrap: ctx.net.bootstrap, host: ctx.net.host, version: ctx.version })
  const { out } = ctx
  const line = new StatusLine(out.err, (width) => renderStatusLine(d.snapshot(), width))
  let windowStart = 0
  let warnings = 0
  let suppressed = 0
  d.on('event', (ev: DaemonEvent) => {
    const now = Date.now()
    if (ev.type === 'warning') {
      if (now - windowStart >= WARNING_WINDOW_MS) {
        if (suppressed > 0 && !out.json) line.log(`${new Date(now).toTimeString().slice(0, 8)} (${suppressed} more warnings not shown)`)
        windowStart = now
        warnings = 0
        suppressed = 0
      }
      if (++warnings > MAX_WARNINGS_PER_WINDOW) { suppressed++; return }
    }
    if (out.json) void out.record({ event: ev.type, ...ev, time: now })
    else line.log(eventLine(ev, new Date(now)))
  })
  d.on('update', () => line.update())
  try {
    await d.ready()
  } catch (e) {
    line.close()
    await d.close().catch(() => {})
    throw e
  }
  const chains = d.list().map((c) => c.node.status())
  out.err.write(`daemon ready: ${d.socket}\n`)
  if (out.json) await out.record({ event: 'ready', socket: d.socket, pid: process.pid, storage: d.storageDir, chains: chains.map((s) => s.key), time: Date.now() })
  out.info(out.ce.dim(`pid ${process.pid} · ${describeNetConfig(ctx.net)} · ` +
    (chains.length === 0 ? 'no chains yet: run `feedchain init` or `feedchain join <key>`' : `seeding ${chains.map((s) => s.key).join(', ')}`)))
  line.update()

  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve()
    ctx.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  line.close()
  await d.close()
  out.err.write('daemon stopped\n')
}

/** The daemon command. */
export const daemonCommand = defineCommand<DaemonArgs>({
  name: 'daemon',
  summary: 'stay online and seed every chain; other commands go through it',
  description: 'Run in the foreground as the owner of the storage: stay online, seed every chain the storage ' +
    'follows, and serve the other commands (init, join, append, log, status, …) over a Unix socket in the ' +
    'storage directory (feedchain.sock). While it runs, commands on this storage go through it, so they see ' +
    'its peers and their changes reach the network at once.\n\n' +
    'Prints `daemon ready: <socket path>` on stderr once it serves requests, then one line per event ' +
    '(peers, bans, chains); on a terminal also a live status line. With --json, events are NDJSON on stdout ' +
    'instead. Stop it with Ctrl-C or SIGTERM: it closes the chains, the network and the storage, removes the ' +
    'socket and exits 0.',
  examples: [
    'feedchain daemon',
    'FEEDCHAIN_BOOTSTRAP=10.0.0.5:49737 feedchain daemon --json',
  ],
  configure (cmd) {
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { json: jsonArg(opts) }
  },
  run: daemon,
  stopsOnSignal: true,
  hardDeadlineMs: DAEMON_HARD_DEADLINE_MS,
})
