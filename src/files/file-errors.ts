/**
 * Errors of the file layer. Each failure has a precise reason (the code it should carry); until
 * those codes are in the table of src/errors.ts, each reason maps to the closest existing code
 * there, and the reason rides along on the error as `reason`. When the codes land, make this
 * table the identity and nothing else changes (tests assert through it).
 */
import { err, type ErrorCode, type FeedchainError } from '../errors.js'

/** Reason → the code it is thrown with today. */
export const FILE_ERRORS = {
  /** send: the path does not exist */
  FILE_NOT_FOUND: 'INVALID_ARGUMENT',
  /** send: a directory, FIFO, socket or device */
  NOT_A_FILE: 'INVALID_ARGUMENT',
  /** send: permission denied or an I/O error reading it */
  FILE_UNREADABLE: 'INVALID_ARGUMENT',
  /** send: size, mtime or ctime changed while it was read */
  FILE_CHANGED: 'ABORTED',
  /** get: no file in the chain with that id or name */
  UNKNOWN_FILE: 'INVALID_ARGUMENT',
  /** get: an id prefix matching different files */
  AMBIGUOUS_FILE: 'INVALID_ARGUMENT',
  /** get: the output directory is missing, not a directory, or not writable */
  OUTPUT_UNWRITABLE: 'INVALID_ARGUMENT',
  /** get: no space left writing the output (the downloaded blocks stay in the store) */
  DISK_FULL: 'ABORTED',
  /** get: the bytes do not hash to the FILE entry's hash (the author published a wrong hash) */
  HASH_MISMATCH: 'DECODE_FAILED',
  /** a FILE entry whose blob location is impossible (blocks and bytes disagree) */
  INVALID_FILE_ENTRY: 'DECODE_FAILED',
} as const satisfies Record<string, ErrorCode>

/** One of the reasons above. */
export type FileErrorReason = keyof typeof FILE_ERRORS

/** A FeedchainError raised by the file layer, with its precise reason. */
export type FileError = FeedchainError & { reason: FileErrorReason }

/** Create the error for `reason` (its code from FILE_ERRORS). */
export function fileError (reason: FileErrorReason, message: string, cause?: unknown): FileError {
  return Object.assign(err(FILE_ERRORS[reason], message, cause), { reason })
}

/** The reason of a file-layer error, or null. */
export function fileErrorReason (e: unknown): FileErrorReason | null {
  const r = (e as { reason?: unknown } | null)?.reason
  return typeof r === 'string' && r in FILE_ERRORS ? r as FileErrorReason : null
}
