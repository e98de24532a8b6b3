// Fair sending (src/net/fair-send.ts): once a connection's stream is full, each Protomux channel
// queues on its own and the channels take turns, so a chain message is not held behind a burst
// of file blocks. Unit tests against a stream whose room the test controls, and a seeded property
// test: every message arrives exactly once, each channel's messages (with its open and close) keep
// their order, nothing crosses a barrier, and every writer told to wait hears a 'drain'.
import test from 'brittle'
import { EventEmitter } from 'node:events'
import { fairSend, channelOf, QUANTUM, CHANNEL_HWM } from '../dist/net/fair-send.js'

const KiB = 1024
const MiB = 1024 * KiB

/** compact-encoding uint */
function uint (n) {
  if (n < 0xfd) return [n]
  if (n < 0x10000) return [0xfd, n & 0xff, n >> 8]
  return [0xfe, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, Math.floor(n / 0x1000000)]
}

let nextLabel = 0
const labels = new WeakMap()
/** A Protomux frame of `size` bytes on channel `ch` (a message: local id, type, payload). */
function frame (ch, size, label = `m${nextLabel++}`) {
  const head = [...uint(ch), 1]
  const b = Buffer.alloc(Math.max(size, head.length))
  b.set(head)
  labels.set(b, label)
  return b
}
/** A control frame: channel 0, `type`, then `id` (open 1 and close 3 name a local id). */
function control (type, id, label) {
  const b = Buffer.from([0, type, ...uint(id), 0, 0])
  labels.set(b, label)
  return b
}

/**
 * A stream that holds at most `room` messages until flush() puts them on the wire, and emits
 * 'drain' once empty after a write that returned false, as a streamx Writable does.
 */
class Pipe extends EventEmitter {
  constructor (room = 1) {
    super()
    this.room = room
    this.held = []
    this.wire = []
    this.needDrain = false
    this.ended = false
  }

  write (data) {
    if (this.ended) throw new Error('write after end')
    this.held.push(data)
    const ok = this.held.length < this.room
    if (!ok) this.needDrain = true
    return ok
  }

  end () { this.ended = true }

  /** Put up to `n` held messages on the wire; 'drain' if that emptied a full stream. */
  flush (n = Infinity) {
    while (n-- > 0 && this.held.length > 0) this.wire.push(labels.get(this.held.shift()))
    if (this.held.length === 0 && this.needDrain) {
      this.needDrain = false
      this.emit('drain')
    }
  }

  /** Flush until nothing is held or queued. */
  flushAll () {
    for (let i = 0; i < 100000 && this.held.length > 0; i++) this.flush(1)
  }
}

test('fair-send: channelOf reads the channel of data and control frames', (t) => {
  t.is(channelOf(frame(1, 10)), 1, 'one-byte id')
  t.is(channelOf(frame(300, 10)), 300, 'three-byte id')
  t.is(channelOf(frame(70000, 10)), 70000, 'five-byte id')
  t.is(channelOf(control(1, 5)), 5, 'an open belongs to the channel it opens')
  t.is(channelOf(control(3, 300)), 300, 'a close belongs to the channel it closes')
  t.ok(channelOf(control(2, 5)) < 0, 'a reject names the remote\'s id: no channel of ours')
  t.ok(channelOf(control(0, 5)) < 0, 'a batch is a barrier')
  t.ok(channelOf(Buffer.alloc(0)) < 0, 'an empty frame is a barrier')
  t.ok(channelOf(Buffer.from([0xfd, 1])) < 0, 'a cut-short id is a barrier')
  t.ok(channelOf(Buffer.from([0, 1])) < 0, 'an open without its id is a barrier')
})

test('fair-send: a small message overtakes the file blocks queued before it; each channel keeps its order', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  t.is(pipe.write(frame(2, MiB, 'A1')), true, 'the first block goes to the stream, which is now full')
  t.is(pipe.write(frame(2, MiB, 'A2')), false, 'a block queued behind it: its writer waits')
  pipe.write(frame(2, MiB, 'A3'))
  t.is(pipe.write(frame(1, 100, 'S1')), true, 'a small message on another channel: its writer goes on')
  t.is(pipe.write(frame(1, 100, 'S2')), true)
  pipe.write(frame(2, 100, 'A4'))
  pipe.flushAll()
  t.alike(pipe.wire, ['A1', 'S1', 'S2', 'A2', 'A3', 'A4'])
  t.is(pipe.__fairSend.overtook, 2, 'two messages went ahead of older ones')
  t.is(pipe.__fairSend.waitingBytes, 0)
})

