/** `feedchain sync [--timeout S]`: connect, catch up with the chain's peers, exit. */
import { Option } from 'commander'
import type { SyncResult } from '../../daemon/chain-api.js'
import { chainArg, chainOption, jsonArg, jsonOption, seconds } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { shortKey } from '../format.js'
import { SyncProgressView } from '../progress.js'

/** Default of --timeout for sync and join, ms. */
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000

/** Arguments of sync. */
export interface SyncArgs {
  chain: Buffer | null
  /** ms */
  timeout: number
  json: boolean
}

/** The NDJSON record of a finished sync (join adds storage and joined). */
export function syncRecord (r: SyncResult): Record<string, unknown> {
  return {
    key: r.key, writerKey: r.writerKey, name: r.name, caughtUp: r.caughtUp, peers: r.peers, length: r.length,
    finalLength: r.finalLength, pending: r.pending, lag: r.lag, unsent: r.unsent, writers: r.writers, head: r.head, elapsed: r.elapsed,
  }
}

/** The line printed once caught up. */
export function caughtUpLine (r: SyncResult): string {
  const pending = r.pending > 0 ? `, ${r.pending} pending` : ''
  return `caught up with ${r.peers} peer${r.peers === 1 ? '' : 's'}: ${r.length} entr${r.length === 1 ? 'y' : 'ies'} (${r.finalLength} final${pending}), head ${shortKey(r.head)}… in ${(r.elapsed / 1000).toFixed(1)} s`
}

/** Sync the chain: through the daemon if one runs (it is online anyway), else with a network of its own. */
export async function sync (ctx: Context, args: SyncArgs): Promise<void> {
  const chain = await ctx.chain(args.chain, { network: true })
  const view = new SyncProgressView(ctx.out, 'syncing')
  let r: SyncResult
  try {
    r = await chain.sync({ timeout: args.timeout, signal: ctx.signal, onProgress: (p) => view.update(p) })
  } finally {
    view.close()
  }
  await ctx.out.emit(syncRecord(r), () => [])
  ctx.out.info(caughtUpLine(r))
}

/** The sync command. */
export const syncCommand = defineCommand<SyncArgs>({
  name: 'sync',
  summary: 'connect to the chain\'s peers, catch up, exit (TIMEOUT if not caught up in time)',
  description: 'Connect to the chain\'s peers, exchange what is missing both ways, and exit once caught up: connected ' +
    'to at least one peer of the chain (for at least a second), holding every block the connected peers have, this ' +
    'user\'s own blocks on at least one peer, and nothing pending that is still becoming final. Exits with TIMEOUT ' +
    '(exit 6) if that does not happen within --timeout seconds. With a daemon running it asks the daemon, which is ' +
    'online anyway.\n\n' +
    'With --json, one object: key, writerKey, name, caughtUp, peers, length, finalLength, pending, lag, unsent, ' +
    'writers, head, elapsed (ms).',
  examples: [
    'feedchain sync',
    'feedchain sync --timeout 5 --json',
  ],
  configure (cmd) {
    cmd.addOption(new Option('--timeout <seconds>', `give up after this long (default ${DEFAULT_SYNC_TIMEOUT_MS / 1000})`))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return {
      chain: chainArg(opts),
      timeout: opts.timeout === undefined ? DEFAULT_SYNC_TIMEOUT_MS : seconds(opts.timeout, '--timeout'),
      json: jsonArg(opts),
    }
  },
  run: sync,
})
