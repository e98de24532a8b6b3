/** `feedchain status [--json]`: length, final length, head hash, writers, peers, lag and files stored. */
import type { PeerStatus, WriterStatus } from '../../index.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import type { Colors } from '../output.js'
import { escapeText, formatBytes, formatTime, table } from '../format.js'
import type { ChainApi } from '../../daemon/chain-api.js'
import { LocalChain } from '../../daemon/local-chain.js'
import { RemoteFiles } from '../../daemon/remote-files.js'

/** Arguments of status. */
export interface StatusArgs {
  chain: Buffer | null
  json: boolean
}

/** The chain's files as `status` sums them up. */
export interface FileSummary {
  /** FILE entries in the chain */
  count: number
  /** files stored here completely */
  complete: number
  /** bytes of all files */
  size: number
  /** bytes of them stored here */
  stored: number
}

/**
 * Print the chain's state: one object with --json; on a terminal a report with tables of
 * writers and peers; otherwise (pipes, scripts) the same report one fact per line.
 */
export async function status (ctx: Context, args: StatusArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const s = await chain.status()
  const files = await fileSummary(ctx, chain)
  const online = (await ctx.daemon()) !== null
  const { c } = ctx.out
  await ctx.out.emit({ ...s, files }, () => {
    const indexers = s.writers.filter((w) => w.indexer && !w.removed).length
    const active = s.writers.filter((w) => !w.removed).length
    const role = s.isIndexer ? 'indexer' : s.isWriter ? 'writer' : c.yellow('not a writer yet (share your writer key with an indexer)')
    const tty = ctx.out.tty
    const lines = [
      `${label(c, 'chain')}${s.key}${s.name !== '' ? `  "${escapeText(s.name)}"` : ''}`,
      `${label(c, 'storage')}${s.storage}${s.chains > 1 ? c.dim(`  (${s.chains} chains; pick one with --chain)`) : ''}`,
      `${label(c, 'length')}${s.length} entries: ${s.finalLength} final, ${s.pending > 0 ? c.yellow(`${s.pending} pending`) : '0 pending'}`,
      `${label(c, 'head')}${s.head}` + c.dim(`  (chain hash at ${s.finalLength})`),
      `${label(c, 'you')}${s.writerKey}  ${role}`,
      `${label(c, 'files')}${filesText(files, c)}`,
      `${label(c, 'writers')}${active} (${indexers} indexer${indexers === 1 ? '' : 's'})`,
      ...(tty ? writerTable(s.writers, c) : s.writers.map((w) => '  ' + writerLine(w, c))),
      `${label(c, 'peers')}${online ? `${s.peers.length} connected` : c.dim('offline (no daemon running: start `feedchain daemon`, or run `feedchain sync`)')}`,
      ...(tty ? peerTable(s.peers, c) : s.peers.map((p) => '  ' + peerLine(p, c))),
    ]
    if (s.bans.length > 0) lines.push(`${label(c, 'banned')}${s.bans.length} peer${s.bans.length === 1 ? '' : 's'}`, ...s.bans.map((b) => `  ${b.publicKey}  ${c.dim(escapeText(b.reason))}`))
    if (s.halted !== null) lines.push(`${label(c, 'halted')}${c.red(escapeText(s.halted))}`)
    for (const w of s.warnings) lines.push(`${label(c, 'warning')}${c.yellow(escapeText(w))}`)
    return lines
  })
}

/**
 * The chain's files summed up: through the daemon's files (kept up to date as the chain grows),
 * else a ChainFiles on this process's node for the moment of the call (it reads the chain's
 * entries once to find the FILE entries).
 */
async function fileSummary (ctx: Context, chain: ChainApi): Promise<FileSummary> {
  const list = await ctx.viaDaemon(
    async (client) => new RemoteFiles(client, chain.key).list(),
    async () => {
      if (!(chain instanceof LocalChain)) throw new Error('a chain opened without a daemon is a LocalChain')
      const { ChainFiles } = await import('../../files/chain-files.js')
      const files = new ChainFiles(chain.node)
      try {
        await files.ready()
        return await files.list()
      } finally {
        await files.close()
      }
    },
  )
  const sum: FileSummary = { count: 0, complete: 0, size: 0, stored: 0 }
  for (const f of list) {
    sum.count++
    if (f.complete) sum.complete++
    sum.size += f.size
    sum.stored += f.stored
  }
  return sum
}

function filesText (f: FileSummary, c: Colors): string {
  if (f.count === 0) return c.dim('none (`feedchain send <file>` adds one)')
  const all = f.complete === f.count
  return `${f.count} (${all ? 'all' : `${f.complete}`} stored here completely): ${formatBytes(f.stored)} of ${formatBytes(f.size)} stored here` +
    (all ? '' : c.dim('  (`feedchain get <id>` fetches one)'))
}

/** The writers as a table (terminal): key, role, blocks, final, lag, flags. */
function writerTable (writers: WriterStatus[], c: Colors): string[] {
  if (writers.length === 0) return []
  const rows = writers.map((w) => [
    w.key,
    w.indexer ? 'indexer' : w.pendingIndexer ? 'indexer (pending)' : 'writer',
    String(w.length),
    String(w.finalLength),
    w.lag > 0 ? c.yellow(String(w.lag)) : '0',
    [w.removed ? c.red('removed') : '', w.forked ? c.red('FORKED') : '', w.self ? c.cyan('you') : ''].filter((x) => x !== '').join(' '),
  ])
  return table([{ title: 'KEY' }, { title: 'ROLE' }, { title: 'BLOCKS', align: 'right' }, { title: 'FINAL', align: 'right' }, { title: 'LAG', align: 'right' }, { title: '' }], rows, c, '  ')
}

/** The connected peers as a table (terminal): key, direction, bytes, feeds, since when. */
function peerTable (peers: PeerStatus[], c: Colors): string[] {
  if (peers.length === 0) return []
  const rows = peers.map((p) => [
    p.publicKey,
    p.client ? 'out' : 'in',
    formatBytes(p.bytesIn),
    formatBytes(p.bytesOut),
    String(p.feeds.length),
    formatTime(p.connectedAt),
  ])
  return table([{ title: 'PUBLIC KEY' }, { title: 'DIR' }, { title: 'IN', align: 'right' }, { title: 'OUT', align: 'right' }, { title: 'FEEDS', align: 'right' }, { title: 'SINCE' }], rows, c, '  ')
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
  summary: 'show length, final length, head hash, writers, peers, lag and files stored',
  description: 'Show the chain: its key and name, length (final + pending), the head (chain hash of the ' +
    'final prefix: two peers agree iff their heads at the same final length agree), its files and how much of ' +
    'them is stored here, its writers (indexer or not, blocks, final blocks, and how many blocks this node is ' +
    'behind its peers: lag), and the connected peers. Peers are those of the running daemon; without a daemon ' +
    'the node is offline and the list is empty. On a terminal writers and peers are tables; otherwise one per line.\n\n' +
    'With --json, one object: key, discoveryKey, name, writerKey, isWriter, isIndexer, length, finalLength, ' +
    'pending, head, writers (key, indexer, length, finalLength, remoteLength, lag, …), peers (publicKey, ' +
    'client, connectedAt, bytesIn, bytesOut, feeds), halted, warnings, storage, chains, bans, files (count, ' +
    'complete, size, stored: bytes). The shape is ' +
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
