/**
 * Where `send` reads a file from: a path (checked and opened without blocking on FIFOs, read in
 * exact blocks, checked for changes while it was read) or any byte stream (cut into blocks).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileError } from './file-errors.js'

/** The bytes to send, read as blocks of exactly `blockSize` bytes (the last one may be shorter). */
export interface FileSource {
  /** the name to record when the caller gives none (the path's base name), or null */
  readonly defaultName: string | null
  /** size in bytes when known up front (paths), else null */
  readonly size: number | null
  /** The content as blocks; the source can be read once. */
  blocks (blockSize: number): AsyncGenerator<Buffer>
  /** Throw FILE_CHANGED if the file is not exactly what was read (paths; streams: no-op). */
  checkUnchanged (bytesRead: number): Promise<void>
  close (): Promise<void>
}

/** What must stay equal between the start and the end of reading a file. */
interface Snapshot { size: number, mtimeNs: bigint, ctimeNs: bigint, ino: bigint, dev: bigint }

function snapshot (st: fs.BigIntStats): Snapshot {
  return { size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev }
}

function kindOf (st: fs.BigIntStats): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO (named pipe); pipe it to `feedchain send - --name NAME` instead'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

/**
 * Open a regular file for sending. Throws FILE_NOT_FOUND, NOT_A_FILE (directory, FIFO, socket,
 * device) or FILE_UNREADABLE before any byte is read. O_NONBLOCK keeps open() from hanging on a
 * FIFO swapped in after the stat; for regular files it changes nothing.
 */
export async function openPathSource (file: string): Promise<FileSource> {
  if (typeof file !== 'string' || file.length === 0) throw fileError('FILE_NOT_FOUND', 'no file given')
  let handle: fs.promises.FileHandle
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    throw openError(file, e)
  }
  let before: Snapshot
  try {
    const st = await handle.stat({ bigint: true })
    if (!st.isFile()) throw fileError('NOT_A_FILE', `${file} is ${kindOf(st)}`)
    before = snapshot(st)
  } catch (e) {
    await handle.close().catch(() => {})
    throw e
  }
  let closed = false
  return {
    defaultName: path.basename(file),
    size: before.size,
    async * blocks (blockSize: number) {
      let position = 0
      while (true) {
        const buf = Buffer.allocUnsafe(blockSize)
        let filled = 0
        while (filled < blockSize) {
          let n: number
          try {
            ({ bytesRead: n } = await handle.read(buf, filled, blockSize - filled, position))
          } catch (e) {
            throw fileError('FILE_UNREADABLE', `reading ${file} failed: ${(e as Error).message}`, e)
          }
          if (n === 0) break
          filled += n
          position += n
        }
        if (filled > 0) yield filled === blockSize ? buf : buf.subarray(0, filled)
        if (filled < blockSize) return
        // read past the size seen at the start: the file is growing
        if (position > before.size) throw changed(file, `it grew past ${before.size} bytes`)
      }
    },
    async checkUnchanged (bytesRead: number) {
      const after = snapshot(await handle.stat({ bigint: true }))
      if (bytesRead !== before.size) throw changed(file, `${before.size} bytes at the start, ${bytesRead} read`)
      if (after.size !== before.size) throw changed(file, `its size went from ${before.size} to ${after.size} bytes`)
      if (after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs) throw changed(file, 'it was modified')
    },
    async close () {
      if (closed) return
      closed = true
      await handle.close()
    },
  }
}

function changed (file: string, why: string): Error {
  return fileError('FILE_CHANGED', `${file} changed while it was being sent (${why}); nothing was added to the chain`)
}

function openError (file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT': return fileError('FILE_NOT_FOUND', `no such file: ${file}`, e)
    case 'ENOTDIR': return fileError('FILE_NOT_FOUND', `no such file: ${file} (a part of the path is not a directory)`, e)
    case 'ELOOP': return fileError('FILE_NOT_FOUND', `${file}: too many levels of symbolic links`, e)
    case 'EISDIR': return fileError('NOT_A_FILE', `${file} is a directory`, e)
    case 'EACCES': case 'EPERM': return fileError('FILE_UNREADABLE', `permission denied reading ${file}`, e)
    default: return fileError('FILE_UNREADABLE', `cannot open ${file}: ${(e as Error).message}`, e)
  }
}

/** A source over any byte stream (stdin, a network stream): size unknown, no change checks. */
export function streamSource (input: AsyncIterable<Uint8Array | string>, name: string | null = null): FileSource {
  return {
    defaultName: name,
    size: null,
    async * blocks (blockSize: number) {
      yield * rechunk(input, blockSize)
    },
    async checkUnchanged () {},
    async close () {
      const d = input as { destroy?: () => void }
      if (typeof d.destroy === 'function') d.destroy()
    },
  }
}

/** Cut a stream of chunks of any size into blocks of exactly `size` bytes (the last may be shorter). */
export async function * rechunk (input: AsyncIterable<Uint8Array | string>, size: number): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(size)
  let filled = 0
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let from = 0
    while (from < buf.byteLength) {
      const n = Math.min(size - filled, buf.byteLength - from)
      buf.copy(block, filled, from, from + n)
      filled += n
      from += n
      if (filled === size) {
        yield block
        block = Buffer.allocUnsafe(size)
        filled = 0
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled)
}

/**
 * Check that `file` can be sent (exists, is a regular file, opens for reading) without reading
 * it: the CLI calls this before it opens any storage. Throws what openPathSource throws.
 */
export async function checkPathSource (file: string): Promise<void> {
  const source = await openPathSource(file)
  await source.close()
}
