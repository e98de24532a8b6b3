/**
 * `log -f`: the chain as `log` prints it, then live. Every final position is yielded as final
 * exactly once, in position order; an entry first seen pending is yielded once as pending
 * (final: false, a preview: its place may still change) and again when it becomes final.
 */
import type { ChainEntry, ChainNode } from '../node.js'
import type { FollowOptions } from './chain-api.js'

/** Pending previews are skipped while more entries than this are pending (each scan reads them all). */
export const MAX_PENDING_PREVIEW = 10_000

function entryId (e: ChainEntry): string {
  return `${e.writer.toString('hex')}:${e.seq}:${e.index}`
}

/** Follow a node's chain until `opts.signal` aborts. */
export async function * followNode (node: ChainNode, opts: FollowOptions): AsyncGenerator<ChainEntry> {
  const { signal } = opts
  let dirty = false
  let wake: (() => void) | null = null
  const onUpdate = (): void => {
    dirty = true
    const w = wake
    wake = null
    w?.()
  }
  node.on('update', onUpdate)
  node.on('close', onUpdate)
  signal.addEventListener('abort', onUpdate)
  try {
    if (node.opened === false) await node.ready()
    const pendingSeen = new Set<string>()
    const finalBefore = node.finalLength
    const start = opts.last === null ? 0 : Math.max(0, node.length - opts.last)
    let nextFinal = -1
    let lastLength = 0
    if (opts.last !== 0) {
      for await (const e of node.read({ start })) {
        if (signal.aborted) return
        if (e.final) nextFinal = e.position + 1
        else pendingSeen.add(entryId(e))
        yield e
      }
    }
    if (nextFinal < 0) nextFinal = finalBefore
    lastLength = node.length

    while (!signal.aborted && node.closing === null) {
      if (!dirty) await new Promise<void>((resolve) => { wake = resolve })
      if (signal.aborted || node.closing !== null) break
      dirty = false
      const finalLength = node.finalLength
      if (finalLength > nextFinal) {
        for await (const e of node.read({ start: nextFinal, end: finalLength, final: true })) {
          if (signal.aborted) return
          pendingSeen.delete(entryId(e))
          nextFinal = e.position + 1
          yield e
        }
      }
      // new pending entries show up as a longer chain; only then scan the tail for them
      const length = node.length
      if (length !== lastLength && length - node.finalLength <= MAX_PENDING_PREVIEW) {
        lastLength = length
        for await (const e of node.read({ start: nextFinal })) {
          if (signal.aborted) return
          if (e.final) continue // final since: the next round yields it in order
          const id = entryId(e)
          if (pendingSeen.has(id)) continue
          pendingSeen.add(id)
          yield e
        }
      }
    }
  } finally {
    node.off('update', onUpdate)
    node.off('close', onUpdate)
    signal.removeEventListener('abort', onUpdate)
  }
}
