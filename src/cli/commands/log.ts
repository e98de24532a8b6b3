/** `feedchain log [-n N] [--json]`: the chain view, oldest first; pending entries marked. */
import { Option } from 'commander'
import { chainArg, chainOption, jsonArg, jsonOption, wholeNumber } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { entryJson, entryLine } from '../format.js'

/** Arguments of log: `last` null means every entry. */
export interface LogArgs {
  chain: Buffer | null
  last: number | null
  json: boolean
}

/** Print the chain (or its last N entries), streaming: the chain is never collected in memory. */
export async function log (ctx: Context, args: LogArgs): Promise<void> {
  const { node } = await ctx.openChain(args.chain)
  if (args.last === 0) return
  const total = node.length
  const start = args.last === null ? 0 : Math.max(0, total - args.last)
  const width = Math.max(4, String(Math.max(0, total - 1)).length)
  const { out } = ctx
  for await (const e of node.read({ start })) {
    if (ctx.aborted || out.broken) break
    await out.emit(entryJson(e), () => entryLine(e, out.c, width))
  }
}

/** The log command. */
export const logCommand = defineCommand<LogArgs>({
  name: 'log',
  summary: 'print the chain view; pending entries are marked ~',
  description: 'Print the chain, oldest first. Each line: position, ✓ final or ~ pending (its place may still change), ' +
    'writer (short key), #seq.index of the entry in its writer\'s feed, the writer\'s clock time, and the entry. ' +
    'Binary entries show as <N bytes>.\n\n' +
    'With --json, one object per entry: position, writer, seq, index, clock, final, type, time (ms), ' +
    'data (text, or base64 when encoding is "base64") and value (decoded, for non-data entries).',
  examples: [
    'feedchain log',
    'feedchain log -n 20',
    'feedchain log --json | jq -r \'select(.final) | .data\'',
  ],
  configure (cmd) {
    cmd.addOption(new Option('-n, --lines <count>', 'only the last <count> entries (like tail -n)'))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return {
      chain: chainArg(opts),
      last: opts.lines === undefined ? null : wholeNumber(opts.lines, '-n'),
      json: jsonArg(opts),
    }
  },
  run: log,
})
