/**
 * The daemon's pid file, `<storage>/feedchain.pid`, and what it says about a locked store.
 *
 * A daemon writes it once it holds the storage's lock and removes it when it stops cleanly; a
 * daemon killed with -9 leaves it behind, like its socket. A command that finds the store locked
 * while no daemon answers on the socket reads it: if the process it names still exists, the lock
 * is most likely held by that daemon on its way out — stopping, or killed with -9 and still being
 * torn down by the kernel — so the lock is worth waiting for. (Watched here, polling a daemon's
 * socket and lock after SIGKILL, 12 kills on a loaded 2-core machine: the socket still accepted
 * connections, reset when it closed, for up to 56 ms; in 4 kills it refused connections while the
 * lock was still held, for up to 7.5 ms.) If the file is missing or names a process that is
 * gone, someone else holds the lock (a second command, a program using the library), and waiting
 * would only delay the STORE_LOCKED error.
 */
import fs from 'node:fs'
import path from 'node:path'

/** File name of the pid file inside the storage directory. */
export const PID_FILE_NAME = 'feedchain.pid'

/** How long a command keeps trying to open a store whose lock a daemon on its way out holds, ms. */
export const DAEMON_EXIT_WAIT_MS = 2000

/** First pause between two tries to open a locked store, ms; it doubles after each try... */
export const LOCK_RETRY_MIN_MS = 20
/** ...up to this, ms. */
export const LOCK_RETRY_MAX_MS = 200

/** The pid file of a storage directory. */
export function pidFilePath (storageDir: string): string {
  return path.join(storageDir, PID_FILE_NAME)
}

/** Record `pid` as the daemon holding the storage (call while holding its lock). */
export function writePidFile (storageDir: string, pid = process.pid): void {
  const file = pidFilePath(storageDir)
  // write then rename: a reader never sees a half-written number
  const tmp = `${file}.${pid}.tmp`
  fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 })
  fs.renameSync(tmp, file)
}

/** Remove the pid file if it names `pid` (a clean stop); a file naming another process stays. */
export function removePidFile (storageDir: string, pid = process.pid): void {
  if (readPidFile(storageDir) === pid) {
    try { fs.unlinkSync(pidFilePath(storageDir)) } catch {}
  }
}

/** Remove a pid file a daemon killed with -9 left. Call only while holding the storage's lock (then no daemon runs). */
export function removeStalePidFile (storageDir: string): void {
  try { fs.unlinkSync(pidFilePath(storageDir)) } catch {}
}

/** The pid the file names, or null (no file, or not a pid). */
export function readPidFile (storageDir: string): number | null {
  let text: string
  try {
    text = fs.readFileSync(pidFilePath(storageDir), 'utf8')
  } catch {
    return null
  }
  const pid = Number(text.trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null
}

/** True if a process with this pid exists (a zombie counts: its parent has not collected it yet). */
export function processExists (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
}

/**
 * True if the pid file names a process, other than this one, that still exists. Ask only after
 * the socket did not answer: then that daemon is stopping or being torn down, and its lock is
 * about to be released.
 */
export function daemonLeaving (storageDir: string): boolean {
  const pid = readPidFile(storageDir)
  return pid !== null && pid !== process.pid && processExists(pid)
}
