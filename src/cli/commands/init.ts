/** `feedchain init [--name N]`: create a chain in the storage and print its key. */
import { Option } from 'commander'
import { FeedchainError, formatKey } from '../../index.js'
import { jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'

/** Arguments of init. */
export interface InitArgs {
  name: string | undefined
  json: boolean
}

/** Longest chain name, in UTF-8 bytes: it is written into the GENESIS entry every peer reads. */
export const MAX_NAME_BYTES = 256

/** Create a new chain (this user is its creator and first indexer) and print its key. */
export async function init (ctx: Context, args: InitArgs): Promise<void> {
  const storage = await ctx.openStorage({ create: true })
  const existing = (await storage.chains())[0]
  if (existing !== undefined) {
    const key = formatKey(Buffer.from(existing.key, 'hex'))
    throw new FeedchainError('CHAIN_EXISTS', `storage ${storage.dir} already has chain ${key}; use another --storage for a new chain`)
  }
  const node = await ctx.openNode({ name: args.name })
  await storage.addChain({ key: node.key.toString('hex'), name: node.name, addedAt: Date.now(), creator: true })
  const key = formatKey(node.key)
  await ctx.out.emit({ key, writerKey: formatKey(node.writerKey), name: node.name, storage: storage.dir }, () => key)
  ctx.out.info(ctx.out.ce.dim(`created chain${node.name !== '' ? ` "${node.name}"` : ''} in ${storage.dir}`))
  ctx.out.info(`share this key: ${ctx.out.ce.bold(`feedchain join ${key}`)}`)
}

/** The init command. */
export const initCommand = defineCommand<InitArgs>({
  name: 'init',
  summary: 'create a new chain in the storage and print its key',
  description: 'Create a new chain in the storage (this user becomes its creator and first indexer) and print its key on stdout. A storage holds one chain you create: use another --storage for another chain.',
  examples: [
    'feedchain init --name "team notes"',
    'feedchain --storage ./chain2 init',
  ],
  configure (cmd) {
    cmd.addOption(new Option('--name <name>', 'a human-readable name, stored in the chain'))
    jsonOption(cmd)
  },
  args ({ opts }) {
    const name = opts.name === undefined ? undefined : String(opts.name)
    if (name !== undefined) {
      if (name.trim() === '') throw new FeedchainError('INVALID_ARGUMENT', '--name is empty')
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new FeedchainError('INVALID_ARGUMENT', `--name is longer than ${MAX_NAME_BYTES} bytes`)
    }
    return { name, json: jsonArg(opts) }
  },
  run: init,
})
