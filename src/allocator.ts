/**
 * The process-wide allocator setting that keeps large transfers' memory flat (glibc only).
 *
 * Moving a file through Hypercore allocates a buffer per block (1 MiB) on several threads:
 * the replication stream, RocksDB's memtables and its flush. glibc's dynamic mmap threshold
 * soon moves such buffers from mmap into per-thread malloc arenas, where freed memory stays
 * resident: a 1 GiB download peaked at 280 MB RSS with 8 MiB memtables, 178–191 MB with the
 * threshold fixed at 256 KiB (bench/README.md, transfer). src/native/malloc.c does the mallopt
 * call; `npm install` builds it, and without a compiler it is skipped and this does nothing.
 *
 * The CLI (and so the daemon) calls tuneAllocator() at start. A program that embeds the library
 * and moves large files can call it too; it affects the whole process, which is why the library
 * never calls it on its own. Setting MALLOC_MMAP_THRESHOLD_ in the environment (glibc reads it
 * at start) does the same without the native part, and tuneAllocator() then leaves it alone.
 */
import { createRequire } from 'node:module'

/** Allocations from this size up get their own mapping, returned to the kernel when freed. */
export const MMAP_THRESHOLD = 256 * 1024

/** What tuneAllocator() did. */
export interface AllocatorTuning {
  /** true: the threshold is fixed at `threshold` bytes for this process */
  tuned: boolean
  threshold: number | null
  /** why not, when not tuned */
  reason?: string
}

let done: AllocatorTuning | null = null

/**
 * Fix glibc's mmap threshold at MMAP_THRESHOLD for this process (once; later calls return the
 * first result). Never throws. FEEDCHAIN_MALLOC_TUNE=0 turns it off.
 */
export function tuneAllocator (): AllocatorTuning {
  if (done !== null) return done
  done = tune()
  return done
}

function tune (): AllocatorTuning {
  if (process.env.FEEDCHAIN_MALLOC_TUNE === '0') return { tuned: false, threshold: null, reason: 'FEEDCHAIN_MALLOC_TUNE=0' }
  const own = process.env.MALLOC_MMAP_THRESHOLD_
  if (own !== undefined && own !== '') return { tuned: false, threshold: Number(own), reason: 'MALLOC_MMAP_THRESHOLD_ is set in the environment' }
  if (process.platform !== 'linux') return { tuned: false, threshold: null, reason: `not glibc (${process.platform})` }
  let addon: { setMmapThreshold (bytes: number): boolean }
  try {
    addon = createRequire(import.meta.url)('./native/feedchain_malloc.node')
  } catch {
    return { tuned: false, threshold: null, reason: 'the native part was not built (npm install needs a C compiler for it)' }
  }
  return addon.setMmapThreshold(MMAP_THRESHOLD)
    ? { tuned: true, threshold: MMAP_THRESHOLD }
    : { tuned: false, threshold: null, reason: 'mallopt refused (not glibc?)' }
}
