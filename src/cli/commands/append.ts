/** `feedchain append <text...>` and `feedchain append -` (stdin, one entry per line, batched). */
import type { Readable } from 'node:stream'
import { FeedchainError } from '../../errors.js'
import { MAX_ENTRY_SIZE } from '../../feed/schema.js'
import type { ChainApi } from '../../daemon/chain-api.js'
import { chainArg, chainOption, jsonArg, jsonOption } from '../args.js'
import { defineCommand } from '../command.js'
import type { Context } from '../context.js'
import { formatBytes } from '../format.js'

/** Arguments of append: `text` null means read stdin. */
export interface AppendArgs {
  chain: Buffer | null
  text: string | null
  json: boolean
}

/** Lines handed to one `node.append` call (it cuts them into blocks itself)... */
export const STDIN_BATCH_LINES = 10_000
/** ...or fewer, once they add up to this many bytes (8 MiB), to bound memory. */
export const STDIN_BATCH_BYTES = 8 * 1024 * 1024

/** Buffered lines are appended once the input has been idle this long, ms... */
export const STDIN_IDLE_FLUSH_MS = 100
/** ...or once the oldest of them has waited this long, ms, however fast lines trickle in. */
export const STDIN_MAX_DELAY_MS = 1000

/** One line of input: its bytes, or null if it was longer than the entry limit (then only `size`). */
export interface InputLine {
  /** 1-based line number */
  n: number
  bytes: Buffer | null
  size: number
}

/**
 * Split a byte stream into lines (`\n`, a trailing `\r` dropped) without decoding them, so any
 * bytes pass through unchanged. A line longer than `maxLine` bytes is not kept in memory: it is
 * yielded with `bytes: null` and its size. A last line without a newline counts.
 */
export async function * splitLines (input: AsyncIterable<Buffer | string>, maxLine: number): AsyncGenerator<InputLine> {
  let parts: Buffer[] = []
  let size = 0
  let n = 0
  const finish = (): InputLine => {
    n++
    let bytes: Buffer | null = null
    if (size <= maxLine + 1) {
      bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)
      if (bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === 0x0d) bytes = bytes.subarray(0, bytes.byteLength - 1)
      if (bytes.byteLength > maxLine) bytes = null
    }
    const line = { n, bytes, size: bytes?.byteLength ?? size }
    parts = []
    size = 0
    return line
  }
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let from = 0
    while (from < buf.byteLength) {
      const nl = buf.indexOf(0x0a, from)
      const end = nl === -1 ? buf.byteLength : nl
      // keep at most maxLine + 1 bytes of a line (+1 for a possible \r): beyond that it is too large anyway
      if (size <= maxLine + 1) parts.push(buf.subarray(from, Math.min(end, from + maxLine + 2 - size)))
      size += end - from
      if (nl === -1) break
      yield finish()
      from = nl + 1
    }
  }
  if (size > 0 || parts.length > 0) yield finish()
}

/** Append text given as arguments, or stdin line by line (`-`). */
export async function append (ctx: Context, args: AppendArgs): Promise<void> {
  if (args.text !== null) return appendText(ctx, args, args.text)
  return appendStdin(ctx, args, ctx.stdin)
}

async function appendText (ctx: Context, args: AppendArgs, text: string): Promise<void> {
  const chain = await ctx.chain(args.chain)
  const r = await chain.append([text])
  await ctx.out.emit({ appended: 1, length: r.length, finalLength: r.finalLength }, () => [])
  ctx.out.info(ctx.out.ce.dim(`appended 1 entry; chain length ${r.length} (${r.finalLength} final)`))
}