test('fair-send: a channel of small messages is told to wait once it has CHANNEL_HWM bytes queued', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  pipe.write(frame(2, MiB, 'A1'))
  const replies = []
  for (let i = 0; i < CHANNEL_HWM / (4 * KiB) + 1; i++) replies.push(pipe.write(frame(1, 4 * KiB)))
  t.alike(replies.slice(0, -2), replies.slice(0, -2).map(() => true), 'true while under the mark')
  t.alike(replies.slice(-1), [false], 'false once the channel has the mark queued')
  pipe.flushAll()
  t.is(pipe.wire.length, replies.length + 1)
})

test('fair-send: channels of large messages share the stream by bytes', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  pipe.write(frame(9, 1, 'first'))
  pipe.write(frame(9, 1, 'fill')) // the stream holds one: from here on everything queues
  for (let i = 0; i < 4; i++) pipe.write(frame(2, 4 * QUANTUM, `big${i}`))
  for (let i = 0; i < 8; i++) pipe.write(frame(3, QUANTUM, `q${i}`))
  pipe.flushAll()
  const order = pipe.wire.filter((l) => l.startsWith('big') || l.startsWith('q'))
  // deficit round robin: channel 3 sends a quantum per turn, channel 2 one 4-quantum block per 4 turns
  t.alike(order, ['q0', 'q1', 'q2', 'big0', 'q3', 'q4', 'q5', 'q6', 'big1', 'q7', 'big2', 'big3'])
})

test('fair-send: a channel\'s open and close keep their place among its messages', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  pipe.write(frame(4, 10, 'x'))
  pipe.write(frame(3, MiB, 'c3-block'))
  pipe.write(control(3, 3, 'c3-close'))
  pipe.write(control(1, 3, 'c3-open-again')) // Protomux reuses a freed local id
  pipe.write(frame(3, 10, 'c3-new'))
  pipe.write(control(1, 5, 'c5-open'))
  pipe.write(frame(5, 10, 'c5-msg'))
  pipe.flushAll()
  const c3 = pipe.wire.filter((l) => l.startsWith('c3'))
  t.alike(c3, ['c3-block', 'c3-close', 'c3-open-again', 'c3-new'], 'channel 3 in the order written')
  t.ok(pipe.wire.indexOf('c5-open') < pipe.wire.indexOf('c5-msg'), 'an open goes before its channel\'s message')
  t.ok(pipe.wire.indexOf('c5-msg') < pipe.wire.indexOf('c3-block'), 'and both overtake the block of channel 3')
})

test('fair-send: nothing crosses a barrier', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  pipe.write(frame(1, 10, 'x'))
  pipe.write(frame(2, MiB, 'before-big'))
  pipe.write(frame(1, 10, 'before-small'))
  pipe.write(control(0, 1, 'batch'))
  pipe.write(frame(1, 10, 'after-small'))
  pipe.flushAll()
  t.alike(pipe.wire, ['x', 'before-small', 'before-big', 'batch', 'after-small'])
})

test('fair-send: writers told to wait hear a drain, also when the stream takes the rest without filling', (t) => {
  const pipe = new Pipe(1)
  let drains = 0
  // registered first, as Protomux's listener is: it writes while the stream drains
  pipe.on('drain', () => {
    drains++
    if (drains === 1) t.is(pipe.write(frame(2, MiB, 'B')), false, 'written during the drain: queued')
  })
  fairSend(pipe)
  pipe.write(frame(2, MiB, 'A1'))
  t.is(pipe.write(frame(2, MiB, 'A2')), false)
  pipe.room = 10 // the link got faster: the stream will take A2 and B without filling up
  pipe.flush()
  t.is(drains, 2, 'the stream drained once; fair-send told the waiting writer a second time')
  t.is(pipe.write(frame(2, 10, 'C')), true, 'nothing queued: a write goes straight to the stream')
  t.alike(pipe.held.map((b) => labels.get(b)), ['A2', 'B', 'C'])
  t.is(CHANNEL_HWM <= MiB, true)
})

