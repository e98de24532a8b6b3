/**
 * `feedchain log [-n N] [-f] [--writer K] [--since P|T] [--type T] [--final] [--format F]`: the
 * chain view, oldest first; pending entries marked; filters compose with -n and -f.
 */
import { Option } from 'commander'
import type { ChainEntry, EntryTypeName } from '../../index.js'
import type { EntryQuery, FollowOptions, ReadRange } from '../../daemon/chain-api.js'
import { chainArg, chainOption, jsonOption, wholeNumber } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { ENTRY_TYPES, formatArg, resolveWriter, sinceArg, typesArg, writerArg, type SinceArg, type WriterArg } from '../filters.js'
import { entryJson, entryLine } from '../format.js'

/** Arguments of log: `last` null means every (matching) entry. */
export interface LogArgs {
  chain: Buffer | null
  last: number | null
  follow: boolean
  json: boolean
  /** only this writer's entries (a key, or a prefix resolved against the chain's writers) */
  writer: WriterArg | null
  /** only entries from this position on, or written at or after this time */
  since: SinceArg | null
  /** only entries of these types */
  types: EntryTypeName[] | null
  /** final entries only (no pending ones, no pending previews with -f) */
  final: boolean
}

/**
 * Print the chain (or its last N matching entries), streaming: the chain is never collected in
 * memory. Filters run where the entries are (in the daemon if one runs): a writer filter through
 * the view's writer index, type and time filters by reading the blocks of the range. With
 * `follow`, keep printing until interrupted (see daemon/follow.ts): each matching entry as it
 * becomes final, and new pending ones (marked ~) as they appear unless --final.
 */
export async function log (ctx: Context, args: LogArgs): Promise<void> {
  const chain = await ctx.chain(args.chain, { network: args.follow })
  const st = await chain.status()
  const query: EntryQuery = {}
  if (args.writer !== null) query.writer = resolveWriter(args.writer, st.writers, chain.key).toString('hex')
  if (args.types !== null) query.types = args.types
  if (args.since !== null && 'time' in args.since) query.sinceTime = args.since.time
  const start = args.since !== null && 'position' in args.since ? args.since.position : undefined
  if (args.last === 0 && !args.follow) return
  const width = Math.max(4, String(Math.max(0, st.length - 1)).length)
  const { out } = ctx
  let entries: AsyncIterable<ChainEntry>
  if (args.follow) {
    const opts: FollowOptions = { ...query, last: args.last, signal: ctx.signal }
    if (start !== undefined) opts.start = start
    if (args.final) opts.final = true
    entries = chain.follow(opts)
  } else {
    const range: ReadRange = { ...query }
    if (args.last !== null) range.last = args.last
    if (start !== undefined) range.start = start
    if (args.final) range.final = true
    entries = chain.read(range, ctx.signal)
  }
  let count = 0
  for await (const e of entries) {
    if (ctx.aborted || out.broken) break
    await out.emit(entryJson(e), () => entryLine(e, out.c, width))
    count++
  }
  const filtered = args.writer !== null || args.since !== null || args.types !== null || args.final
  if (count === 0 && filtered && !args.follow && !ctx.aborted) out.info(out.ce.dim('no entries match'))
}

/** The log command. */
export const logCommand = defineCommand<LogArgs>({
  name: 'log',
  summary: 'print the chain view; filter by writer, position, time, type; pending entries are marked ~',
  description: 'Print the chain, oldest first. Each line: position, ✓ final or ~ pending (its place may still change), ' +
    'writer (short key), #seq.index of the entry in its writer\'s feed, the writer\'s clock time, and the entry. ' +
    'Binary entries show as <N bytes>.\n\n' +
    'Filters (all given must hold; -n counts matching entries, so\n' +
    '-n 5 --writer K is the last 5 entries of K):\n' +
    '  --writer K  a key (z-base32 or hex) or a unique prefix of one\n' +
    '  --since X   a position (a whole number), an ISO 8601 date or time\n' +
    '              (2026-11-23, 2026-11-23T14:30, 2026-11-23T14:30Z; local time\n' +
    '              without a zone) or an age (90s, 10m, 2h, 3d, 1w)\n' +
    '  --type T    data, file, membership, join, genesis (comma-separated)\n' +
    '  --final     final entries only (with -f: no pending previews)\n' +
    'Times are the writers\' own clocks (informational), so time and type filters read every ' +
    'block of the range; a writer filter reads only that writer\'s blocks.\n\n' +
    'With --json (or --format json), one object per entry: position, writer, seq, index, clock, final, type, time (ms), ' +
    'data (text, or base64 when encoding is "base64") and value (decoded, for non-data entries).\n\n' +
    'With -f, keep running and print entries as they arrive: each entry once it is final (✓, in position ' +
    'order, every position exactly once), and new pending entries as they appear (~, a preview: the same ' +
    'entry is printed again, ✓ and with its final position, when it becomes final). Every filter applies to ' +
    'both; -n N first prints the last N matching entries. Without a daemon, -f connects to the network itself. ' +
    'Stop it with Ctrl-C.',
  examples: [
    'feedchain log',
    'feedchain log -n 20',
    'feedchain log -f -n 0',
    'feedchain log --writer ej8y3phd -n 10',
    'feedchain log --since 2h --type data,file',
    'feedchain log --since 1200 --final',
    'feedchain log --format json | jq -r \'select(.final) | .data\'',
  ],
  configure (cmd) {
    cmd.addOption(new Option('-n, --lines <count>', 'only the last <count> (matching) entries (like tail -n)'))
    cmd.addOption(new Option('-f, --follow', 'keep printing new entries as they arrive (like tail -f)'))
    cmd.addOption(new Option('--writer <key>', 'only this writer\'s entries: a key or a unique prefix of one'))
    cmd.addOption(new Option('--since <position|time>', 'only entries from this position, or since this time (ISO 8601, or an age: 10m, 2h, 3d)'))
    cmd.addOption(new Option('--type <types>', `only entries of these types (${ENTRY_TYPES.join(', ')}; comma-separated)`))
    cmd.addOption(new Option('--final', 'final entries only (no pending ones)'))
    cmd.addOption(new Option('--format <format>', 'text (default) or json (the same as --json)'))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return {
      chain: chainArg(opts),
      last: opts.lines === undefined ? null : wholeNumber(opts.lines, '-n'),
      follow: opts.follow === true,
      json: formatArg(opts),
      writer: opts.writer === undefined ? null : writerArg(opts.writer),
      since: opts.since === undefined ? null : sinceArg(opts.since),
      types: opts.type === undefined ? null : typesArg(opts.type),
      final: opts.final === true,
    }
  },
  run: log,
})
