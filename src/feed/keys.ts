/** Parsing and printing of 32-byte keys: z-base32 (the default, as Holepunch tools print) or hex. */
import ids from 'hypercore-id-encoding'
import crypto from 'hypercore-crypto'
import { err } from '../errors.js'

/** Print a key in z-base32 (52 characters). */
export function formatKey (key: Uint8Array): string {
  return ids.encode(asBuffer(key))
}

/** Lowercase hex of a key (the consensus layer's writer names). */
export function toHex (key: Uint8Array): string {
  return asBuffer(key).toString('hex')
}

/** Bytes of a lowercase-hex key. */
export function fromHex (hex: string): Buffer {
  return Buffer.from(hex, 'hex')
}

/**
 * Parse a key given by a user: 52-character z-base32 or 64-character hex (a `pear://` or
 * `feedchain://` prefix is accepted). Throws INVALID_KEY with a one-line reason otherwise.
 */
export function parseKey (input: string, what = 'key'): Buffer {
  const s = String(input).trim().replace(/^(feedchain|pear):\/\//, '').split('/')[0] ?? ''
  if (s.length === 0) throw err('INVALID_KEY', `${what} is empty`)
  if (s.length === 64) {
    if (!/^[0-9a-fA-F]{64}$/.test(s)) throw err('INVALID_KEY', `${what} "${short(s)}" is 64 characters but not hex`)
    return Buffer.from(s.toLowerCase(), 'hex')
  }
  if (s.length === 52) {
    if (!/^[ybndrfg8ejkmcpqxot1uwisza345h769]{52}$/.test(s)) throw err('INVALID_KEY', `${what} "${short(s)}" is 52 characters but not z-base32`)
    try {
      return ids.decode(s)
    } catch {
      throw err('INVALID_KEY', `${what} "${short(s)}" is not a valid z-base32 key`)
    }
  }
  throw err('INVALID_KEY', `${what} "${short(s)}" has ${s.length} characters; expected 52 (z-base32) or 64 (hex)`)
}

/** The discovery key (swarm topic) of a chain key. */
export function discoveryKey (key: Uint8Array): Buffer {
  return crypto.discoveryKey(asBuffer(key))
}

/** blake2b-256 over the concatenation of parts. */
export function hash (parts: Uint8Array[]): Buffer {
  return crypto.hash(parts.map(asBuffer))
}

function short (s: string): string {
  return s.length > 20 ? s.slice(0, 8) + '…' + s.slice(-6) : s
}

/** View any Uint8Array as a Buffer without copying. */
export function asBuffer (b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}
