// A faulty link between two replication streams in one process: the bytes one end writes reach
// the other end through a wire that throttles them to a byte rate, delays them (latency with
// jitter, order kept), stalls now and then, and dies at random points, after which the link
// opens a fresh pair of streams (a reconnect) after a pause.
//
// Why loss is modelled as death: a replication stream is a reliable, encrypted byte stream (TCP
// or UDX underneath), so a lost packet never reaches it as a missing byte; it shows up as a
// stall (retransmission) or, when the path is gone, as the connection dying with whatever was
// in flight lost. A dropped or flipped byte inside the stream would only be a decrypt failure
// (that fault is net-adversary's garbage peer, not a bad link).
//
// Everything random comes from the `rng` given (see prng below), so a seed replays the same
// schedule of faults: the k-th connection lives as long and may carry as many bytes, the j-th
// stall comes as late and lasts as long. What the streams send in between, and so where exactly
// a death cuts, still depends on timing.
import { EventEmitter } from 'node:events'
import { rng } from './chain-dag.js'

/** mulberry32 (chain-dag's rng) with the helpers the link and the tests use. */
export function prng (seed) {
  const next = rng(seed)
  return {
    next,
    /** uniform in [min, max) */
    range: (min, max) => min + next() * (max - min),
    /** integer in [min, max] */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    /** a child generator: its own stream of numbers, still fixed by the parent's seed */
    fork: () => prng(Math.floor(next() * 4294967296))
  }
}

