/**
 * Fair sending: the cores replicating over one connection take turns at its send buffer.
 *
 * Hypercore answers every request that arrives while the connection is drained, and the check
 * passes for every request of a burst (none is answered yet). A download window opens its
 * ranges together, so a burst of 1 MiB file blocks lands in the connection's buffer at once, and
 * whatever is written after it waits behind all of it: on a 1 MB/s link the chain's notice of a
 * new entry waited 10 s behind a 10 MiB file (docs/architecture.md, "Chain messages and file
 * blocks on one connection").
 *
 * Here each Protomux channel gets a queue of its own once the connection's stream stops taking
 * writes, and the queues are served by deficit round robin (a quantum of QUANTUM bytes per turn):
 * a channel with small messages sends them all in its turn, a channel of file blocks sends one
 * about every 1 MiB / QUANTUM turns while others are waiting, and alone it sends as fast as
 * before. So a chain message waits behind at most the block already handed to the stream, not
 * behind the whole burst.
 *
 * A write returns false only once its own channel has CHANNEL_HWM bytes queued. Protomux keeps
 * one `drained` flag for all channels and Hypercore answers queued requests only while it is
 * set, one `drain` at a time otherwise; so a chain channel keeps answering while file blocks
 * wait, and the file's channel is still stopped by its own backlog.
 *
 * What keeps the protocol intact:
 * - Messages of one channel keep their order (one FIFO per channel).
 * - A channel's open and close (Protomux control messages, channel 0) join that channel's queue,
 *   by the local id they name, so an open never falls behind its channel's first message and a
 *   close never overtakes its last one; a local id reused after a close keeps the order too.
 * - Any other control message, or a frame this does not parse, is a barrier: everything queued
 *   before it goes first, everything after it waits for it. Protomux batches (channel 0, type
 *   0) hold messages of several channels, so with batching on nothing can be reordered; the
 *   Network only installs this when messages go one by one (unbatch.ts).
 * - A writer told false hears a 'drain': the stream's own, or one emitted here when the queues
 *   empty without filling the stream. `end` waits for the queues to empty.
 */

/** Bytes a channel may send per turn while other channels wait. */
export const QUANTUM = 64 * 1024

/** The part of a connection (a secret-stream) this touches. */
export interface FairStream {
  write: (data: Uint8Array) => boolean
  end: (...args: unknown[]) => unknown
  on: (event: string, fn: (...args: unknown[]) => void) => unknown
}

/** What a connection's fair sender has done (tests and tracing read it as `conn.__fairSend`). */
export interface FairSendStats {
  /** messages that waited in a queue */
  queued: number
  /** messages sent ahead of a message that was queued before them */
  overtook: number
  /** bytes waiting now */
  readonly waitingBytes: number
}

/**
 * A write returns false once its own channel has this many bytes queued here: a channel of
 * small messages (the chain's feeds) keeps writing while file blocks wait.
 */
export const CHANNEL_HWM = 64 * 1024

const BARRIER = -1
const REJECT = -2

/**
 * Make `conn`'s writes fair across Protomux channels (see above). Install it after
 * `store.replicate(conn)` and `unbatch(conn)`. Returns the connection's stats.
 */
export function fairSend (conn: FairStream): FairSendStats {
  const existing = (conn as { __fairSend?: FairSendStats }).__fairSend
  if (existing !== undefined) return existing
  const write = conn.write.bind(conn)
  const end = conn.end.bind(conn)
  /** bytes queued per channel */
  const waiting = new Map<number, number>()
  const stats: FairSendStats = {
    queued: 0,
    overtook: 0,
    get waitingBytes () { let n = 0; for (const b of waiting.values()) n += b; return n }
  }
  ;(conn as { __fairSend?: FairSendStats }).__fairSend = stats

  /** Queues in the order they were opened; a barrier starts a new round set after it. */
  let rounds: Round[] = []
  /** the stream's last write returned false and it has not drained since */
  let blocked = false
  /** a writer was told false since the stream last drained: it waits for a 'drain' */
  let owed = false
  let ownDrain = false
  let seq = 0
  let ending: unknown[] | null = null

  const pump = (): void => {
    for (;;) {
      const round = rounds[0]
      if (round === undefined) break
      const msg = round.next()
      if (msg === null) { rounds.shift(); continue }
      const left = (waiting.get(msg.key) as number) - msg.data.byteLength
      if (left === 0) waiting.delete(msg.key)
      else waiting.set(msg.key, left)
      if (msg.seq !== round.oldest()) stats.overtook++
      round.sent()
      if (!write(msg.data)) { blocked = true; return }
    }
    if (ending !== null) {
      const args = ending
      ending = null
      end(...args)
      return
    }
    if (owed) {
      // the stream took everything without filling up, so it will not emit 'drain' for the
      // writers told to wait (Protomux's `drained`, Hypercore's queued requests): do it here
      owed = false
      ownDrain = true
      try { (conn as unknown as { emit: (e: string) => void }).emit('drain') } finally { ownDrain = false }
    }
  }

  conn.write = (data: Uint8Array): boolean => {
    if (!blocked && rounds.length === 0) {
      // taken even if the stream is now full: the writer may go on until its own channel has
      // something queued here, so a channel of small messages is not held up by the stream
      if (!write(data)) blocked = true
      return true
    }
    const key = channelOf(data)
    const msg = { seq: seq++, key, data }
    stats.queued++
    const mine = (waiting.get(key) ?? 0) + data.byteLength
    waiting.set(key, mine)
    if (key === BARRIER) {
      rounds.push(new Round(msg, true), new Round(null, false))
    } else {
      let last = rounds[rounds.length - 1]
      if (last === undefined || last.barrier) rounds.push(last = new Round(null, false))
      last.add(key, msg)
      if (mine < CHANNEL_HWM) return true
    }
    owed = true
    return false
  }
  conn.end = (...args: unknown[]): unknown => {
    if (rounds.length === 0) return end(...args)
    ending = args
    return conn
  }
  conn.on('drain', () => {
    if (ownDrain) return
    // the stream's own drain reaches its other listeners (Protomux) as well: nothing is owed
    if (rounds.length === 0) owed = false
    blocked = false
    pump()
  })
  conn.on('close', () => { rounds = []; waiting.clear(); ending = null })
  return stats
}

