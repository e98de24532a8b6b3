// A UDP relay on 127.0.0.1 that holds every datagram for a fixed time before passing it on: a
// link with a round trip of 2 x `delayMs`, for the latency benchmark (this machine has no
// netem qdisc, and loopback round trips stay under a millisecond).
//
// One relay joins two UDP endpoints on 127.0.0.1: what comes from `a` goes to `b` and the
// other way. Both point their UDX streams at the relay's port. Nothing is dropped or reordered
// here; the kernel may still drop when a socket buffer is full, and UDX retransmits as on any link.
import dgram from 'node:dgram'

const HOST = '127.0.0.1'

/**
 * Start a relay between ports `a` and `b` on 127.0.0.1 (either may be set later with
 * `connect(a, b)`). Resolves { port, datagrams, close() }.
 */
export async function startDelayProxy ({ delayMs, a = 0, b = 0 }) {
  if (!(delayMs >= 0)) throw new Error(`delayMs must be >= 0, got ${delayMs}`)
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 })
  const ends = { a, b }
  const timers = new Set()
  let datagrams = 0
  let closed = false
  socket.on('message', (msg, from) => {
    if (from.address !== HOST) return
    const to = from.port === ends.a ? ends.b : from.port === ends.b ? ends.a : 0
    if (to === 0) return
    datagrams++
    // Node keeps timers of one duration in one list, so a timer per datagram costs O(1)
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!closed) socket.send(msg, to, HOST)
    }, delayMs)
    timers.add(timer)
  })
  await new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, HOST, () => { socket.off('error', reject); resolve() })
  })
  socket.on('error', () => {}) // a send to an endpoint that went away: the stream is gone too
  return {
    port: socket.address().port,
    get datagrams () { return datagrams },
    connect (pa, pb) { ends.a = pa; ends.b = pb },
    async close () {
      closed = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      await new Promise((resolve) => socket.close(resolve))
    }
  }
}
