/** `feedchain status [--json]`: length, final length, head hash, writers of the chain. */
import type { WriterStatus } from '../../index.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import type { Colors } from '../output.js'
import { escapeText } from '../format.js'

/** Arguments of status. */
export interface StatusArgs {
  chain: Buffer | null
  json: boolean
}

/** Print the chain's state: one object with --json, else a short report. */
export async function status (ctx: Context, args: StatusArgs): Promise<void> {
  const { node, storage } = await ctx.openChain(args.chain)
  const s = node.status()
  const chains = await storage.chains()
  const { c } = ctx.out
  await ctx.out.emit({ ...s, storage: storage.dir, chains: chains.length }, () => {
    const indexers = s.writers.filter((w) => w.indexer && !w.removed).length
    const active = s.writers.filter((w) => !w.removed).length
    const role = s.isIndexer ? 'indexer' : s.isWriter ? 'writer' : c.yellow('not a writer yet (share your writer key with an indexer)')
    const lines = [
      `${label(c, 'chain')}${s.key}${s.name !== '' ? `  "${escapeText(s.name)}"` : ''}`,
      `${label(c, 'storage')}${storage.dir}${chains.length > 1 ? c.dim(`  (${chains.length} chains; pick one with --chain)`) : ''}`,
      `${label(c, 'length')}${s.length} entries: ${s.finalLength} final, ${s.pending > 0 ? c.yellow(`${s.pending} pending`) : '0 pending'}`,
      `${label(c, 'head')}${s.head}` + c.dim(`  (chain hash at ${s.finalLength})`),
      `${label(c, 'you')}${s.writerKey}  ${role}`,
      `${label(c, 'writers')}${active} (${indexers} indexer${indexers === 1 ? '' : 's'})`,
      ...s.writers.map((w) => '  ' + writerLine(w, c)),
    ]
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
  return `${w.key}  ${role.padEnd(7)}  ${blocks}${flags.length > 0 ? '  ' + flags.join(' ') : ''}`
}

function label (c: Colors, s: string): string {
  return c.bold(s.padEnd(9))
}

/** The status command. */
export const statusCommand = defineCommand<StatusArgs>({
  name: 'status',
  summary: 'show length, final length, head hash and writers',
  description: 'Show the chain: its key and name, length (final + pending), the head (chain hash of the ' +
    'final prefix: two peers agree iff their heads at the same final length agree), and its writers.',
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
