/** `feedchain share`: print the chain key (for others to join) and this user's writer key. */
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { formatKey } from '../../feed/keys.js'

/** Arguments of share. */
export interface ShareArgs {
  chain: Buffer | null
  json: boolean
}

/** Print the chain key and this user's writer key, with what to do with each on stderr. */
export async function share (ctx: Context, args: ShareArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const key = formatKey(chain.key)
  const writerKey = formatKey(chain.writerKey)
  await ctx.out.emit({ key, writerKey, name: await chain.name() }, () => [`chain  ${key}`, `writer ${writerKey}`])
  const { ce } = ctx.out
  ctx.out.info(ce.dim('others follow this chain with:           ') + `feedchain join ${key}`)
  ctx.out.info(ce.dim('to let this user write, an indexer runs: ') + `feedchain writers add ${writerKey}`)
}

/** The share command. */
export const shareCommand = defineCommand<ShareArgs>({
  name: 'share',
  summary: 'print the chain key and this user\'s writer key',
  description: 'Print the chain key (others run `feedchain join <key>` with it) and this user\'s writer key ' +
    '(an indexer runs `feedchain writers add <key>` with it to let this user write).',
  examples: [
    'feedchain share',
    'feedchain share --json | jq -r .writerKey',
  ],
  configure (cmd) {
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { chain: chainArg(opts), json: jsonArg(opts) }
  },
  run: share,
})
