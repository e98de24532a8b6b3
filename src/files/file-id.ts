/**
 * File ids and how `get` finds a file. The id is the first 8 bytes (16 hex characters) of the
 * file's blake2b-256 hash: short, stable across peers and re-sends, and derived from the
 * content, so two entries with one id hold the same bytes. `get` takes an id, a unique prefix of
 * it (at least MIN_ID_PREFIX characters; longer ones up to the full 64-character hash work
 * too), or a name.
 */
import { fileError } from './file-errors.js'

/** Hex characters of a file id. */
export const ID_LENGTH = 16
/** Shortest id prefix `get` accepts. */
export const MIN_ID_PREFIX = 6

/** The id of a file with this hash. */
export function fileId (hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex').slice(0, ID_LENGTH)
}

/** The fields resolution looks at. */
export interface Resolvable {
  id: string
  name: string
  /** hex of the full hash */
  hash: string
  position: number
}

/** The file chosen and the other entries that matched the query (same id, or same name). */
export interface Resolution<T> {
  file: T
  others: T[]
}

/**
 * Find the file `query` names:
 * 1. an id, id prefix or full hash (hex, ≥ MIN_ID_PREFIX characters): the entries whose hash
 *    starts with it; prefixes of different hashes are AMBIGUOUS_FILE, listing the candidates;
 *    several entries of one hash are one file (the same bytes): the latest is used;
 * 2. otherwise a name: the entry with exactly that name at the highest position (the latest
 *    sent, like a file written again); `others` lists the older ones;
 * 3. nothing matched: UNKNOWN_FILE.
 */
export function resolveFile<T extends Resolvable> (files: T[], query: string): Resolution<T> {
  const q = query.trim()
  if (q.length === 0) throw fileError('UNKNOWN_FILE', 'no file id or name given')
  const byPosition = (a: T, b: T): number => b.position - a.position
  if (/^[0-9a-fA-F]+$/.test(q) && q.length >= MIN_ID_PREFIX && q.length <= 64) {
    const lower = q.toLowerCase()
    const hits = files.filter((f) => f.hash.startsWith(lower)).sort(byPosition)
    const hashes = new Set(hits.map((f) => f.hash))
    if (hashes.size > 1) {
      const list = [...hashes].map((h) => {
        const f = hits.find((x) => x.hash === h)!
        return `${f.id} (${f.name})`
      })
      throw fileError('AMBIGUOUS_FILE', `"${q}" matches ${hashes.size} files: ${list.join(', ')}; give more of the id`)
    }
    if (hits.length > 0) return { file: hits[0]!, others: hits.slice(1) }
  }
  const named = files.filter((f) => f.name === q).sort(byPosition)
  if (named.length > 0) return { file: named[0]!, others: named.slice(1) }
  throw fileError('UNKNOWN_FILE', `no file "${q}" in this chain (\`feedchain files\` lists them)`)
}

/**
 * A name safe to create in a directory: the base name only, no path separators, not `.`/`..`,
 * no control characters. Names come from other users, so the target of `get` never escapes the
 * directory it is asked to write in. Returns null if nothing usable is left.
 */
export function safeFileName (name: string): string | null {
  // eslint-disable-next-line no-control-regex
  const base = name.split(/[/\\]/).pop()?.replace(/[\u0000-\u001f\u007f]/g, '').trim() ?? ''
  if (base === '' || base === '.' || base === '..') return null
  return base.length > 255 ? base.slice(0, 255) : base
}
