// A UDP relay on 127.0.0.1 that holds every datagram for a fixed time before passing it on: a
// link with a round trip of 2 x `delayMs`, for the latency benchmark (this machine has no
// netem qdisc, and loopback round trips stay under a millisecond). With `rate` it is also a
// narrow link: each direction sends at most `rate` bytes/s, queueing up to `queueBytes` (a
// router's buffer; datagrams beyond it are dropped, as there).
//
// One relay joins two UDP endpoints on 127.0.0.1: what comes from `a` goes to `b` and the
// other way. Both point their UDX streams at the relay's port. Nothing is reordered here; the
// kernel may still drop when a socket buffer is full, and UDX retransmits as on any link.
//
// Used by bench/latency.js (BENCH_LATENCY_RATE_MB sets the rate), and for the slow-link
// measurement in docs/architecture.md ("Chain messages and file blocks on one connection").
import dgram from 'node:dgram'

const HOST = '127.0.0.1'

/**
 * One end of a link through the relay: a UDX socket bound to 127.0.0.1 (`port`), and
 * `open(isInitiator, id, remoteId, relayPort)`, which points a UDX stream at the relay and runs
 * @hyperswarm/secret-stream over it (what Hyperswarm does once connected). `close()` closes the
 * socket.
 */
export async function udxEndpoint () {
  const { default: UDX } = await import('udx-native')
  const { default: NoiseSecretStream } = await import('@hyperswarm/secret-stream')
  const udx = new UDX()
  const socket = udx.createSocket()
  socket.bind(0, HOST)
  return {
    port: socket.address().port,
    open (isInitiator, id, remoteId, relayPort) {
      const raw = udx.createStream(id)
      raw.connect(socket, remoteId, relayPort, HOST)
      const stream = new NoiseSecretStream(isInitiator, raw)
      stream.on('error', () => {})
      return { raw, stream }
    },
    async close () { await socket.close() }
  }
}

/**
 * Start a relay between ports `a` and `b` on 127.0.0.1 (either may be set later with
 * `connect(a, b)`). Resolves { port, datagrams, dropped, connect(a, b), close() }.
 */
export async function startDelayProxy ({ delayMs, a = 0, b = 0, rate = 0, queueBytes = 256 * 1024 }) {
  if (!(delayMs >= 0)) throw new Error(`delayMs must be >= 0, got ${delayMs}`)
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 })
  const ends = { a, b }
  const timers = new Set()
  let datagrams = 0
  let dropped = 0
  let closed = false

  const later = (msg, to) => {
    // Node keeps timers of one duration in one list, so a timer per datagram costs O(1)
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!closed) socket.send(msg, to, HOST)
    }, delayMs)
    timers.add(timer)
  }

  // one bottleneck per direction: a FIFO drained at `rate`
  const lanes = new Map()
  const lane = (to) => {
    let l = lanes.get(to)
    if (l === undefined) {
      l = { queue: [], bytes: 0, freeAt: 0, timer: null }
      lanes.set(to, l)
    }
    return l
  }
  const drain = (to, l) => {
    if (l.timer !== null) timers.delete(l.timer)
    l.timer = null
    const now = performance.now()
    while (l.queue.length > 0 && l.freeAt <= now) {
      const msg = l.queue.shift()
      l.bytes -= msg.byteLength
      l.freeAt = Math.max(l.freeAt, now - 1) + (msg.byteLength * 1000) / rate
      later(msg, to)
    }
    if (l.queue.length > 0 && !closed) {
      l.timer = setTimeout(drain, Math.max(0, l.freeAt - now), to, l)
      timers.add(l.timer)
    }
  }

  socket.on('message', (msg, from) => {
    if (from.address !== HOST) return
    const to = from.port === ends.a ? ends.b : from.port === ends.b ? ends.a : 0
    if (to === 0) return
    datagrams++
    if (rate <= 0) { later(msg, to); return }
    const l = lane(to)
    if (l.bytes + msg.byteLength > queueBytes) { dropped++; return }
    l.queue.push(msg)
    l.bytes += msg.byteLength
    if (l.timer === null) drain(to, l)
  })
  await new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, HOST, () => { socket.off('error', reject); resolve() })
  })
  socket.on('error', () => {}) // a send to an endpoint that went away: the stream is gone too
  return {
    port: socket.address().port,
    get datagrams () { return datagrams },
    get dropped () { return dropped },
    connect (pa, pb) { ends.a = pa; ends.b = pb },
    async close () {
      closed = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      await new Promise((resolve) => socket.close(resolve))
    }
  }
}
