/** `feedchain send <file> [--name N]`: add a file to the chain (its bytes go to this writer's blob core). */
import path from 'node:path'
import { Option } from 'commander'
import { FeedchainError } from '../../errors.js'
import { checkPathSource } from '../../files/file-source.js'
import { chainArg, chainOption, jsonArg, jsonOption, operand } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { escapeText, formatBytes } from '../format.js'
import { FileProgressView, fileRecord, openFiles } from './files.js'

/** Arguments of send: `file` null means stdin. */
export interface SendArgs {
  chain: Buffer | null
  file: string | null
  name: string | undefined
  mime: string | undefined
  json: boolean
}

/** Send a file (or stdin with --name): print its id once its FILE entry is appended. */
export async function send (ctx: Context, args: SendArgs): Promise<void> {
  // a bad path fails before any storage is opened
  if (args.file !== null) await checkPathSource(args.file)
  const files = await openFiles(ctx, args.chain, { network: false })
  const view = new FileProgressView(ctx.out, 'sending', { peers: false })
  let info
  try {
    // an absolute path: a daemon reads it, and its working directory is not ours
    const source = args.file === null ? { stream: ctx.stdin } : { path: path.resolve(args.file) }
    if (args.file === null && ctx.stdin.isTTY === true) ctx.out.info(ctx.out.ce.dim('reading the file from the terminal; end with Ctrl-D'))
    info = await files.send(source, {
      name: args.name,
      mime: args.mime,
      signal: ctx.signal,
      onProgress: (p) => view.update(p),
    })
  } finally {
    view.close()
    await files.close()
  }
  await ctx.out.emit({ type: 'sent', ...fileRecord(info) }, () => info.id)
  const pending = info.final ? '' : ' (pending until final)'
  ctx.out.info(ctx.out.ce.dim(`sent ${escapeText(info.name)} (${formatBytes(info.size)}) as file ${info.id} at position ${info.position}${pending}; peers fetch it when they connect`))
}

/** The send command. */
export const sendCommand = defineCommand<SendArgs>({
  name: 'send',
  summary: 'add a file to the chain; print its id',
  description: 'Add a file to the chain: its bytes are streamed into this writer\'s blob core (constant memory, ' +
    'any size), then a FILE entry records its name, size, hash and where the bytes are. Works offline: peers ' +
    'fetch the bytes from any peer that has them when they connect (`feedchain get <id>`). Prints the file id ' +
    '(the first 16 hex characters of its blake2b-256 hash).\n\n' +
    'With - read the file from stdin (--name is then required). A directory, a missing or unreadable path, a ' +
    'FIFO, or a file that changes while it is read is refused with nothing added to the chain.\n\n' +
    'Progress goes to stderr as a bar on a terminal. With --json, progress records {"type":"progress",…} ' +
    'and then one {"type":"sent",…} record with id, name, size, mime, hash, author, position, final, blob location.',
  examples: [
    'feedchain send report.pdf',
    'feedchain send build.tar.gz --name release-1.2.tar.gz',
    'pg_dump mydb | feedchain send - --name mydb.sql',
  ],
  configure (cmd) {
    cmd.argument('<file>', 'the file to send, or - for stdin')
    cmd.addOption(new Option('--name <name>', 'the name recorded in the chain (default: the file\'s base name)'))
    cmd.addOption(new Option('--mime <type>', 'the MIME type recorded (default: from the extension)'))
    chainOption(cmd)
    jsonOption(cmd)
  },
  async args (input) {
    const file = operand(input, 0)
    const { opts } = input
    const name = opts.name === undefined ? undefined : String(opts.name)
    if (name !== undefined) {
      if (name.trim() === '') throw new FeedchainError('INVALID_ARGUMENT', '--name is empty')
      // the files module (hyperblobs) is loaded here, not at start: run needs it next anyway
      const { MAX_NAME_BYTES } = await import('../../files/chain-files.js')
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new FeedchainError('INVALID_ARGUMENT', `--name is longer than ${MAX_NAME_BYTES} bytes`)
    }
    if (file === '-' && name === undefined) throw new FeedchainError('USAGE', 'sending stdin (-) needs --name')
    if (file === '') throw new FeedchainError('INVALID_ARGUMENT', 'file path is empty')
    const mime = opts.mime === undefined ? undefined : String(opts.mime)
    if (mime !== undefined && !/^[\w.+-]+\/[\w.+-]+$/.test(mime)) throw new FeedchainError('INVALID_ARGUMENT', `--mime "${escapeText(mime)}" is not a type/subtype`)
    return { chain: chainArg(opts), file: file === '-' ? null : file, name, mime, json: jsonArg(opts) }
  },
  run: send,
})
