/**
 * The CLI's one error-to-exit-code policy.
 *
 *   FeedchainError      → `feedchain: <message> [CODE]`, exit code from ERROR_CODES (1–7)
 *   usage errors        → the same, as FeedchainError USAGE (exit 2)
 *   damaged storage     → STORAGE_CORRUPT (RocksDB checksum/parse errors on open or read)
 *   anything else       → `feedchain: internal error: <message> [INTERNAL]`, exit 70 (EX_SOFTWARE)
 *   SIGINT / SIGTERM    → `feedchain: interrupted`, exit 130 / 143 (128 + signal number);
 *                         for `daemon` a signal is the normal stop: `daemon stopped`, exit 0
 *
 * Always exactly one line on stderr; the stack only with FEEDCHAIN_DEBUG=1.
 */
import { FeedchainError } from '../errors.js'

/** Maps an error of a library module to its coded error, or returns null (storage.ts's storageFault). */
export type ErrorRecognizer = (e: unknown) => FeedchainError | null

// The CLI loads the storage module only when a command opens a storage (start-up time, see
// command.ts); loading it adds its recognizer here (library.ts). Before that no storage error
// can have happened.
const recognizers = new Set<ErrorRecognizer>()

/** From now on, describeError reports the errors `fn` recognizes with their code. */
export function recognizeErrors (fn: ErrorRecognizer): void {
  recognizers.add(fn)
}

/** Exit code of an unexpected (programmer or environment) error: sysexits EX_SOFTWARE. */
export const EXIT_INTERNAL = 70

/** Exit codes after a signal: 128 + the signal number, as shells report them. */
export const EXIT_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const

/** The line printed for an error and the process exit code it maps to. */
export interface ErrorReport {
  line: string
  exitCode: number
  /** extra detail printed only with FEEDCHAIN_DEBUG=1 */
  debug: string | null
}

/** Map any thrown value to its one-line report and exit code. */
export function describeError (e: unknown): ErrorReport {
  if (e instanceof FeedchainError) {
    return { line: `feedchain: ${oneLine(e.message)} [${e.code}]`, exitCode: e.exitCode, debug: stackOf(e) }
  }
  // damaged storage found on a read, after the store opened: say so, not "internal error"
  for (const recognize of recognizers) {
    const coded = recognize(e)
    if (coded !== null) return describeError(coded)
  }
  const msg = e instanceof Error ? e.message : String(e)
  return { line: `feedchain: internal error: ${oneLine(msg)} [INTERNAL]`, exitCode: EXIT_INTERNAL, debug: stackOf(e) }
}

/** Write the report for `e` to `stderr` and return the exit code. */
export function reportError (e: unknown, stderr: NodeJS.WritableStream, env: NodeJS.ProcessEnv): number {
  const r = describeError(e)
  let text = r.line + '\n'
  if (env.FEEDCHAIN_DEBUG === '1' && r.debug !== null) text += r.debug + '\n'
  stderr.write(text)
  return r.exitCode
}

/** Write the interrupted line and return the exit code for `signal`. */
export function reportSignal (signal: keyof typeof EXIT_SIGNAL, stderr: NodeJS.WritableStream): number {
  stderr.write('feedchain: interrupted\n')
  return EXIT_SIGNAL[signal]
}

function oneLine (s: string): string {
  const t = s.replace(/\s*\n\s*/g, ' ').trim()
  return t.length === 0 ? 'unknown error' : t
}

function stackOf (e: unknown): string | null {
  if (!(e instanceof Error) || e.stack === undefined) return null
  let s = e.stack
  if (e.cause !== undefined) s += '\ncaused by: ' + (e.cause instanceof Error && e.cause.stack !== undefined ? e.cause.stack : String(e.cause))
  return s
}
