/** `feedchain get <id|name> [-o path]`: download a file of the chain from every peer that has it. */
import fs from 'node:fs'
import path from 'node:path'
import { Option } from 'commander'
import { FeedchainError } from '../../errors.js'
import type { GetResult } from '../../files/chain-files.js'
import { fileError } from '../../files/file-errors.js'
import { chainArg, chainOption, jsonArg, jsonOption, operand, seconds } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { escapeText, formatBytes } from '../format.js'
import { FileProgressView, fileRecord, formatRate, openFiles } from './files.js'

/** Default of --timeout, ms. */
export const DEFAULT_GET_TIMEOUT_MS = 60_000

/** Arguments of get. */
export interface GetArgs {
  chain: Buffer | null
  query: string
  output: string | undefined
  /** ms without progress before giving up */
  timeout: number
  json: boolean
}

/** The NDJSON record of a finished get. */
export function getRecord (r: GetResult): Record<string, unknown> {
  return {
    type: 'got', path: r.path, ...fileRecord(r.file), downloaded: r.downloaded, reused: r.reused, duplicates: r.duplicates, sources: r.sources,
    elapsed: r.elapsed, others: r.others.map((f) => ({ id: f.id, position: f.position })),
  }
}

/** Download a file: progress on stderr (or NDJSON with --json), the path written on stdout. */
export async function get (ctx: Context, args: GetArgs): Promise<void> {
  if (args.output !== undefined) checkOutputDir(args.output)
  const files = await openFiles(ctx, args.chain, { network: true })
  const view = new FileProgressView(ctx.out, 'getting', { peers: true })
  let r: GetResult
  try {
    r = await files.get(args.query, {
      output: outputPath(args.output),
      timeout: args.timeout,
      signal: ctx.signal,
      onProgress: (p) => view.update(p),
      // a note for people watching; scripts get the result or one error line
      onSyncing: () => {
        if (ctx.out.err.isTTY === true) ctx.out.info(ctx.out.ce.dim(`"${escapeText(args.query)}" is not in this storage yet: syncing with the chain's peers…`))
      },
    })
  } finally {
    view.close()
    await files.close()
  }
  await ctx.out.emit(getRecord(r), () => r.path)
  const peers = Object.keys(r.sources).length
  const secs = r.elapsed / 1000
  const from = r.downloaded > 0
    ? `downloaded ${formatBytes(r.downloaded)} from ${peers} peer${peers === 1 ? '' : 's'} (${formatRate(r.downloaded / Math.max(secs, 0.001))})`
    : 'nothing to download'
  const had = r.reused > 0 ? `, ${formatBytes(r.reused)} already stored` : ''
  ctx.out.info(ctx.out.ce.dim(`got ${escapeText(r.file.name)} (${formatBytes(r.file.size)}, file ${r.file.id}): ${from}${had}; hash verified; ${secs.toFixed(1)} s`))
  if (r.others.length > 0) {
    ctx.out.info(ctx.out.ce.dim(`"${escapeText(args.query)}" also names ${r.others.length} older entr${r.others.length === 1 ? 'y' : 'ies'} (${r.others.map((f) => `${f.id} at ${f.position}`).join(', ')}); the latest was used`))
  }
}

/**
 * Where get writes, absolute (a daemon writes it, and its working directory is not ours): `-o`
 * resolved, keeping a trailing separator (a directory to put the file in); without `-o`, the
 * working directory, ending in a separator, so the file's own name is used in it.
 */
export function outputPath (output: string | undefined, cwd = process.cwd()): string {
  if (output === undefined) return cwd.endsWith(path.sep) ? cwd : cwd + path.sep
  const abs = path.resolve(cwd, output)
  const dirHint = output.endsWith('/') || output.endsWith(path.sep)
  return dirHint && !abs.endsWith(path.sep) ? abs + path.sep : abs
}

/** OUTPUT_UNWRITABLE now if the directory `output` goes into does not exist (touches no storage). */
function checkOutputDir (output: string): void {
  const abs = path.resolve(output)
  let isDir = output.endsWith('/') || output.endsWith(path.sep)
  try {
    if (fs.statSync(abs).isDirectory()) isDir = true
  } catch {}
  const dir = isDir ? abs : path.dirname(abs)
  let st: fs.Stats
  try {
    st = fs.statSync(dir)
  } catch {
    throw fileError('OUTPUT_UNWRITABLE', `cannot write ${output}: the directory ${dir} does not exist`)
  }
  if (!st.isDirectory()) throw fileError('OUTPUT_UNWRITABLE', `cannot write ${output}: ${dir} is not a directory`)
}

/** The get command. */
export const getCommand = defineCommand<GetArgs>({
  name: 'get',
  summary: 'download a file of the chain by id or name',
  description: 'Download a file of the chain (`feedchain files` lists them) by its id, a unique prefix of the id ' +
    '(at least 6 hex characters), or its name; a name sent several times means the latest. Blocks come from every ' +
    'connected peer that has them, in parallel. They are written to .<name>.feedchain-partial beside the target, ' +
    'the whole file\'s hash is checked against the chain, and only then is it renamed to the target (replacing ' +
    'a file of that name): a partial or corrupt file never appears under the target name.\n\n' +
    'Interrupted (Ctrl-C, kill, no space), run it again: the blocks already downloaded are kept in the storage ' +
    'and only the rest is fetched. The target defaults to the file\'s name in the working directory; -o names a ' +
    'file, or a directory to put it in.\n\n' +
    'Progress goes to stderr as a bar on a terminal (bytes, percent, rate, ETA, peers). The path written is ' +
    'printed on stdout. With --json, progress records {"type":"progress",…} and then one {"type":"got",…} ' +
    'record: path, the file\'s fields (as `files --json`), downloaded and reused (bytes), sources (bytes per ' +
    'peer), elapsed (ms).',
  examples: [
    'feedchain get 3f2a9c01d4e5b6a7',
    'feedchain get report.pdf -o ~/Downloads/',
    'feedchain get 3f2a9c -o /tmp/copy.bin --json',
  ],
  configure (cmd) {
    cmd.argument('<file>', 'file id, unique id prefix, or name')
    cmd.addOption(new Option('-o, --output <path>', 'where to write it: a file path, or an existing directory'))
    cmd.addOption(new Option('--timeout <seconds>', `give up after this long without a new block, or without finding the file (default ${DEFAULT_GET_TIMEOUT_MS / 1000})`))
    chainOption(cmd)
    jsonOption(cmd)
  },
  args (input) {
    const query = operand(input, 0).trim()
    if (query === '') throw new FeedchainError('INVALID_ARGUMENT', 'file id or name is empty')
    const { opts } = input
    const output = opts.output === undefined ? undefined : String(opts.output)
    if (output !== undefined && output.trim() === '') throw new FeedchainError('INVALID_ARGUMENT', '--output is empty')
    return {
      chain: chainArg(opts),
      query,
      output,
      timeout: opts.timeout === undefined ? DEFAULT_GET_TIMEOUT_MS : seconds(opts.timeout, '--timeout'),
      json: jsonArg(opts),
    }
  },
  run: get,
})