test('fair-send: end waits until everything queued is sent', (t) => {
  const pipe = new Pipe(1)
  fairSend(pipe)
  pipe.write(frame(2, MiB, 'A1'))
  pipe.write(frame(2, MiB, 'A2'))
  pipe.write(frame(1, 10, 'S'))
  pipe.end()
  t.is(pipe.ended, false, 'not ended while messages wait')
  pipe.flushAll()
  t.is(pipe.ended, true)
  t.alike(pipe.wire, ['A1', 'S', 'A2'])
})

test('fair-send: a closed connection drops its queue', (t) => {
  const pipe = new Pipe(1)
  const stats = fairSend(pipe)
  pipe.write(frame(2, MiB, 'A1'))
  pipe.write(frame(2, MiB, 'A2'))
  t.is(stats.waitingBytes, MiB)
  pipe.emit('close')
  t.is(stats.waitingBytes, 0)
  t.is(fairSend(pipe), stats, 'installing twice changes nothing')
})

/** mulberry32 */
function prng (seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = seed
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

test('fair-send: property: seeded random traffic keeps every ordering promise', (t) => {
  const SEEDS = Number(process.env.FEEDCHAIN_FUZZ_SEEDS || 300)
  let failures = 0
  for (let seed = 1; seed <= SEEDS && failures < 3; seed++) {
    const rnd = prng(seed)
    const pick = (n) => Math.floor(rnd() * n)
    const pipe = new Pipe(1 + pick(3))
    let drains = 0
    pipe.on('drain', () => { drains++ })
    fairSend(pipe)
    const written = [] // { label, key, barrier }
    let lastFalse = -1
    let drainsAtLastFalse = 0
    for (let op = 0; op < 200; op++) {
      const r = rnd()
      let buf
      let key
      let barrier = false
      const label = `s${seed}-${op}`
      if (r < 0.05) { buf = control(0, 1, label); barrier = true } else if (r < 0.12) {
        key = 1 + pick(4)
        buf = control(rnd() < 0.5 ? 1 : 3, key, label)
      } else {
        key = 1 + pick(4)
        buf = frame(key, rnd() < 0.3 ? 4 * KiB + pick(300 * KiB) : 8 + pick(500), label)
      }
      written.push({ label, key, barrier })
      if (!pipe.write(buf)) { lastFalse = op; drainsAtLastFalse = drains }
      if (rnd() < 0.4) pipe.flush(pick(3))
    }
    pipe.flushAll()
    const pos = new Map(pipe.wire.map((l, i) => [l, i]))
    const problems = []
    if (pipe.wire.length !== written.length || pos.size !== written.length) problems.push(`${pipe.wire.length} on the wire, ${written.length} written`)
    const lastOf = new Map()
    let lastBarrier = -1
    for (const w of written) {
      const p = pos.get(w.label)
      if (p === undefined) { problems.push(`${w.label} lost`); continue }
      if (w.key !== undefined) {
        if (lastOf.has(w.key) && lastOf.get(w.key) > p) problems.push(`${w.label} overtook an older message of channel ${w.key}`)
        lastOf.set(w.key, p)
      }
      if (p < lastBarrier) problems.push(`${w.label} crossed a barrier`)
      if (w.barrier) {
        for (const v of written) {
          if (v === w) break
          if (pos.get(v.label) > p) problems.push(`${v.label} was sent after the barrier ${w.label} written after it`)
        }
        lastBarrier = p
      }
    }
    if (lastFalse >= 0 && drains === drainsAtLastFalse) problems.push('a writer told to wait never heard a drain')
    if (pipe.__fairSend.waitingBytes !== 0) problems.push(`${pipe.__fairSend.waitingBytes} bytes still counted as waiting`)
    if (problems.length > 0) {
      failures++
      t.fail(`seed ${seed}: ${problems.slice(0, 3).join('; ')}`)
    }
  }
  t.is(failures, 0, `${SEEDS} seeds of 200 writes`)
})
