/**
 * The daemon's file methods (`files.*`, documented in README.md with the others). Each validates
 * its params, then calls the same LocalFiles code the CLI runs without a daemon. Paths arrive
 * absolute: the client resolves them against its own working directory.
 *
 * Stream events: `{type: "progress", ...FileProgress}` for send and get, `{type: "syncing"}` when
 * get syncs with the chain's peers before the file is known, `{type: "upload", ...}` for a send
 * from stdin (see upload.ts). A cancel or a closed connection aborts the transfer: a send clears
 * the blocks it wrote, a get removes its temporary file.
 */
import path from 'node:path'
import { err } from '../errors.js'
import type { FileProgress } from '../files/progress.js'
import type { Daemon } from './daemon.js'
import { chainParam, optionalString, requiredInt } from './methods.js'
import type { Call, RpcServer } from './server.js'
import { UPLOAD_CHUNK_BYTES, UPLOAD_WINDOW, Uploads } from './upload.js'

/** Register the file methods of `daemon` on `server`. */
export function registerFileMethods (server: RpcServer, daemon: Daemon): void {
  const uploads = new Uploads()

  server.register('files.list', async (p) => (await daemon.files(chainParam(p))).list())

  server.register('files.send', async (p, call) => {
    const files = await daemon.files(chainParam(p))
    const opts = {
      name: optionalString(p.name, 'name'),
      mime: optionalString(p.mime, 'mime'),
      signal: call.signal,
      onProgress: progressEvents(call),
    }
    if (p.stdin !== true) return files.send({ path: absolutePath(p.path, 'path') }, opts)
    if (p.path !== undefined) throw err('INVALID_ARGUMENT', 'give path or stdin, not both')
    const upload = uploads.create(call.signal)
    try {
      await call.event({ type: 'upload', upload: upload.id, chunkBytes: UPLOAD_CHUNK_BYTES, window: UPLOAD_WINDOW })
      return await files.send({ stream: upload }, opts)
    } finally {
      uploads.remove(upload)
    }
  })

  server.register('files.write', async (p) => {
    // look up and queue before any await: writes are queued in the order they arrived
    const upload = uploads.get(p.upload)
    if (p.end === true) {
      upload.end()
      return true
    }
    if (typeof p.data !== 'string') throw err('INVALID_ARGUMENT', 'data must be a base64 string')
    await upload.write(Buffer.from(p.data, 'base64'))
    return true
  })

  server.register('files.get', async (p, call) => {
    const files = await daemon.files(chainParam(p))
    if (typeof p.query !== 'string' || p.query.trim() === '') throw err('INVALID_ARGUMENT', 'file id or name is empty')
    return files.get(p.query, {
      output: absolutePath(p.output, 'output'),
      timeout: requiredInt(p.timeout, 'timeout'),
      signal: call.signal,
      onProgress: progressEvents(call),
      onSyncing: () => { void call.event({ type: 'syncing' }) },
    })
  })
}

/** Progress reports as stream events (ChainFiles sends at most ~10 a second). */
function progressEvents (call: Call): (p: FileProgress) => void {
  return (p) => { void call.event({ type: 'progress', ...p }) }
}

function absolutePath (v: unknown, what: string): string {
  if (typeof v !== 'string' || !path.isAbsolute(v)) throw err('INVALID_ARGUMENT', `${what} must be an absolute path (the client resolves it)`)
  return v
}
