/**
 * The entry filters of `log`: `--writer`, `--since`, `--type`, `--format`. The parsers are pure
 * (no file, no network), so bad values are rejected before any storage is opened; only a writer
 * given as a key prefix is resolved later, against the chain's writers.
 */
import { FeedchainError } from '../errors.js'
import { discoveryKey, formatKey, parseKey } from '../feed/keys.js'
import type { EntryTypeName, WriterStatus } from '../index.js'

/** Every entry type, as `--type` takes them and `log` prints them. */
export const ENTRY_TYPES: readonly EntryTypeName[] = ['data', 'file', 'membership', 'join', 'genesis']

/** Units of a relative `--since` age, in ms. */
const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

const Z32 = /^[ybndrfg8ejkmcpqxot1uwisza345h769]+$/
const HEX = /^[0-9a-f]+$/

/** `--writer`: a whole key, or a prefix of one (as `writers` and `log` print them) to resolve later. */
export type WriterArg = { key: Buffer } | { prefix: string }

/** `--since`: a position (a whole number), or a wall-clock time in ms. */
export type SinceArg = { position: number } | { time: number }

/**
 * Parse `--writer`: 52 z-base32 or 64 hex characters are a key (INVALID_KEY as everywhere else
 * if malformed); fewer characters of either alphabet are a prefix. Throws INVALID_KEY otherwise.
 */
export function writerArg (value: unknown): WriterArg {
  const s = String(value).trim()
  if (s.length === 52 || s.length === 64 || s.includes('://')) return { key: parseKey(s, 'writer key') }
  const p = s.toLowerCase()
  if (p.length > 0 && p.length < 52 && (Z32.test(p) || HEX.test(p))) return { prefix: p }
  if (p.length === 0) throw new FeedchainError('INVALID_KEY', 'writer key is empty')
  if (p.length < 52) throw new FeedchainError('INVALID_KEY', `writer "${clip(s)}" is neither a key (52 z-base32 or 64 hex characters) nor the start of one`)
  return { key: parseKey(s, 'writer key') } // throws with the reason (length, alphabet)
}

/**
 * The writer a `--writer` names among the chain's writers (`writers` as status reports them).
 * A key that is not one of them: DISCOVERY_KEY_GIVEN if it is a writer's (or the chain's)
 * discovery key, else NOT_A_MEMBER. A prefix: NOT_A_MEMBER if no writer key starts with it,
 * INVALID_ARGUMENT if several do.
 */
export function resolveWriter (arg: WriterArg, writers: Array<Pick<WriterStatus, 'key'>>, chainKey: Buffer): Buffer {
  const keys = writers.map((w) => parseKey(w.key, 'writer key'))
  if ('key' in arg) {
    const hit = keys.find((k) => k.equals(arg.key))
    if (hit !== undefined) return hit
    if (discoveryKey(chainKey).equals(arg.key)) throw new FeedchainError('DISCOVERY_KEY_GIVEN', 'that is the chain\'s discovery key, not a writer key (see `feedchain writers`)')
    const of = keys.find((k) => discoveryKey(k).equals(arg.key))
    if (of !== undefined) throw new FeedchainError('DISCOVERY_KEY_GIVEN', `that is the discovery key of writer ${formatKey(of)}, not its key`)
    throw new FeedchainError('NOT_A_MEMBER', `${formatKey(arg.key)} is not a writer of this chain (see \`feedchain writers\`)`)
  }
  const hits = keys.filter((k) => formatKey(k).startsWith(arg.prefix) || k.toString('hex').startsWith(arg.prefix))
  if (hits.length === 1) return hits[0]!
  if (hits.length === 0) throw new FeedchainError('NOT_A_MEMBER', `no writer key of this chain starts with "${arg.prefix}" (see \`feedchain writers\`)`)
  const shown = hits.slice(0, 4).map((k) => formatKey(k).slice(0, Math.max(12, arg.prefix.length + 4))).join(', ')
  throw new FeedchainError('INVALID_ARGUMENT', `writer "${arg.prefix}" matches ${hits.length} writers (${shown}${hits.length > 4 ? ', …' : ''}): give more characters`)
}

