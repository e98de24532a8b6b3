/** `feedchain show <position>`: one entry with its metadata and the chain hash at its position. */
import { FeedchainError } from '../../errors.js'
import { formatKey } from '../../feed/keys.js'
import { chainArg, chainOption, jsonArg, jsonOption, operand, wholeNumber } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { describeContent, entryJson, formatBytes, formatTime, marker, payloadText } from '../format.js'

/** Arguments of show. */
export interface ShowArgs {
  chain: Buffer | null
  position: number
  json: boolean
}

/** Print one entry: content, writer, seq, clock, time, final or pending, chain hash. */
export async function show (ctx: Context, args: ShowArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const e = await chain.get(args.position)
  if (e === null) {
    const n = (await chain.status()).length
    throw new FeedchainError('INVALID_POSITION', `no entry at position ${args.position}: the chain has ${n} entr${n === 1 ? 'y' : 'ies'}${n > 0 ? ` (0–${n - 1})` : ''}`)
  }
  const self = e.writer.equals(chain.writerKey)
  const { c } = ctx.out
  await ctx.out.emit({ ...entryJson(e), hash: e.hash, self }, () => {
    const rows: Array<[string, string]> = [
      ['position', `${e.position}  ${marker(e.final, c)} ${e.final ? 'final' : c.yellow('pending (not final yet: it may still move)')}`],
      ['type', e.type],
      ['writer', formatKey(e.writer) + (self ? c.dim(' (you)') : '')],
      ['seq', `${e.seq}` + c.dim(` (block ${e.seq} of the writer's feed, entry ${e.index} in it)`)],
      ['clock', String(e.clock)],
      ['time', e.time > 0 ? `${formatTime(e.time)} ${c.dim(new Date(e.time).toISOString())}` : '-'],
      ['hash', e.hash ?? c.dim('none yet: the chain hash is fixed once the entry is final')],
    ]
    if (e.type === 'data') {
      const text = payloadText(e.data)
      rows.push(['size', formatBytes(e.data.byteLength)])
      rows.push(['data', text === null ? c.dim(`<${e.data.byteLength} bytes> `) + e.data.subarray(0, 32).toString('hex') + (e.data.byteLength > 32 ? '…' : '') : describeContent(e, c)])
    } else {
      rows.push(['entry', describeContent(e, c)])
    }
    return rows.map(([k, v]) => `${c.bold(k.padEnd(9))}${v}`)
  })
}

/** The show command. */
export const showCommand = defineCommand<ShowArgs>({
  name: 'show',
  summary: 'show one entry with its writer, seq, clock, time, status and chain hash',
  description: 'Show the entry at <position> (0 is the chain\'s genesis) with its writer, seq, clock, time, ' +
    'whether it is final or pending, and the chain hash after it: two peers with the same hash at a ' +
    'position hold the same chain up to there.',
  examples: [
    'feedchain show 12',
    'feedchain show 12 --json',
  ],
  configure (cmd) {
    cmd.argument('<position>', 'position in the chain (0 = genesis)')
    chainOption(cmd)
    jsonOption(cmd)
  },
  args (input) {
    return {
      chain: chainArg(input.opts),
      position: wholeNumber(operand(input, 0), 'position'),
      json: jsonArg(input.opts),
    }
  },
  run: show,
})
