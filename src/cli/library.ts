/**
 * The library's heavy modules as the CLI loads them: when a command needs them, never at start
 * (`--version`, `--help` and completion load none of them; see command.ts). Loading the storage
 * module also teaches exit.ts to report damaged storage as STORAGE_CORRUPT.
 */
import { recognizeErrors } from './exit.js'

/** storage.ts: Corestore, Hypercore, Hyperbee and RocksDB behind it. */
export async function loadStorage (): Promise<typeof import('../storage.js')> {
  const m = await import('../storage.js')
  recognizeErrors(m.storageFault)
  return m
}

let nodeModule: Promise<typeof import('../node.js')> | null = null

/**
 * node.ts: ChainNode, its engine and view. Context starts loading it as it opens a storage (every
 * command that opens one opens a node next), so the loading overlaps RocksDB opening the store:
 * `log -n 20` 131 ms instead of 148 ms from loading the storage module to a ready node (medians of 7).
 */
export function loadNode (): Promise<typeof import('../node.js')> {
  nodeModule ??= import('../node.js')
  return nodeModule
}
