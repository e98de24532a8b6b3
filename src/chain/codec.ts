/**
 * Minimal binary codec for the engine snapshot: unsigned LEB128 varints, raw byte runs and
 * length-prefixed UTF-8. Hand-written (not compact-encoding) so the layout is a single pass
 * with no pre-encode step and stays fully specified in this folder.
 */
import { FeedchainError } from '../errors.js'

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** Growable byte buffer written front to back. */
export class ByteWriter {
  private buf = new Uint8Array(4096)
  private len = 0

  private ensure (n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  /** Unsigned integer up to 2^53 - 1 as LEB128 (7 bits per byte, low bits first). */
  uint (n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as uint`)
    this.ensure(8)
    // division instead of >>> so values above 2^32 keep their high bits
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.len++] = n
  }

  /** Bytes without a length prefix (the reader must know the size). */
  fixed (b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }

  /** Length-prefixed bytes. */
  bytes (b: Uint8Array): void {
    this.uint(b.length)
    this.fixed(b)
  }

  /** Length-prefixed UTF-8 string. */
  string (s: string): void {
    this.bytes(utf8Encoder.encode(s))
  }

  /** A copy of the bytes written so far. */
  finish (): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

/** Reader for {@link ByteWriter} output; every overrun or malformed value is STORAGE_CORRUPT. */
export class ByteReader {
  private pos = 0

  constructor (private readonly buf: Uint8Array) {}

  private corrupt (what: string): FeedchainError {
    return new FeedchainError('STORAGE_CORRUPT', `consensus snapshot is corrupt: ${what} at byte ${this.pos}`)
  }

  /** Next varint; throws on overrun or on values past 2^53. */
  uint (): number {
    let n = 0
    let mul = 1
    for (;;) {
      if (this.pos >= this.buf.length) throw this.corrupt('truncated varint')
      const b = this.buf[this.pos++] as number
      n += (b & 0x7f) * mul
      if ((b & 0x80) === 0) break
      mul *= 0x80
      if (mul > 2 ** 49) throw this.corrupt('varint too long')
    }
    if (!Number.isSafeInteger(n)) throw this.corrupt('varint too large')
    return n
  }

  /** Next varint, checked to be at most `max`. */
  bounded (max: number, what: string): number {
    const n = this.uint()
    if (n > max) throw this.corrupt(`${what} out of range (${n} > ${max})`)
    return n
  }

  /** Next `n` bytes (a copy, so the snapshot buffer can be released). */
  fixed (n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw this.corrupt('truncated bytes')
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** Length-prefixed bytes. */
  bytes (): Uint8Array {
    return this.fixed(this.uint())
  }

  /** Length-prefixed UTF-8 string. */
  string (): string {
    try {
      return utf8Decoder.decode(this.bytes())
    } catch (e) {
      if (e instanceof FeedchainError) throw e
      throw this.corrupt('invalid utf-8')
    }
  }

  /** Throws unless every byte was consumed. */
  end (): void {
    if (this.pos !== this.buf.length) throw this.corrupt('trailing bytes')
  }
}
