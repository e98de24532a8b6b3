/**
 * What the file commands (`send`, `files`, `get`) can do with one chain's files. Two
 * implementations, like ChainApi: LocalFiles (ChainFiles in this process) and RemoteFiles (the
 * same calls through a running daemon). The daemon serves its file methods with LocalFiles, so
 * both paths run the same code, raise the same errors and print the same output.
 */
import type { FileInfo, GetResult } from '../files/chain-files.js'
import type { OnFileProgress } from '../files/progress.js'

/**
 * What `send` reads: a path (absolute: a daemon's working directory is not the caller's) or a
 * byte stream (stdin).
 */
export type SendSource =
  | { path: string }
  | { stream: AsyncIterable<Uint8Array | string> }

/** Options of FilesApi.send. */
export interface FilesSendOptions {
  /** name recorded in the chain (default: the path's base name; required for a stream) */
  name?: string | undefined
  /** MIME type recorded (default: from the name's extension) */
  mime?: string | undefined
  signal?: AbortSignal | undefined
  onProgress?: OnFileProgress | undefined
}

/** Options of FilesApi.get. Times in ms. */
export interface FilesGetOptions {
  /**
   * Absolute target path, or an absolute directory ending in the path separator to write
   * `<name>` in (resolved by the caller: a daemon's working directory is not the caller's).
   */
  output: string
  /** give up after this long without finding the file, or without a new block */
  timeout: number
  signal?: AbortSignal | undefined
  onProgress?: OnFileProgress | undefined
  /** called once if the file is not known here yet and the chain's peers are being synced first */
  onSyncing?: (() => void) | undefined
}

/** One chain's files, in this process or in the daemon. */
export interface FilesApi {
  /** The files of the chain, oldest first, with how much of each is stored here. */
  list (): Promise<FileInfo[]>
  /** Add a file to the chain (see ChainFiles.send); resolves once its FILE entry is appended. */
  send (source: SendSource, opts: FilesSendOptions): Promise<FileInfo>
  /**
   * Download a file by id, id prefix or name (see ChainFiles.get). If no file matches, sync with
   * the chain's peers first (needs a network): UNKNOWN_FILE once caught up without it.
   */
  get (query: string, opts: FilesGetOptions): Promise<GetResult>
  /** Release what this object opened (the daemon's files stay open in the daemon). */
  close (): Promise<void>
}