/**
 * Parse `--since`: a whole number is a position; otherwise a time — an ISO 8601 date or date
 * and time (`2026-11-23`, `2026-11-23T14:30`, `2026-11-23 14:30:05`, with `Z` or `+01:00` for
 * a zone, else local time) or an age before `now` (`90s`, `10m`, `2h`, `3d`, `1w`). Throws
 * INVALID_NUMBER for a position too large, INVALID_ARGUMENT for anything else.
 */
export function sinceArg (value: unknown, now = Date.now()): SinceArg {
  const s = String(value).trim()
  if (/^\d+$/.test(s)) {
    const n = Number(s)
    if (!Number.isSafeInteger(n)) throw new FeedchainError('INVALID_NUMBER', `--since position is too large: ${clip(s)}`)
    return { position: n }
  }
  const age = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(s)
  if (age !== null) {
    const ms = Number(age[1]) * AGE_UNITS[age[2]!]!
    if (!Number.isFinite(ms) || ms > now) throw new FeedchainError('INVALID_ARGUMENT', `--since age is too large: ${clip(s)}`)
    return { time: Math.round(now - ms) }
  }
  const time = isoTime(s)
  if (time === null) {
    throw new FeedchainError('INVALID_ARGUMENT', `--since must be a position (a whole number), a date/time (2026-11-23, 2026-11-23T14:30, …Z) or an age (10m, 2h, 3d), got "${clip(s)}"`)
  }
  return { time }
}

/** An ISO 8601 date or date-time as ms since the epoch, or null if malformed or not a real date. */
function isoTime (s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i.exec(s)
  if (m === null) return null
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number]
  const ms = m[7] === undefined ? 0 : Math.floor(Number('0.' + m[7]) * 1000)
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return null
  const zone = m[8]
  let t: number
  if (zone === undefined) {
    const local = new Date(y, mo - 1, d, h, mi, sec, ms)
    if (local.getFullYear() !== y || local.getMonth() !== mo - 1 || local.getDate() !== d) return null // 2026-02-30
    t = local.getTime()
  } else {
    const utc = new Date(Date.UTC(y, mo - 1, d, h, mi, sec, ms))
    if (utc.getUTCMonth() !== mo - 1 || utc.getUTCDate() !== d) return null
    let offset = 0
    if (zone.toUpperCase() !== 'Z') {
      const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!
      const oh = Number(z[2])
      const om = Number(z[3] ?? 0)
      if (oh > 14 || om > 59) return null
      offset = (z[1] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000
    }
    t = utc.getTime() - offset
  }
  return Number.isFinite(t) ? t : null
}

/** Parse `--type`: one type or a comma-separated list. Throws INVALID_ARGUMENT naming the valid ones. */
export function typesArg (value: unknown): EntryTypeName[] {
  const parts = String(value).split(',').map((p) => p.trim().toLowerCase()).filter((p) => p !== '')
  if (parts.length === 0) throw new FeedchainError('INVALID_ARGUMENT', `--type is empty: give one or more of ${ENTRY_TYPES.join(', ')}`)
  const out: EntryTypeName[] = []
  for (const p of parts) {
    const t = ENTRY_TYPES.find((x) => x === p)
    if (t === undefined) throw new FeedchainError('INVALID_ARGUMENT', `unknown entry type "${clip(p)}": use ${ENTRY_TYPES.join(', ')} (comma-separated for several)`)
    if (!out.includes(t)) out.push(t)
  }
  return out
}

/**
 * `--format text|json` together with `--json` (the two must agree): true for JSON. Throws
 * INVALID_ARGUMENT for another format, USAGE for `--format text --json`.
 */
export function formatArg (opts: Record<string, unknown>): boolean {
  const json = opts.json === true
  if (opts.format === undefined) return json
  const f = String(opts.format).trim().toLowerCase()
  if (f !== 'text' && f !== 'json') throw new FeedchainError('INVALID_ARGUMENT', `--format must be text or json, got "${clip(String(opts.format))}"`)
  if (f === 'text' && json) throw new FeedchainError('USAGE', '--format text and --json contradict each other; give one of them')
  return f === 'json'
}

function clip (s: string): string {
  return s.length > 24 ? s.slice(0, 20) + '…' : s
}
