/** `feedchain status [--json]`: length, final length, head hash, writers, peers and lag. */
import type { PeerStatus, WriterStatus } from '../../index.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import type { Colors } from '../output.js'
import { escapeText, formatBytes, formatTime } from '../format.js'

/** Arguments of status. */
export interface StatusArgs {
  chain: Buffer | null
  json: boolean
}

/** Print the chain's state: one object with --json, else a short report. */
export async function status (ctx: Context, args: StatusArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const s = await chain.status()
  const online = (await ctx.daemon()) !== null
  const { c } = ctx.out
  await ctx.out.emit(s, () => {
    const indexers = s.writers.filter((w) => w.indexer && !w.removed).length
    const active = s.writers.filter((w) => !w.removed).length
    const role = s.isIndexer ? 'indexer' : s.isWriter ? 'writer' : c.yellow('not a writer yet (share your writer key with an indexer)')
    const lines = [
      `${label(c, 'chain')}${s.key}${s.name !== '' ? `  "${escapeText(s.name)}"` : ''}`,
      `${label(c, 'storage')}${s.storage}${s.chains > 1 ? c.dim(`  (${s.chains} chains; pick one with --chain)`) : ''}`,
      `${label(c, 'length')}${s.length} entries: ${s.finalLength} final, ${s.pending > 0 ? c.yellow(`${s.pending} pending`) : '0 pending'}`,
      `${label(c, 'head')}${s.head}` + c.dim(`  (chain hash at ${s.finalLength})`),
      `${label(c, 'you')}${s.writerKey}  ${role}`,
      `${label(c, 'writers')}${active} (${indexers} indexer${indexers === 1 ? '' : 's'})`,
      ...s.writers.map((w) => '  ' + writerLine(w, c)),
      `${label(c, 'peers')}${online ? `${s.peers.length} connected` : c.dim('offline (no daemon running: start `feedchain daemon`, or run `feedchain sync`)')}`,
      ...s.peers.map((p) => '  ' + peerLine(p, c)),
    ]
    if (s.bans.length > 0) lines.push(`${label(c, 'banned')}${s.bans.length} peer${s.bans.length === 1 ? '' : 's'}`, ...s.bans.map((b) => `  ${b.publicKey}  ${c.dim(escapeText(b.reason))}`))
    if (s.halted !== null) lines.push(`${label(c, 'halted')}${c.red(escapeText(s.halted))}`)
    for (const w of s.warnings) lines.push(`${label(c, 'warning')}${c.yellow(escapeText(w))}`)
    return lines
  })
}

/** One writer as `status` and `writers list` show it. */
export function writerLine (w: WriterStatus, c: Colors): string {
  const role = w.indexer ? 'indexer' : w.pendingIndexer ? 'indexer (pending: joins once online)' : 'writer'
  const flags = [w.removed ? c.red('removed') : '', w.forked ? c.red('FORKED') : '', w.self ? c.cyan('you') : ''].filter((x) => x !== '')
  const blocks = c.dim(`${w.length} block${w.length === 1 ? '' : 's'}, ${w.finalLength} final`)
  const lag = w.lag > 0 ? '  ' + c.yellow(`${w.lag} behind peers`) : ''
  return `${w.key}  ${role.padEnd(7)}  ${blocks}${lag}${flags.length > 0 ? '  ' + flags.join(' ') : ''}`
}

/** One connected peer as `status` shows it: key, direction, bytes, since when, feeds it replicates. */
export function peerLine (p: PeerStatus, c: Colors): string {
  const dir = p.client ? 'out' : 'in '
  const feeds = `${p.feeds.length} feed${p.feeds.length === 1 ? '' : 's'}`
  return `${p.publicKey}  ${dir}  ${c.dim(`↓ ${formatBytes(p.bytesIn)} ↑ ${formatBytes(p.bytesOut)}  ${feeds}  since ${formatTime(p.connectedAt)}`)}`
}

function label (c: Colors, s: string): string {
  return c.bold(s.padEnd(9))
}

/** The status command. */
export const statusCommand = defineCommand<StatusArgs>({
  name: 'status',
  summary: 'show length, final length, head hash, writers, peers and lag',
  description: 'Show the chain: its key and name, length (final + pending), the head (chain hash of the ' +
    'final prefix: two peers agree iff their heads at the same final length agree), its writers with ' +
    'how many blocks this node is behind its peers (lag), and the connected peers. Peers are those of the ' +
    'running daemon; without a daemon the node is offline and the list is empty.\n\n' +
    'With --json, one object: key, discoveryKey, name, writerKey, isWriter, isIndexer, length, finalLength, ' +
    'pending, head, writers (key, indexer, length, finalLength, remoteLength, lag, …), peers (publicKey, ' +
    'client, connectedAt, bytesIn, bytesOut, feeds), halted, warnings, storage, chains, bans. The shape is ' +
    'the same with or without a daemon.',
  examples: [
    'feedchain status',
    'feedchain status --json | jq .head',
  ],
  configure (cmd) {
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { chain: chainArg(opts), json: jsonArg(opts) }
  },
  run: status,
})
