/** `feedchain join <key>`: follow a chain and sync it until caught up. */
import { Option } from 'commander'
import { FeedchainError, isFeedchainError } from '../../errors.js'
import { parseKey } from '../../feed/keys.js'
import type { SyncResult } from '../../daemon/chain-api.js'
import { jsonArg, jsonOption, operand, seconds } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { SyncProgressView } from '../progress.js'
import { DEFAULT_SYNC_TIMEOUT_MS, caughtUpLine, syncRecord } from './sync.js'

/** Arguments of join. */
export interface JoinArgs {
  key: Buffer
  /** ms */
  timeout: number
  wait: boolean
  json: boolean
}

/**
 * Follow the chain (recorded in the storage: later commands act on it) and sync until caught up
 * (see daemon/sync.ts). Through a running daemon, the daemon joins it and keeps syncing it.
 */
export async function join (ctx: Context, args: JoinArgs): Promise<void> {
  const { chain, info, joined } = await ctx.joinChain(args.key)
  const daemon = (await ctx.daemon()) !== null
  const { ce } = ctx.out
  ctx.out.info(ce.dim(`${joined ? 'following' : 'already following'} chain ${info.key} in ${info.storage}${daemon ? ' (the daemon keeps it in sync)' : ''}`))
  let r: SyncResult
  if (!args.wait) {
    const s = await chain.status()
    r = {
      key: s.key, writerKey: s.writerKey, name: s.name, head: s.head, peers: s.peers.length, length: s.length, finalLength: s.finalLength,
      pending: s.pending, lag: s.writers.reduce((n, w) => n + w.lag, 0), unsent: 0, writers: s.writers.filter((w) => !w.removed).length, caughtUp: false, elapsed: 0,
    }
  } else {
    const view = new SyncProgressView(ctx.out, 'syncing')
    try {
      r = await chain.sync({ timeout: args.timeout, signal: ctx.signal, onProgress: (p) => view.update(p) })
    } catch (e) {
      if (isFeedchainError(e, 'TIMEOUT')) {
        const next = daemon ? 'the daemon keeps syncing it' : 'run `feedchain sync` or `feedchain daemon` to keep syncing it'
        throw new FeedchainError('TIMEOUT', `${e.message}; the chain is followed: ${next}`)
      }
      throw e
    } finally {
      view.close()
    }
  }
  await ctx.out.emit({ ...syncRecord(r), storage: info.storage, joined }, () => [])
  if (r.caughtUp) ctx.out.info(caughtUpLine(r))
  const s = await chain.status()
  if (!s.isWriter) {
    ctx.out.info(`your writer key: ${ce.bold(s.writerKey)}`)
    ctx.out.info(ce.dim('to write to this chain, ask an indexer to run: ') + `feedchain writers add ${s.writerKey}`)
  }
}

/** The join command. */
export const joinCommand = defineCommand<JoinArgs>({
  name: 'join',
  summary: 'follow a chain by its key and sync it until caught up',
  description: 'Follow the chain with this key (others print it with `feedchain init` or `feedchain share`) and sync ' +
    'it: connect to its peers and download until caught up, with progress on stderr. Caught up means: connected ' +
    'to at least one peer of the chain (for at least a second), holding every block the connected peers have ' +
    '(no lag), this user\'s own blocks on at least one peer, and nothing pending that is still becoming final.\n\n' +
    'With a daemon running, the daemon joins the chain and keeps it in sync afterwards; without one, this command ' +
    'runs the network until caught up (or --timeout) and then exits. A timeout exits with TIMEOUT, but the chain ' +
    'stays followed. Then print your writer key with `feedchain share`, for an indexer to add you as a writer.\n\n' +
    'With --json, one object: key, writerKey, name, storage, joined, caughtUp, peers, length, finalLength, pending, ' +
    'lag, unsent, writers, head, elapsed (ms).',
  examples: [
    'feedchain join <chain key>',
    'feedchain join <chain key> --timeout 120',
    'feedchain join <chain key> --no-wait      # with a daemon: return at once, the daemon syncs',
  ],
  configure (cmd) {
    cmd.argument('<key>', 'the chain key (z-base32 or hex)')
    cmd.addOption(new Option('--timeout <seconds>', `give up waiting after this long (default ${DEFAULT_SYNC_TIMEOUT_MS / 1000})`))
    // --timeout bounds the wait that --no-wait skips: both at once is a mistake worth naming
    cmd.addOption(new Option('--no-wait', 'do not wait until caught up').conflicts('timeout'))
    jsonOption(cmd)
  },
  args (input) {
    const { opts } = input
    return {
      key: parseKey(operand(input, 0), 'chain key'),
      timeout: opts.timeout === undefined ? DEFAULT_SYNC_TIMEOUT_MS : seconds(opts.timeout, '--timeout'),
      wait: opts.wait !== false,
      json: jsonArg(opts),
    }
  },
  run: join,
})
