/** `feedchain init [--name N]`: create a chain in the storage and print its key. */
import { Option } from 'commander'
import { FeedchainError } from '../../errors.js'
import { escapeText } from '../format.js'
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

/**
 * Create a new chain (this user is its creator and first indexer) and print its key. With a
 * daemon running, the daemon creates it and starts seeding it at once.
 */
export async function init (ctx: Context, args: InitArgs): Promise<void> {
  const info = await ctx.initChain(args.name)
  const { key } = info
  await ctx.out.emit({ key, writerKey: info.writerKey, name: info.name, storage: info.storage }, () => key)
  const seeding = (await ctx.daemon()) !== null ? ' (the daemon is seeding it)' : ''
  ctx.out.info(ctx.out.ce.dim(`created chain${info.name !== '' ? ` "${escapeText(info.name)}"` : ''} in ${info.storage}${seeding}`))
  ctx.out.info(`share this key: ${ctx.out.ce.bold(`feedchain join ${key}`)}`)
}

/** The init command. */
export const initCommand = defineCommand<InitArgs>({
  name: 'init',
  summary: 'create a new chain in the storage and print its key',
  description: 'Create a new chain in the storage (this user becomes its creator and first indexer) and print its key on stdout. A storage holds one chain you create: use another --storage for another chain. ' +
    'With a daemon running on the storage, the daemon creates the chain and starts seeding it.',
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
