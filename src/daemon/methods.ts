/**
 * The daemon's methods (the table README.md documents). Each validates its params, then calls
 * the same LocalChain code the CLI runs without a daemon. To add a method (e.g. files), call
 * `server.register(name, handler)` the same way.
 */
import { err } from '../errors.js'
import type { EntryQuery, FollowOptions, ReadRange } from './chain-api.js'
import type { EntryTypeName } from '../node.js'
import type { Daemon } from './daemon.js'
import { PROTOCOL_VERSION, encodeEntry } from './protocol.js'
import type { RpcServer } from './server.js'

type Params = Record<string, unknown>

/** Register every method of `daemon` on `server`. */
export function registerMethods (server: RpcServer, daemon: Daemon): void {
  server.register('hello', async (p) => {
    if (p.protocol !== PROTOCOL_VERSION) {
      throw err('INVALID_ARGUMENT', `the daemon speaks protocol ${PROTOCOL_VERSION} and this client ${String(p.protocol)}: restart the daemon with this version of feedchain`)
    }
    return { protocol: PROTOCOL_VERSION, version: daemon.version, pid: process.pid, storage: daemon.storageDir, socket: daemon.socket }
  })

  server.register('chains', async () => {
    await daemon.ready()
    return (await daemon.storage.chains()).map((c) => ({ ...c }))
  })

  server.register('init', async (p) => daemon.create(optionalString(p.name, 'name')))

  server.register('join', async (p) => daemon.join(keyParam(p.key, 'key')))

  server.register('open', async (p) => {
    const c = await daemon.chain(chainParam(p))
    const s = c.node.status()
    return { key: s.key, writerKey: s.writerKey, name: await c.name(), storage: c.storage, keyHex: c.key.toString('hex'), writerKeyHex: c.writerKey.toString('hex') }
  })

  server.register('status', async (p) => (await daemon.chain(chainParam(p))).status())

  server.register('append', async (p) => {
    const c = await daemon.chain(chainParam(p))
    if (!Array.isArray(p.entries) || !p.entries.every((e) => typeof e === 'string')) throw err('INVALID_ARGUMENT', 'entries must be an array of base64 strings')
    return c.append((p.entries as string[]).map((e) => Buffer.from(e, 'base64')))
  })

  server.register('read', async (p, call) => {
    const c = await daemon.chain(chainParam(p))
    const range: ReadRange = entryQuery(p)
    const start = optionalInt(p.start, 'start')
    const end = optionalInt(p.end, 'end')
    const last = optionalInt(p.last, 'last')
    if (start !== undefined) range.start = start
    if (end !== undefined) range.end = end
    if (last !== undefined) range.last = last
    if (p.final === true) range.final = true
    let count = 0
    for await (const e of c.read(range, call.signal)) {
      await call.event(encodeEntry(e))
      count++
    }
    return { count }
  })

  server.register('get', async (p) => {
    const c = await daemon.chain(chainParam(p))
    const e = await c.get(requiredInt(p.position, 'position'))
    return e === null ? null : encodeEntry(e)
  })

  server.register('writers.add', async (p) => {
    const c = await daemon.chain(chainParam(p))
    return c.addWriter(keyParam(p.key, 'key'), { indexer: p.indexer === true })
  })

  server.register('writers.remove', async (p) => {
    const c = await daemon.chain(chainParam(p))
    return c.removeWriter(keyParam(p.key, 'key'))
  })

  server.register('follow', async (p, call) => {
    const c = await daemon.chain(chainParam(p))
    const last = p.last === null || p.last === undefined ? null : requiredInt(p.last, 'last')
    const opts: FollowOptions = { ...entryQuery(p), last, signal: call.signal }
    const start = optionalInt(p.start, 'start')
    if (start !== undefined) opts.start = start
    if (p.final === true) opts.final = true
    for await (const e of c.follow(opts)) await call.event(encodeEntry(e))
    return null
  })

  server.register('verify', async (p) => (await daemon.chain(chainParam(p))).verify())

  server.register('sync', async (p, call) => {
    const c = await daemon.chain(chainParam(p))
    const timeout = requiredInt(p.timeout, 'timeout')
    return c.sync({ timeout, signal: call.signal, onProgress: (x) => { void call.event(x) } })
  })
}

/** The entry filters of `read` and `follow`: `writer` (hex), `types`, `sinceTime` (ms). */
function entryQuery (p: Params): EntryQuery {
  const q: EntryQuery = {}
  if (p.writer !== undefined && p.writer !== null) q.writer = keyParam(p.writer, 'writer').toString('hex')
  if (p.types !== undefined && p.types !== null) {
    if (!Array.isArray(p.types) || !p.types.every((t) => typeof t === 'string' && ENTRY_TYPES.includes(t as EntryTypeName))) throw err('INVALID_ARGUMENT', `types must be an array of ${ENTRY_TYPES.join(', ')}`)
    q.types = p.types as EntryTypeName[]
  }
  const sinceTime = optionalInt(p.sinceTime, 'sinceTime')
  if (sinceTime !== undefined) q.sinceTime = sinceTime
  return q
}

const ENTRY_TYPES: EntryTypeName[] = ['data', 'file', 'membership', 'join', 'genesis']

/** The `chain` param: a hex key, or null for the storage's first chain (also used by file-methods.ts). */
export function chainParam (p: Params): Buffer | null {
  if (p.chain === undefined || p.chain === null) return null
  return keyParam(p.chain, 'chain')
}

function keyParam (v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw err('INVALID_ARGUMENT', `${what} must be 64 lowercase hex characters`)
  return Buffer.from(v, 'hex')
}

/** An optional string param (also used by file-methods.ts). */
export function optionalString (v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw err('INVALID_ARGUMENT', `${what} must be a string`)
  return v
}

/** A whole number ≥ 0 (also used by file-methods.ts). */
export function requiredInt (v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw err('INVALID_ARGUMENT', `${what} must be a whole number ≥ 0`)
  return v
}

function optionalInt (v: unknown, what: string): number | undefined {
  return v === undefined || v === null ? undefined : requiredInt(v, what)
}
