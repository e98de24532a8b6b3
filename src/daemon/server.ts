/**
 * RpcServer: the daemon's side of the socket protocol (protocol.ts). A table of methods, each an
 * async handler; a streaming handler sends events with `call.event()` (which waits while the
 * client is slow to read) and ends by returning its result. A client's `cancel`, or its
 * disconnect, aborts its calls' signals.
 */
import fs from 'node:fs'
import net from 'node:net'
import { err } from '../errors.js'
import { LineReader, encodeError, frame, type Request } from './protocol.js'

/** What a handler gets besides its params. */
export interface Call {
  /** Send one stream event; resolves once the socket can take more. */
  event (value: unknown): Promise<void>
  /** Aborted when the client cancels this call or goes away, or the server closes. */
  readonly signal: AbortSignal
}

/** A method: params in, result out (throw a FeedchainError for an error reply). */
export type Handler = (params: Record<string, unknown>, call: Call) => Promise<unknown>

interface Conn {
  socket: net.Socket
  calls: Map<number, AbortController>
}

/** The socket server of the daemon. */
export class RpcServer {
  private readonly handlers = new Map<string, Handler>()
  private server: net.Server | null = null
  private readonly conns = new Set<Conn>()
  private closed = false

  /** Add a method (later methods replace earlier ones of the same name). */
  register (method: string, handler: Handler): void {
    this.handlers.set(method, handler)
  }

  /** The methods served, sorted. */
  methods (): string[] {
    return [...this.handlers.keys()].sort()
  }

  /** Connected clients. */
  get connections (): number {
    return this.conns.size
  }

  /** Listen on the Unix socket at `path` (the file must not exist), readable by this user only. */
  async listen (path: string): Promise<void> {
    const server = net.createServer((socket) => this.onConnection(socket))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => { server.off('error', reject); resolve() })
    })
    fs.chmodSync(path, 0o600)
  }

  /** Stop accepting, abort every call, close every connection. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const server = this.server
    const done = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()))
    for (const c of this.conns) {
      for (const ac of c.calls.values()) ac.abort()
      c.socket.end()
      // a client that does not read must not hold the daemon's shutdown
      setTimeout(() => c.socket.destroy(), 500).unref()
    }
    await done
  }

  private onConnection (socket: net.Socket): void {
    if (this.closed) { socket.destroy(); return }
    const conn: Conn = { socket, calls: new Map() }
    this.conns.add(conn)
    const reader = new LineReader(
      (value) => this.onRequest(conn, value),
      (e) => { this.send(conn, { id: 0, error: encodeError(err('INVALID_ARGUMENT', 'bad request: ' + e.message)) }); socket.end() },
    )
    socket.on('data', (d: Buffer) => reader.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      this.conns.delete(conn)
      for (const ac of conn.calls.values()) ac.abort()
      conn.calls.clear()
    })
  }

  private onRequest (conn: Conn, value: unknown): void {
    const req = value as Partial<Request> | null
    if (req === null || typeof req !== 'object' || typeof req.id !== 'number' || typeof req.method !== 'string' ||
        (req.params !== undefined && (req.params === null || typeof req.params !== 'object'))) {
      this.send(conn, { id: typeof req?.id === 'number' ? req.id : 0, error: encodeError(err('INVALID_ARGUMENT', 'bad request: expected {id, method, params}')) })
      return
    }
    const id = req.id
    const params = req.params ?? {}
    if (req.method === 'cancel') {
      const target = params.id
      if (typeof target === 'number') conn.calls.get(target)?.abort()
      this.send(conn, { id, result: true })
      return
    }
    const handler = this.handlers.get(req.method)
    if (handler === undefined) {
      this.send(conn, { id, error: encodeError(err('USAGE', `the daemon has no method "${req.method}" (is it an older version? restart it)`)) })
      return
    }
    if (conn.calls.has(id)) {
      this.send(conn, { id, error: encodeError(err('INVALID_ARGUMENT', `request id ${id} is already in use`)) })
      return
    }
    const ac = new AbortController()
    conn.calls.set(id, ac)
    const call: Call = {
      signal: ac.signal,
      event: async (event) => {
        if (ac.signal.aborted) return
        if (!this.send(conn, { id, event })) await drained(conn.socket, ac.signal)
      },
    }
    handler(params, call).then(
      (result) => { this.send(conn, { id, result: result ?? null }) },
      (e: unknown) => { this.send(conn, { id, error: encodeError(e) }) },
    ).finally(() => { conn.calls.delete(id) })
  }

  /** Write one line; false if the socket's buffer is full (or the socket is gone). */
  private send (conn: Conn, msg: unknown): boolean {
    const s = conn.socket
    if (s.destroyed || !s.writable) return false
    return s.write(frame(msg))
  }
}

function drained (socket: net.Socket, signal: AbortSignal): Promise<void> {
  if (socket.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done)
      socket.off('close', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    socket.once('drain', done)
    socket.once('close', done)
    signal.addEventListener('abort', done, { once: true })
  })
}
