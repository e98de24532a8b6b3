/**
 * DaemonClient: the CLI's side of the socket protocol (protocol.ts). `probeDaemon` tells a
 * running daemon from a stale socket file (a daemon killed with -9 leaves one) and from none.
 */
import fs from 'node:fs'
import net from 'node:net'
import { err } from '../errors.js'
import { LineReader, PROTOCOL_VERSION, decodeError, frame, socketPath, type Reply } from './protocol.js'

/** What `hello` returns. */
export interface DaemonInfo {
  protocol: number
  version: string
  pid: number
  storage: string
  socket: string
}

/** How long a daemon has to answer `hello` (ms): a stopped (SIGSTOP) daemon accepts but never answers. */
export const HELLO_TIMEOUT_MS = 5000

/** Resolves when `p` settles or after `ms`, whichever is first. */
async function settled (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | null = null
  await Promise.race([p.catch(() => {}), new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })])
  if (timer !== null) clearTimeout(timer)
}

/** Events queued before the socket is paused (backpressure for streams read slowly). */
const HIGH_WATER = 1024

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  onEvent: ((ev: unknown) => void) | null
}

/** Result of probing a storage directory for a daemon. */
export type Probe =
  | { state: 'running', client: DaemonClient }
  | { state: 'absent' }
  /** a socket file nobody listens on (the daemon died without removing it) */
  | { state: 'stale', path: string }

/**
 * Look for a daemon serving `storageDir`: connect to its socket and say hello. Errors other than
 * "no socket" and "nobody listening" are thrown (a daemon that does not answer: TIMEOUT). A
 * connection closed before `hello` is answered counts as nobody listening: the kernel still
 * accepts connections for a daemon killed with -9 until it has closed its socket, and a stopping
 * daemon closes its clients.
 */
export async function probeDaemon (storageDir: string): Promise<Probe> {
  const path = socketPath(storageDir)
  let client: DaemonClient
  try {
    client = await DaemonClient.connect(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent' }
    // ECONNRESET: the socket was being closed under the connect (a daemon killed with -9)
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return { state: 'stale', path }
    throw err('INVALID_ARGUMENT', `cannot connect to the daemon socket ${path}: ${(e as Error).message}`, e)
  }
  try {
    await client.hello()
  } catch (e) {
    const lost = client.lost
    client.close()
    if (lost) return { state: 'stale', path }
    throw e
  }
  return { state: 'running', client }
}

/** Remove a stale socket file. Call only while holding the storage lock (so no daemon can be listening). */
export function removeStaleSocket (path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path)
  } catch {}
}

/** One connection to a daemon. */
export class DaemonClient {
  /** set by hello() */
  info: DaemonInfo | null = null
  /** the socket path */
  readonly path: string
  private readonly socket: net.Socket
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private closedError: Error | null = null
  private lostConnection = false
  private closedHere = false

  private constructor (socket: net.Socket, path: string) {
    this.socket = socket
    this.path = path
    const reader = new LineReader((v) => this.onReply(v as Reply), (e) => this.fail(err('CLOSED', 'bad reply from the daemon: ' + e.message)))
    socket.on('data', (d: Buffer) => reader.push(d))
    socket.on('error', (e) => this.fail(err('CLOSED', 'lost the connection to the daemon: ' + e.message, e), true))
    socket.on('close', () => this.fail(err('CLOSED', 'the daemon closed the connection (stopped or crashed); the last request may or may not have been carried out'), true))
  }

  /** True if the connection failed because the daemon's end closed or broke (not a bad reply, not close()). */
  get lost (): boolean {
    return this.lostConnection
  }

