// Loading the feedchain library under test (the compiled dist/), with a clear message when
// it is not built yet.
import fs from 'node:fs'
import path from 'node:path'
import { BENCH_DIR } from './child.js'

// BENCH_DIST points at another build (e.g. a second checkout's dist/index.js) to compare.
export const DIST_ENTRY = path.resolve(process.env.BENCH_DIST || path.join(BENCH_DIR, '..', 'dist', 'index.js'))

/** Imports dist/index.js; throws a readable error if it is missing (run `npx tsc -p .`). */
export async function loadFeedchain () {
  if (!fs.existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} not found: build first (npx tsc -p .)`)
  const mod = await import(DIST_ENTRY)
  if (typeof mod.ChainNode !== 'function') throw new Error('dist/index.js does not export ChainNode')
  return mod
}

/** Writers of a status that are indexers. */
export function indexerCount (status) {
  return (status.writers || []).filter((w) => w.indexer && !w.removed).length
}
