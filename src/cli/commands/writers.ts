/** `feedchain writers add <key> [--indexer] | remove <key> | list`: the chain's membership. */
import { Option } from 'commander'
import { formatKey, parseKey } from '../../feed/keys.js'
import { chainArg, chainOption, jsonArg, jsonOption, operand } from '../args.js'
import { defineCommand, type AnyCommand } from '../command.js'
import type { Context } from '../context.js'
import { writerLine } from './status.js'

/** Arguments of writers add / remove. */
export interface WriterChangeArgs {
  chain: Buffer | null
  key: Buffer
  indexer: boolean
  json: boolean
}

/** Arguments of writers list. */
export interface WritersListArgs {
  chain: Buffer | null
  json: boolean
}

/** Add a writer (an indexer with --indexer). Effective once the MEMBERSHIP entry is final. */
export async function writersAdd (ctx: Context, args: WriterChangeArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const r = await chain.addWriter(args.key, { indexer: args.indexer })
  const key = formatKey(args.key)
  await ctx.out.emit({ op: 'add', key, indexer: args.indexer, length: r.length, finalLength: r.finalLength }, () => [])
  ctx.out.info(`added ${args.indexer ? 'indexer' : 'writer'} ${key}` + ctx.out.ce.dim(r.finalLength === r.length ? '' : ' (effective once final)'))
}

/** Remove a writer. Its entries after the removal's position are no longer ordered. */
export async function writersRemove (ctx: Context, args: WriterChangeArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const r = await chain.removeWriter(args.key)
  const key = formatKey(args.key)
  await ctx.out.emit({ op: 'remove', key, length: r.length, finalLength: r.finalLength }, () => [])
  ctx.out.info(`removed writer ${key}` + ctx.out.ce.dim(r.finalLength === r.length ? '' : ' (effective once final)'))
}

/** List the writers: key, role, blocks known and final, flags. */
export async function writersList (ctx: Context, args: WritersListArgs): Promise<void> {
  const chain = await ctx.chain(args.chain)
  for (const w of (await chain.status()).writers) {
    if (ctx.out.broken) break
    await ctx.out.emit(w, () => writerLine(w, ctx.out.c))
  }
}

function changeArgs (input: { operands: unknown[], opts: Record<string, unknown> }): WriterChangeArgs {
  return {
    key: parseKey(operand(input, 0), 'writer key'),
    chain: chainArg(input.opts),
    indexer: input.opts.indexer === true,
    json: jsonArg(input.opts),
  }
}

const add = defineCommand<WriterChangeArgs>({
  name: 'add',
  summary: 'add a writer (--indexer: one whose acks make entries final)',
  description: 'Add a writer to the chain by its writer key (they print it with `feedchain share`). Only an ' +
    'indexer can do this. With --indexer the new writer also acknowledges entries: prefer 1 or an odd ' +
    'number ≥ 3 of indexers, since a majority of them must be online for entries to become final.',
  examples: [
    'feedchain writers add <writer key>',
    'feedchain writers add <writer key> --indexer',
  ],
  configure (cmd) {
    cmd.argument('<key>', 'the writer key (z-base32 or hex)')
    cmd.addOption(new Option('--indexer', 'also make it an indexer'))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args: changeArgs,
  run: writersAdd,
})

const remove = defineCommand<WriterChangeArgs>({
  name: 'remove',
  summary: 'remove a writer',
  description: 'Remove a writer from the chain. Only an indexer can do this; the last indexer cannot be removed.',
  examples: ['feedchain writers remove <writer key>'],
  configure (cmd) {
    cmd.argument('<key>', 'the writer key (z-base32 or hex)')
    chainOption(cmd)
    jsonOption(cmd)
  },
  args (input) {
    const a = changeArgs(input)
    return { ...a, indexer: false }
  },
  run: writersRemove,
})

const list = defineCommand<WritersListArgs>({
  name: 'list',
  summary: 'list the writers (the default)',
  description: 'List the writers of the chain: key, writer or indexer, blocks known and final, and flags (removed, FORKED, you). With --json, one object per writer.',
  examples: ['feedchain writers list', 'feedchain writers list --json'],
  configure (cmd) {
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ opts }) {
    return { chain: chainArg(opts), json: jsonArg(opts) }
  },
  run: writersList,
})

/** The writers command group: add, remove, list (the default). */
export const writersCommand: AnyCommand = {
  name: 'writers',
  summary: 'manage who can write: add <key> [--indexer] | remove <key> | list',
  description: 'Manage the chain\'s writers. Without a subcommand, list them.',
  examples: [
    'feedchain writers',
    'feedchain writers add <writer key> --indexer',
    'feedchain writers remove <writer key>',
  ],
  configure () {},
  async prepare () {
    throw new Error('writers is a command group')
  },
  subcommands: [add, remove, list],
  defaultSubcommand: 'list',
}
