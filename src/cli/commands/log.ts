/** `feedchain log [-n N] [-f] [--json]`: the chain view, oldest first; pending entries marked; -f follows live. */
import { Option } from 'commander'
import { chainArg, chainOption, jsonArg, jsonOption, wholeNumber } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { entryJson, entryLine } from '../format.js'

/** Arguments of log: `last` null means every entry. */
export interface LogArgs {
  chain: Buffer | null
  last: number | null
  follow: boolean
  json: boolean
}

/**
 * Print the chain (or its last N entries), streaming: the chain is never collected in memory.
 * With `follow`, keep printing until interrupted (see daemon/follow.ts): each entry as it
 * becomes final, and new pending entries (marked ~) as they appear; a pending entry is printed
 * again, ✓, once final. Without a daemon, follow joins the swarm itself.
 */
export async function log (ctx: Context, args: LogArgs): Promise<void> {
  const chain = await ctx.chain(args.chain, { network: args.follow })
  if (args.last === 0 && !args.follow) return
  const total = (await chain.status()).length
  const width = Math.max(4, String(Math.max(0, total - 1)).length)
  const { out } = ctx
  const entries = args.follow
    ? chain.follow({ last: args.last, signal: ctx.signal })
    : chain.read(args.last === null ? {} : { last: args.last }, ctx.signal)
  for await (const e of entries) {
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
    'data (text, or base64 when encoding is "base64") and value (decoded, for non-data entries).\n\n' +
    'With -f, keep running and print entries as they arrive: each entry once it is final (✓, in position ' +
    'order, every position exactly once), and new pending entries as they appear (~, a preview: the same ' +
    'entry is printed again, ✓ and with its final position, when it becomes final). Without a daemon, ' +
    '-f connects to the network itself. Stop it with Ctrl-C.',
  examples: [
    'feedchain log',
    'feedchain log -n 20',
    'feedchain log -f -n 0',
    'feedchain log --json | jq -r \'select(.final) | .data\'',
  ],
  configure (cmd) {
    cmd.addOption(new Option('-n, --lines <count>', 'only the last <count> entries (like tail -n)'))
    cmd.addOption(new Option('-f, --follow', 'keep printing new entries as they arrive (like tail -f)'))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return {
      chain: chainArg(opts),
      last: opts.lines === undefined ? null : wholeNumber(opts.lines, '-n'),
      follow: opts.follow === true,
      json: jsonArg(opts),
    }
  },
  run: log,
})
