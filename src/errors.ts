/** Every error feedchain raises on bad input or a failed operation: one class, a stable code. */

/** The single table of error codes: code → [exit code, default one-line message]. */
export const ERROR_CODES = {
  // usage and input (exit 2)
  USAGE: [2, 'invalid usage'],
  INVALID_KEY: [2, 'invalid key'],
  DISCOVERY_KEY_GIVEN: [2, 'that is a discovery key, not a chain key'],
  EMPTY_ENTRY: [2, 'entry is empty'],
  ENTRY_TOO_LARGE: [2, 'entry is larger than the maximum entry size'],
  BATCH_TOO_LARGE: [2, 'batch is larger than the maximum block size'],
  INVALID_NUMBER: [2, 'not a valid number'],
  INVALID_POSITION: [2, 'no entry at that position'],
  INVALID_ARGUMENT: [2, 'invalid argument'],
  // storage (exit 3)
  NO_CHAIN: [3, 'no chain in this storage: run `feedchain init` or `feedchain join <key>` first'],
  CHAIN_EXISTS: [3, 'a chain already exists in this storage'],
  STORAGE_MISSING: [3, 'storage directory does not exist'],
  STORAGE_NOT_DIRECTORY: [3, 'storage path is not a directory'],
  STORE_LOCKED: [3, 'storage is locked by another feedchain process'],
  STORAGE_CORRUPT: [3, 'storage is corrupt'],
  STORAGE_COPIED: [3, 'storage was copied or restored from elsewhere'],
  UNKNOWN_CHAIN: [3, 'unknown chain'],
  // membership and writing (exit 4)
  NOT_WRITER: [4, 'this user is not a writer of the chain'],
  NOT_INDEXER: [4, 'only an indexer can change membership'],
  ALREADY_WRITER: [4, 'key is already a writer'],
  NOT_A_MEMBER: [4, 'key is not a writer of the chain'],
  LAST_INDEXER: [4, 'the last indexer cannot be removed'],
  WRITER_FORKED: [4, 'writer feed has forked (equivocation)'],
  // wire and data (exit 5)
  DECODE_FAILED: [5, 'block does not decode'],
  UNSUPPORTED_VERSION: [5, 'unsupported block version'],
  // lifecycle (exit 1)
  CLOSED: [1, 'chain node is closed'],
  TIMEOUT: [6, 'timed out'],
  // verify (exit 7): the storage opened, but an audit found damaged or inconsistent data
  VERIFY_FAILED: [7, 'verify found problems in the stored chain'],
  ABORTED: [1, 'aborted'],
  REBUILD_NEEDED: [1, 'consensus state must be rebuilt from the feeds'],
} as const satisfies Record<string, readonly [number, string]>

/** A stable error code from the table. */
export type ErrorCode = keyof typeof ERROR_CODES

/** The one error class feedchain throws for expected failures; `code` is stable, tests assert on it. */
export class FeedchainError extends Error {
  readonly code: ErrorCode
  override readonly cause?: unknown

  constructor (code: ErrorCode, message?: string, cause?: unknown) {
    super(message ?? ERROR_CODES[code][1])
    this.name = 'FeedchainError'
    this.code = code
    if (cause !== undefined) this.cause = cause
  }

  /** Process exit code the CLI uses for this error. */
  get exitCode (): number {
    return ERROR_CODES[this.code][0]
  }
}

/** Shorthand factory: `throw err('INVALID_KEY', 'chain key must be 32 bytes')`. */
export function err (code: ErrorCode, message?: string, cause?: unknown): FeedchainError {
  return new FeedchainError(code, message, cause)
}

/** True if `e` is a FeedchainError (optionally with the given code). */
export function isFeedchainError (e: unknown, code?: ErrorCode): e is FeedchainError {
  return e instanceof FeedchainError && (code === undefined || e.code === code)
}
