// Temporary directories for stores, removed on normal exit and on SIGINT/SIGTERM.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const dirs = new Set()
let hooked = false

/** Creates a fresh temporary directory (under $BENCH_TMPDIR or the OS temp dir). */
export function tmpDir (label = 'bench') {
  hook()
  const base = process.env.BENCH_TMPDIR || os.tmpdir()
  const dir = fs.mkdtempSync(path.join(base, `feedchain-bench-${label}-`))
  dirs.add(dir)
  return dir
}

/** Removes one directory created by tmpDir (idempotent). */
export function removeTmpDir (dir) {
  dirs.delete(dir)
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Removes every directory created by tmpDir that is still around. */
export function cleanupTmpDirs () {
  for (const dir of dirs) removeTmpDir(dir)
}

function hook () {
  if (hooked) return
  hooked = true
  process.once('exit', cleanupTmpDirs)
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      cleanupTmpDirs()
      process.exit(130)
    })
  }
}