/** A seed from the environment variable `name` (to replay a run), else a fresh one. */
export function seedFrom (name) {
  const v = process.env[name]
  if (v !== undefined && v !== '') {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`)
    return n >>> 0
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0
}

const KiB = 1024

/**
 * Default link: 512 KiB/s each way, 20 ms ± 15 ms one way, a connection lives 0.8–3 s or until
 * a random byte budget runs out, reconnects after 50–400 ms, and a stall of 100–500 ms starts
 * every ~1.5 s on average (one direction or both).
 */
export const DEFAULTS = {
  rate: 512 * KiB,
  latency: 20,
  jitter: 15,
  /** bytes per slice: chunks are cut to this size so the throttle paces them and a death can cut inside one */
  slice: 16 * KiB,
  /** [min, max] ms a connection lives; null: only the byte budget kills it */
  life: [800, 3000],
  /** [min, max] bytes (both directions) a connection carries before it dies mid-slice; null: no byte budget */
  budget: [256 * KiB, 2048 * KiB],
  /** [min, max] ms the link stays down after a death */
  reconnect: [50, 400],
  /** mean ms between stalls (gaps uniform in [0.5, 1.5] × this); 0: no stalls */
  stallEvery: 1500,
  /** [min, max] ms a stall lasts */
  stall: [100, 500],
  /** [min, max] ms between the deaths of the two ends (a half-dead connection: one side keeps writing into nothing) */
  skew: [0, 150]
}

/**
 * One faulty link. `open()` returns a fresh pair `[a, b]` of raw replication streams (e.g.
 * `[x.replicate(true), y.replicate(false)]`); the link pumps a's output into b and b's into a,
 * and calls open() again after each death. Call start(); close() tears everything down.
 *
 * Counters (`stats`): connections opened, deaths (`disconnects`), deaths that cut a slice in
 * the middle (`midMessage`: the receiver got part of a frame), deaths by byte budget or by
 * time, stalls and their total ms, connections an end closed by itself (`ended`: not a fault the
 * link injected), bytes delivered, bytes that had to wait for the throttle and
 * for how long, the most bytes delivered in a one-second window of one direction
 * (`peakWindow`), and errors the streams reported by themselves (not caused by the
 * link destroying them).
 */
export class LossyLink extends EventEmitter {
  constructor (open, opts = {}) {
    super()
    if (typeof open !== 'function') throw new Error('LossyLink needs open() returning [a, b]')
    if (opts.rng === undefined) throw new Error('LossyLink needs a seeded rng (prng(seed))')
    this.open = open
    this.opts = { ...DEFAULTS, ...opts }
    this.name = opts.name ?? 'link'
    // one stream per kind of fault, drawn a fixed number of times per connection or stall, so a
    // seed replays the same schedule (connection k lives as long, stall j comes as late) whatever
    // the traffic did in between; only the jitter stream is drawn per slice
    this._deathRng = opts.rng.fork()
    this._stallRng = opts.rng.fork()
    this._jitterRng = opts.rng.fork()
    this.closed = false
    this.conn = null
    this.stats = {
      connections: 0,
      disconnects: 0,
      midMessage: 0,
      byBudget: 0,
      byTime: 0,
      stalls: 0,
      stallMs: 0,
      ended: 0,
      bytes: 0,
      slices: 0,
      throttledBytes: 0,
      throttleWaitMs: 0,
      peakWindow: 0,
      errors: []
    }
    this._reconnectTimer = null
    this._stallTimer = null
    this._stalledUntil = [0, 0]
    // per direction: delivered bytes in the current one-second window
    this._window = [{ start: 0, bytes: 0 }, { start: 0, bytes: 0 }]
  }

  /** Open the first connection and start the stall schedule. */
  start () {
    this._connect()
    this._scheduleStall()
    return this
  }

  /** Tear down: no more reconnects, both ends destroyed. */
  close () {
    if (this.closed) return
    this.closed = true
    clearTimeout(this._reconnectTimer)
    clearTimeout(this._stallTimer)
    const c = this.conn
    this.conn = null
    if (c !== null) this._teardown(c, false)
  }

  // ------------------------------------------------------------------ connections

  _connect () {
    this._reconnectTimer = null
    if (this.closed) return
    let ends
    try {
      ends = this.open()
    } catch (e) {
      // a node closing under us: nothing left to link
      this.stats.errors.push('open failed: ' + e.message)
      this.close()
      return
    }
    const [a, b] = ends
    const o = this.opts
    const d = this._deathRng
    // this connection's fate: six draws, always
    const fate = { budget: d.next(), life: d.next(), wire: d.next(), cut: d.next(), reconnect: d.next(), skew: d.next() }
    const between = ([min, max], x) => min + x * (max - min)
    const conn = {
      id: ++this.stats.connections,
      a,
      b,
      dead: false,
      killing: false,
      fate,
      budget: o.budget === null ? Infinity : Math.floor(between(o.budget, fate.budget)),
      reconnect: between(o.reconnect, fate.reconnect),
      skew: between(o.skew, fate.skew),
      lifeTimer: null,
      wires: null,
      listeners: []
    }
    conn.wires = [this._wire(conn, 0, a, b), this._wire(conn, 1, b, a)]
    for (const [end, other] of [[a, b], [b, a]]) {
      const onerror = (e) => { if (!conn.killing) this.stats.errors.push(`${this.name}#${conn.id}: ${e?.message ?? e}`) }
      // an end closing by itself (its node closed, or it failed): the other end goes too, and
      // the link reconnects like after any death
      const onclose = () => { if (!conn.killing) this._die(conn, 'closed', other) }
      end.on('error', onerror)
      end.on('close', onclose)
      conn.listeners.push([end, 'error', onerror], [end, 'close', onclose])
    }
    this.conn = conn
    this._armLife(conn)
    this.emit('connect', conn.id)
  }

  _armLife (conn) {
    const life = this.opts.life
    if (life === null || conn.lifeTimer !== null || conn.dead) return
    conn.lifeTimer = setTimeout(() => {
      conn.lifeTimer = null
      // a death by time cuts whatever is in flight: the receiver gets a random part of the
      // slice at the head of a wire (if any), then both ends die
      const busy = conn.wires.filter((w) => w.flight.length > 0)
      let mid = false
      if (busy.length > 0) {
        const w = busy[Math.floor(conn.fate.wire * busy.length)]
        const head = w.flight.shift()
        const cut = Math.floor(1 + conn.fate.cut * (head.data.byteLength - 1))
        if (cut > 0 && cut < head.data.byteLength) {
          this._deliver(w, head.data.subarray(0, cut))
          mid = true
        }
      }
      this.stats.byTime++
      this._die(conn, mid ? 'mid-message' : 'idle')
    }, life[0] + conn.fate.life * (life[1] - life[0]))
  }

  _disarmLife (conn) {
    clearTimeout(conn.lifeTimer)
    conn.lifeTimer = null
  }

  /** A death: both ends destroyed (the second after a small skew), queued bytes lost, reconnect later. */
  _die (conn, why, first = null) {
    if (conn.dead) return
    conn.dead = true
    if (why === 'mid-message') this.stats.midMessage++
    if (why === 'closed') this.stats.ended++
    else this.stats.disconnects++
    this._teardown(conn, true, first)
    if (this.conn === conn) this.conn = null
    this.emit('disconnect', { id: conn.id, why })
    if (this.closed) return
    this._reconnectTimer = setTimeout(() => this._connect(), conn.reconnect)
  }

  _teardown (conn, skewed, first = null) {
    conn.dead = true
    conn.killing = true
    this._disarmLife(conn)
    for (const w of conn.wires) w.stop()
    const [x, y] = first === conn.b ? [conn.b, conn.a] : [conn.a, conn.b]
    x.destroy()
    // the other end learns of the death a little later and writes into nothing meanwhile
    const skew = skewed && !this.closed ? conn.skew : 0
    const finish = () => {
      y.destroy()
      for (const [end, ev, fn] of conn.listeners) end.off(ev, fn)
      // late errors of destroyed ends are the link's doing: swallow them
      x.on('error', () => {})
      y.on('error', () => {})
    }
    if (skew > 0) setTimeout(finish, skew)
    else finish()
  }

  // ------------------------------------------------------------------ stalls

  _scheduleStall () {
    const every = this.opts.stallEvery
    if (!every || this.closed || this._stallTimer !== null) return
    // gaps uniform in [0.5, 1.5] × every: random, but a run of T ms always sees at least
    // T / (1.5 × every) - 1 stalls (exponential gaps left a short run with none now and then,
    // and a test asserting that stalls fired then failed for that seed)
    const r = this._stallRng
    const gap = (0.5 + r.next()) * every
    const length = r.next()
    const which = r.next()
    this._stallTimer = setTimeout(() => {
      this._stallTimer = null
      if (this.closed) return
      const ms = this.opts.stall[0] + length * (this.opts.stall[1] - this.opts.stall[0])
      const dirs = [[0], [1], [0, 1]][Math.floor(which * 3)]
      const until = Date.now() + ms
      for (const d of dirs) this._stalledUntil[d] = Math.max(this._stalledUntil[d], until)
      this.stats.stalls++
      this.stats.stallMs += ms
      this.emit('stall', { ms, dirs })
      this._scheduleStall()
    }, gap)
  }

  // ------------------------------------------------------------------ one direction

  _wire (conn, dir, src, dst) {
    const o = this.opts
    const rate = o.rate
    const burst = Math.max(o.slice, rate / 20) // at most 50 ms worth of bytes at once
    const highWater = Math.max(4 * o.slice, rate / 4)
    const w = {
      dir,
      send: [], // slices read from src, waiting for the throttle
      flight: [], // slices on the wire: { data, at } in arrival order
      queued: 0,
      paused: false,
      tokens: burst,
      refilledAt: Date.now(),
      lastArrival: 0,
      pumpTimer: null,
      deliverTimer: null,
      stopped: false,
      stop: () => {
        w.stopped = true
        clearTimeout(w.pumpTimer)
        clearTimeout(w.deliverTimer)
        w.send.length = 0
        w.flight.length = 0
        src.off('data', ondata)
      }
    }
    const ondata = (chunk) => {
      if (w.stopped) return
      for (let off = 0; off < chunk.byteLength; off += o.slice) {
        const data = chunk.subarray(off, Math.min(chunk.byteLength, off + o.slice))
        w.send.push(data)
        w.queued += data.byteLength
      }
      if (w.queued > highWater && !w.paused) {
        w.paused = true
        src.pause()
      }
      pump()
    }
    // serialization: slices leave at `rate`, then fly for latency ± jitter (never overtaking)
    const pump = () => {
      if (w.stopped || w.pumpTimer !== null) return
      while (w.send.length > 0) {
        const now = Date.now()
        if (this._stalledUntil[dir] > now) {
          w.pumpTimer = setTimeout(() => { w.pumpTimer = null; pump() }, this._stalledUntil[dir] - now)
          return
        }
        const data = w.send[0]
        if (rate > 0) {
          w.tokens = Math.min(burst, w.tokens + ((now - w.refilledAt) / 1000) * rate)
          w.refilledAt = now
          if (w.tokens < data.byteLength) {
            const wait = Math.ceil(((data.byteLength - w.tokens) / rate) * 1000)
            this.stats.throttledBytes += data.byteLength
            this.stats.throttleWaitMs += wait
            w.pumpTimer = setTimeout(() => { w.pumpTimer = null; pump() }, wait)
            return
          }
          w.tokens -= data.byteLength
        }
        w.send.shift()
        const delay = Math.max(0, o.latency + (this._jitterRng.next() * 2 - 1) * o.jitter)
        const at = Math.max(now + delay, w.lastArrival)
        w.lastArrival = at
        w.flight.push({ data, at })
        schedule()
      }
    }
    const schedule = () => {
      if (w.stopped || w.deliverTimer !== null || w.flight.length === 0) return
      const at = Math.max(w.flight[0].at, this._stalledUntil[dir])
      w.deliverTimer = setTimeout(() => { w.deliverTimer = null; arrive() }, Math.max(0, at - Date.now()))
    }
    const arrive = () => {
      const now = Date.now()
      while (!w.stopped && w.flight.length > 0 && w.flight[0].at <= now && this._stalledUntil[dir] <= now) {
        const { data } = w.flight.shift()
        if (data.byteLength > conn.budget) {
          // the byte budget runs out inside this slice: part of it arrives, then the link dies
          const cut = Math.floor(conn.budget)
          if (cut > 0) this._deliver(w, data.subarray(0, cut))
          this.stats.byBudget++
          this._die(conn, cut > 0 ? 'mid-message' : 'idle')
          return
        }
        conn.budget -= data.byteLength
        this._deliver(w, data)
      }
      schedule()
    }
    w.deliverTo = (data) => {
      w.queued -= data.byteLength
      if (!dst.destroyed) dst.write(data)
      if (w.paused && w.queued < highWater / 2 && !w.stopped) {
        w.paused = false
        src.resume()
      }
    }
    src.on('data', ondata)
    return w
  }

  _deliver (w, data) {
    this.stats.bytes += data.byteLength
    this.stats.slices++
    const now = Date.now()
    const win = this._window[w.dir]
    if (now - win.start >= 1000) {
      win.start = now
      win.bytes = 0
    }
    win.bytes += data.byteLength
    if (win.bytes > this.stats.peakWindow) this.stats.peakWindow = win.bytes
    w.deliverTo(data)
  }
}

/** Sum the counters of several links. */
export function totals (links) {
  const sum = { connections: 0, disconnects: 0, midMessage: 0, byBudget: 0, byTime: 0, stalls: 0, stallMs: 0, ended: 0, bytes: 0, slices: 0, throttledBytes: 0, throttleWaitMs: 0, peakWindow: 0, errors: [] }
  for (const l of links) {
    for (const k of Object.keys(sum)) {
      if (k === 'errors') sum.errors.push(...l.stats.errors)
      else if (k === 'peakWindow') sum.peakWindow = Math.max(sum.peakWindow, l.stats.peakWindow)
      else sum[k] += l.stats[k]
    }
  }
  return sum
}
