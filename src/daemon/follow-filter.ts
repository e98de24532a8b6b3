/**
 * `log -f` with filters (`--writer`, `--type`, `--since`, `--final`): follow.ts yields every
 * position once final, in order, plus pending previews; this keeps the entries that match. The
 * listing before the live part starts at the last N *matching* entries, found by a reverse
 * filtered read, so `-n` counts what is printed.
 */
import type { ChainEntry, ChainNode, EntryFilter } from '../node.js'
import type { EntryQuery, FollowOptions } from './chain-api.js'
import { followNode } from './follow.js'

/** The node-side filter of a query (writer key as bytes), or undefined if it filters nothing. */
export function entryFilter (q: EntryQuery): EntryFilter | undefined {
  const f: EntryFilter = {}
  if (q.writer !== undefined) f.writer = Buffer.from(q.writer, 'hex')
  if (q.types !== undefined) f.types = q.types
  if (q.sinceTime !== undefined) f.sinceTime = q.sinceTime
  return Object.keys(f).length === 0 ? undefined : f
}

/** Follow a node's chain (see followNode), keeping only the entries `opts` asks for. */
export async function * followFiltered (node: ChainNode, opts: FollowOptions): AsyncGenerator<ChainEntry> {
  const filter = entryFilter(opts)
  const from = opts.start ?? 0
  const finalOnly = opts.final === true
  if (filter === undefined && from === 0 && !finalOnly) {
    yield * followNode(node, opts)
    return
  }
  if (node.opened === false) await node.ready()
  let start = from
  if (opts.last !== null && opts.last > 0) {
    // the oldest of the last N matching entries (fewer match: all of them, from `from`)
    for await (const e of node.read({ start: from, reverse: true, limit: opts.last, final: finalOnly, filter })) start = e.position
  }
  // No await between reading the length and starting followNode (its first step is synchronous
  // up to where it reads the length too), so both see the same chain and it starts at `start`.
  const last = opts.last === 0 ? 0 : Math.max(0, node.length - start)
  const writer = filter?.writer === undefined ? null : Buffer.from(filter.writer)
  const types = filter?.types === undefined ? null : new Set<string>(filter.types)
  const sinceTime = filter?.sinceTime ?? null
  for await (const e of followNode(node, { last: opts.last === null && start === 0 ? null : last, signal: opts.signal })) {
    if (finalOnly && !e.final) continue
    if (e.position < from) continue
    if (writer !== null && !e.writer.equals(writer)) continue
    if (types !== null && !types.has(e.type)) continue
    if (sinceTime !== null && e.time < sinceTime) continue
    yield e
  }
}