  /** Connect to the socket at `path` (rejects with the socket error, e.g. ENOENT, ECONNREFUSED). */
  static connect (path: string): Promise<DaemonClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new DaemonClient(socket, path))
      })
    })
  }

  /** Say hello (checks the protocol version); TIMEOUT if the daemon does not answer. */
  async hello (): Promise<DaemonInfo> {
    let timer: NodeJS.Timeout | null = null
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(err('TIMEOUT', `the daemon at ${this.path} does not answer within ${HELLO_TIMEOUT_MS / 1000} s (is it stopped?)`)), HELLO_TIMEOUT_MS)
    })
    try {
      const info = await Promise.race([this.request<DaemonInfo>('hello', { protocol: PROTOCOL_VERSION }), timeout])
      this.info = info
      return info
    } finally {
      if (timer !== null) clearTimeout(timer)
    }
  }

  /** One request; resolves with its result, rejects with the daemon's error (same code). */
  request<T> (method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.call<T>(method, params, null)
  }

  /**
   * A streaming request: events are yielded as they arrive; the generator returns the result.
   * Breaking out of the loop (or aborting `signal`) cancels the call on the daemon. With
   * `settleMs`, an abort waits up to that long for the daemon to finish the call before it
   * throws ABORTED (a cancelled `get` has removed its temporary file when the command exits).
   */
  async * stream<E, T = unknown> (method: string, params: Record<string, unknown>, signal?: AbortSignal, opts: { settleMs?: number } = {}): AsyncGenerator<E, T> {
    const queue: E[] = []
    let wake: (() => void) | null = null
    let done = false
    let result: T | undefined
    let failure: Error | null = null
    const poke = (): void => { const w = wake; wake = null; w?.() }
    let id = 0
    const p = this.call<T>(method, params, (ev) => {
      queue.push(ev as E)
      if (queue.length >= HIGH_WATER) this.socket.pause()
      poke()
    }, (callId) => { id = callId })
    p.then((r) => { result = r; done = true; poke() }, (e: Error) => { failure = e; done = true; poke() })
    const onAbort = (): void => { this.cancel(id); poke() }
    signal?.addEventListener('abort', onAbort, { once: true })
    let finished = false
    try {
      while (true) {
        if (queue.length > 0) {
          const ev = queue.shift()!
          if (queue.length < HIGH_WATER / 2 && this.socket.isPaused()) this.socket.resume()
          yield ev
          continue
        }
        if (done) break
        if (signal?.aborted === true) {
          if (opts.settleMs !== undefined) {
            this.cancel(id) // again, in case the signal was aborted before the call started
            await settled(p, opts.settleMs)
          }
          throw err('ABORTED', 'interrupted')
        }
        await new Promise<void>((resolve) => { wake = resolve })
      }
      finished = true
      if (failure !== null) throw failure
      return result as T
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (this.socket.isPaused()) this.socket.resume()
      if (!finished && !done) this.cancel(id)
    }
  }

  /** Close the connection (pending calls fail with CLOSED). */
  close (): void {
    this.closedHere = true
    this.socket.end()
    this.socket.destroy()
  }

  private call<T> (method: string, params: Record<string, unknown>, onEvent: ((ev: unknown) => void) | null, onId?: (id: number) => void): Promise<T> {
    if (this.closedError !== null) return Promise.reject(this.closedError)
    const id = this.nextId++
    onId?.(id)
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent })
      this.socket.write(frame({ id, method, params }))
    })
  }

  private cancel (id: number): void {
    if (id === 0 || !this.pending.has(id) || this.closedError !== null) return
    this.socket.write(frame({ id: this.nextId++, method: 'cancel', params: { id } }))
  }

  private onReply (r: Reply): void {
    if (r === null || typeof r !== 'object' || typeof r.id !== 'number') return
    const p = this.pending.get(r.id)
    if (p === undefined) return
    if (r.event !== undefined && r.result === undefined && r.error === undefined) {
      p.onEvent?.(r.event)
      return
    }
    this.pending.delete(r.id)
    if (r.error !== undefined) p.reject(decodeError(r.error))
    else p.resolve(r.result)
  }

  private fail (e: Error, lost = false): void {
    if (this.closedError !== null) return
    this.lostConnection = lost && !this.closedHere
    this.closedError = e
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
    this.socket.destroy()
  }
}
