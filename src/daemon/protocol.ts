/**
 * The daemon's wire format: NDJSON over a Unix socket (see README.md in this folder). One JSON
 * object per line, each way. Requests `{id, method, params}`; replies `{id, result}` or
 * `{id, error: {code, message}}`; a streaming method sends `{id, event}` lines before its reply.
 * Bytes travel as base64, keys as hex, so every message is plain JSON.
 */
import path from 'node:path'
import { ERROR_CODES, FeedchainError, type ErrorCode } from '../errors.js'
import type { ChainEntry, EntryTypeName } from '../node.js'

/** Version of this protocol; `hello` refuses a client that speaks another. */
export const PROTOCOL_VERSION = 1

/** File name of the socket inside the storage directory. */
export const SOCKET_NAME = 'feedchain.sock'

/** Longest accepted line, bytes (an `append` of 8 MiB of entries is ~11 MiB as base64). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024

/**
 * Longest Unix socket path the kernel accepts (sun_path is 108 bytes on Linux, including the
 * terminating NUL).
 */
export const MAX_SOCKET_PATH_BYTES = 107

/** The code a reply carries for an error that is not a FeedchainError (a daemon bug). */
export const INTERNAL_CODE = 'INTERNAL'

/** A request line. */
export interface Request {
  id: number
  method: string
  params?: Record<string, unknown>
}

/** An error as it travels. */
export interface WireError {
  code: string
  message: string
  /** the precise reason of a file error (src/files/file-errors.ts), which the code groups */
  reason?: string
}

/** A reply or stream event line. */
export interface Reply {
  id: number
  result?: unknown
  event?: unknown
  error?: WireError
}

/** An entry as it travels: ChainEntry with hex writer and base64 data. */
export interface WireEntry {
  position: number
  writer: string
  seq: number
  index: number
  final: boolean
  type: EntryTypeName
  data: string
  value: unknown
  time: number
  clock: number
  hash?: string | null
}

/** The socket path of a storage directory. */
export function socketPath (storageDir: string): string {
  return path.join(storageDir, SOCKET_NAME)
}

/** Encode an entry for the wire. */
export function encodeEntry (e: ChainEntry & { hash?: string | null }): WireEntry {
  const out: WireEntry = {
    position: e.position,
    writer: e.writer.toString('hex'),
    seq: e.seq,
    index: e.index,
    final: e.final,
    type: e.type,
    data: e.data.toString('base64'),
    value: e.value,
    time: e.time,
    clock: e.clock,
  }
  if (e.hash !== undefined) out.hash = e.hash
  return out
}

/** Decode an entry from the wire. */
export function decodeEntry (w: WireEntry): ChainEntry & { hash?: string | null } {
  const e: ChainEntry & { hash?: string | null } = {
    position: w.position,
    writer: Buffer.from(w.writer, 'hex'),
    seq: w.seq,
    index: w.index,
    final: w.final,
    type: w.type,
    data: Buffer.from(w.data, 'base64'),
    value: w.value,
    time: w.time,
    clock: w.clock,
  }
  if (w.hash !== undefined) e.hash = w.hash
  return e
}

/** An error for the wire: a FeedchainError keeps its code; anything else is INTERNAL. */
export function encodeError (e: unknown): WireError {
  if (e instanceof FeedchainError) {
    const reason = (e as { reason?: unknown }).reason
    return typeof reason === 'string' ? { code: e.code, message: e.message, reason } : { code: e.code, message: e.message }
  }
  return { code: INTERNAL_CODE, message: e instanceof Error ? e.message : String(e) }
}

/**
 * The error a client throws for a reply's error: a FeedchainError with the same code (so exit
 * code and message match the direct path) and the same `reason` if it had one, or a plain Error
 * for INTERNAL and unknown codes.
 */
export function decodeError (w: WireError): Error {
  if (typeof w.code === 'string' && Object.hasOwn(ERROR_CODES, w.code)) {
    const e = new FeedchainError(w.code as ErrorCode, String(w.message))
    return typeof w.reason === 'string' ? Object.assign(e, { reason: w.reason }) : e
  }
  return new Error(`daemon: ${String(w.message)}`)
}

/**
 * Split a byte stream into NDJSON lines and parse them. `onLine` gets each parsed value;
 * `onError` a line that is too long or not JSON (the caller then closes the connection).
 */
export class LineReader {
  private parts: Buffer[] = []
  private size = 0
  private failed = false

  constructor (private readonly onLine: (value: unknown) => void, private readonly onError: (e: Error) => void, private readonly maxLine = MAX_LINE_BYTES) {}

  /** Feed a chunk of bytes. */
  push (chunk: Buffer): void {
    if (this.failed) return
    let from = 0
    while (from < chunk.byteLength) {
      const nl = chunk.indexOf(0x0a, from)
      const end = nl === -1 ? chunk.byteLength : nl
      this.size += end - from
      if (this.size > this.maxLine) {
        this.failed = true
        this.onError(new Error(`line longer than ${this.maxLine} bytes`))
        return
      }
      this.parts.push(chunk.subarray(from, end))
      if (nl === -1) return
      const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size)
      this.parts = []
      this.size = 0
      from = nl + 1
      if (line.byteLength === 0) continue
      let value: unknown
      try {
        value = JSON.parse(line.toString('utf8'))
      } catch {
        this.failed = true
        this.onError(new Error('a line is not JSON'))
        return
      }
      this.onLine(value)
      if (this.failed) return
    }
  }
}

/** One NDJSON line for `value`. */
export function frame (value: unknown): string {
  return JSON.stringify(value) + '\n'
}