/** Stream stdin into the chain in batches; memory stays bounded whatever the input size. */
export async function appendStdin (ctx: Context, args: AppendArgs, input: Readable & { isTTY?: boolean }): Promise<void> {
  // Open first: a missing or locked storage fails at once, before the input is consumed.
  const chain = await ctx.chain(args.chain)
  if (input.isTTY === true) ctx.out.info(ctx.out.ce.dim('reading entries from the terminal, one per line; end with Ctrl-D'))
  const stop = (): void => { input.destroy() }
  if (ctx.aborted) return
  ctx.signal.addEventListener('abort', stop, { once: true })

  let appended = 0
  let skipped = 0
  let batch: Buffer[] = []
  let batchBytes = 0
  let last = { length: 0, finalLength: 0 }
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const lines = batch
    batch = []
    batchBytes = 0
    last = await appendBatch(chain, lines)
    appended += lines.length
  }

  try {
    const lines = splitLines(input, MAX_ENTRY_SIZE)[Symbol.asyncIterator]()
    let next: Promise<IteratorResult<InputLine>> | null = null
    let lastInput = 0
    let batchStart = 0
    while (true) {
      next ??= lines.next()
      // A slow producer (`tail -f app.log | feedchain append -`) must not wait for a full batch:
      // flush when the input pauses, or when the oldest buffered line gets old.
      const deadline = batch.length === 0 ? null : Math.min(lastInput + STDIN_IDLE_FLUSH_MS, batchStart + STDIN_MAX_DELAY_MS)
      const r = await withDeadline(next, deadline)
      if (r === null) { await flush(); continue }
      next = null
      if (r.done === true) break
      const line = r.value
      if (line.bytes === null) {
        await flush()
        throw new FeedchainError('ENTRY_TOO_LARGE', `line ${line.n} is ${formatBytes(line.size)}, over the ${formatBytes(MAX_ENTRY_SIZE)} entry limit (use \`feedchain send\` for files); ${appended} entr${appended === 1 ? 'y' : 'ies'} before it ${appended === 1 ? 'was' : 'were'} appended`)
      }
      if (line.bytes.byteLength === 0) { skipped++; continue }
      lastInput = Date.now()
      if (batch.length === 0) batchStart = lastInput
      batch.push(line.bytes)
      batchBytes += line.bytes.byteLength
      if (batch.length >= STDIN_BATCH_LINES || batchBytes >= STDIN_BATCH_BYTES) await flush()
    }
  } catch (e) {
    // Ctrl-C while reading: keep what was read (it is small, one batch at most), then stop.
    if (!ctx.aborted) throw e
  } finally {
    ctx.signal.removeEventListener('abort', stop)
  }
  await flush()

  if (appended === 0) {
    if (ctx.aborted) return
    throw new FeedchainError('EMPTY_ENTRY', skipped > 0 ? 'nothing to append: every input line was empty' : 'nothing to append: stdin was empty')
  }
  await ctx.out.emit({ appended, skipped, length: last.length, finalLength: last.finalLength }, () => [])
  const note = skipped > 0 ? ` (${skipped} empty line${skipped === 1 ? '' : 's'} skipped)` : ''
  ctx.out.info(ctx.out.ce.dim(`appended ${appended} entr${appended === 1 ? 'y' : 'ies'}${note}; chain length ${last.length} (${last.finalLength} final)`))
}

/** `p`'s result, or null if it has not settled by `deadline` (ms since epoch; null: no deadline). */
async function withDeadline<T> (p: Promise<T>, deadline: number | null): Promise<T | null> {
  if (deadline === null) return p
  let timer: NodeJS.Timeout | null = null
  const expired = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), Math.max(0, deadline - Date.now())) })
  try {
    return await Promise.race([p, expired])
  } finally {
    if (timer !== null) clearTimeout(timer)
  }
}

async function appendBatch (chain: ChainApi, lines: Buffer[]): Promise<{ length: number, finalLength: number }> {
  const r = await chain.append(lines)
  return { length: r.length, finalLength: r.finalLength }
}

/** The append command. */
export const appendCommand = defineCommand<AppendArgs>({
  name: 'append',
  summary: 'append an entry, or stdin one entry per line (-)',
  description: 'Append an entry to the chain. Several words are joined with spaces, like echo.\n\n' +
    'With - read stdin instead: one entry per line (a trailing \\r is dropped, empty lines are skipped), ' +
    `appended in batches as the input streams. An entry is at most ${formatBytes(MAX_ENTRY_SIZE)}: ` +
    'a longer line stops the command, and the lines before it stay appended.',
  examples: [
    'feedchain append "deployed v1.2 to production"',
    'tail -f app.log | feedchain append -',
    'seq 1 5000 | feedchain append - --json',
  ],
  configure (cmd) {
    cmd.argument('<text...>', 'the entry text, or - to read stdin')
    chainOption(cmd)
    jsonOption(cmd)
  },
  args ({ operands, opts }) {
    const words = (Array.isArray(operands[0]) ? operands[0] : []).map(String)
    const json = jsonArg(opts)
    const chain = chainArg(opts)
    if (words.length === 1 && words[0] === '-') return { chain, text: null, json }
    const text = words.join(' ')
    if (text.length === 0) throw new FeedchainError('EMPTY_ENTRY', 'entry is empty: give some text, or - to read stdin')
    const size = Buffer.byteLength(text)
    if (size > MAX_ENTRY_SIZE) throw new FeedchainError('ENTRY_TOO_LARGE', `entry is ${formatBytes(size)}, over the ${formatBytes(MAX_ENTRY_SIZE)} limit (use \`feedchain send\` for files)`)
    return { chain, text, json }
  },
  run: append,
})