interface Msg { seq: number, key: number, data: Uint8Array }

/** One channel's messages in a round and its deficit-round-robin credit. */
interface Lane { key: number, msgs: Msg[], credit: number }

/** One set of channel queues served by deficit round robin; or a single barrier message. */
class Round {
  readonly barrier: boolean
  private readonly lanes = new Map<number, Lane>()
  /** channels with messages, in turn order; the first one is on its turn */
  private readonly order: Lane[] = []
  private onTurn = false
  private single: Msg | null

  constructor (single: Msg | null, barrier: boolean) {
    this.single = single
    this.barrier = barrier
  }

  add (key: number, msg: Msg): void {
    let lane = this.lanes.get(key)
    if (lane === undefined) {
      lane = { key, msgs: [], credit: 0 }
      this.lanes.set(key, lane)
      this.order.push(lane)
    }
    lane.msgs.push(msg)
  }

  /** The next message to send, or null when this round is empty. */
  next (): Msg | null {
    if (this.barrier) return this.single
    for (;;) {
      const lane = this.order[0]
      if (lane === undefined) return null
      const head = lane.msgs[0] as Msg
      if (!this.onTurn) { lane.credit += QUANTUM; this.onTurn = true }
      // alone, a channel need not wait for its credit to add up
      if (head.data.byteLength <= lane.credit || this.order.length === 1) {
        lane.credit = Math.max(0, lane.credit - head.data.byteLength)
        return head
      }
      this.order.push(this.order.shift() as Lane)
      this.onTurn = false
    }
  }

  /** The message next() returned went to the stream. */
  sent (): void {
    if (this.barrier) { this.single = null; return }
    const lane = this.order[0] as Lane
    lane.msgs.shift()
    if (lane.msgs.length === 0) {
      this.order.shift()
      this.lanes.delete(lane.key)
      this.onTurn = false
    }
  }

  /** The sequence number of the oldest message waiting here. */
  oldest (): number {
    if (this.barrier) return this.single === null ? Infinity : this.single.seq
    let min = Infinity
    for (const lane of this.order) {
      const head = lane.msgs[0]
      if (head !== undefined && head.seq < min) min = head.seq
    }
    return min
  }
}

/**
 * The Protomux channel a frame belongs to: its local channel id; for a channel's open (control
 * type 1) or close (type 3), the id it names; a reject (type 2) names the remote's id and
 * orders nothing of ours. BARRIER for anything else.
 */
export function channelOf (data: Uint8Array): number {
  const s = { i: 0 }
  const id = uint(data, s)
  if (id === null) return BARRIER
  if (id !== 0) return id
  const type = uint(data, s)
  if (type === 1 || type === 3) {
    const local = uint(data, s)
    return local === null || local === 0 ? BARRIER : local
  }
  if (type === 2) return REJECT
  return BARRIER
}

/** compact-encoding's uint at s.i (1, 3, 5 or 9 bytes); null if cut short or above 2^53. */
function uint (b: Uint8Array, s: { i: number }): number | null {
  const at = (k: number): number => b[s.i + k] as number
  if (s.i >= b.byteLength) return null
  const a = at(0)
  const n = a < 0xfd ? 1 : a === 0xfd ? 3 : a === 0xfe ? 5 : 9
  if (s.i + n > b.byteLength) return null
  const u32 = (k: number): number => (at(k) | (at(k + 1) << 8) | (at(k + 2) << 16)) + at(k + 3) * 0x1000000
  let v: number
  if (n === 1) v = a
  else if (n === 3) v = at(1) + at(2) * 0x100
  else if (n === 5) v = u32(1)
  else {
    const hi = u32(5)
    if (hi >= 0x200000) return null
    v = hi * 0x100000000 + u32(1)
  }
  s.i += n
  return v
}
