// A tiny deterministic discrete-event network of ChainEngines: each peer owns one writer feed
// and one engine, blocks flood to connected peers with random delays (so they arrive out of
// order), and indexers follow the engine's ack policy (ackDecision) with a debounce and a
// bounded leader wait, and append their JOIN when needsJoin says so. Time is virtual (units of
// one message delay); nothing sleeps.
//
// Blocks are recorded in a generator-compatible DAG ({ keys, W, feeds[w][seq] = { vc, input } })
// so FinalChecker (chain-check.js) checks finality, causality and exactly-once on every peer.
import { ChainEngine } from '../../dist/chain/engine.js'
import { CHAIN_KEY, blockHash, hash, randomKeys, rng } from './chain-dag.js'
import { FinalChecker } from './chain-check.js'

class Queue {
  constructor () { this.a = [] }
  get size () { return this.a.length }
  push (x) {
    const a = this.a; a.push(x); let i = a.length - 1
    while (i > 0) { const p = (i - 1) >> 1; if (cmp(a[p], a[i]) <= 0) break; [a[p], a[i]] = [a[i], a[p]]; i = p }
  }
  pop () {
    const a = this.a; const top = a[0]; const last = a.pop()
    if (a.length) {
      a[0] = last; let i = 0
      for (;;) {
        const l = 2 * i + 1; const r = l + 1; let m = i
        if (l < a.length && cmp(a[l], a[m]) < 0) m = l
        if (r < a.length && cmp(a[r], a[m]) < 0) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i], a[m]]; i = m
      }
    }
    return top
  }
}
function cmp (x, y) { return x.t - y.t || x.n - y.n }

/**
 * A network of `n` peers (peer 0 is the chain creator). Options: seed, delay [lo, hi],
 * debounce, leaderWait, initialIndexers (peers 0..k-1 are epoch 0's indexers; default: the
 * creator alone). Peer i's key is the i-th smallest.
 */
export function createSim ({ n, initialIndexers = 1, seed = 1, delay = [0.5, 1.5], debounce = 0.2, leaderWait = 2, tMax = 1000, maxEvents = 2e5 } = {}) {
  const R = rng(seed * 7919 + 17)
  const keys = randomKeys(R, n).sort()
  const dag = { keys, W: n, feeds: Array.from({ length: n }, () => []), letters: 'abcdefghij'.split('') }
  const check = new FinalChecker(dag)
  const Q = new Queue()
  let now = 0
  let seq = 0
  let events = 0
  const stats = { acks: 0, data: 0, joins: 0, blocks: 0, stoppedEarly: false }
  const at = (t, fn) => Q.push({ t, n: seq++, fn })

  const peers = keys.map((key, id) => {
    const P = {
      id,
      key,
      engine: new ChainEngine({ chainKey: CHAIN_KEY, creator: keys[0], hash, indexers: keys.slice(0, initialIndexers) }),
      stored: Array.from({ length: n }, () => new Map()),
      online: true,
      crashed: false,
      group: 0,
      ackTimer: false,
      waiting: false,
      tok: 0,
      waitKey: null,
      waitUntil: 0,
      joinPending: false,
      cur: check.cursor('peer ' + id)
    }
    return P
  })
  const up = (a, b) => a !== b && a.online && b.online && !a.crashed && !b.crashed && a.group === b.group
  const d = () => delay[0] + R() * (delay[1] - delay[0])

  function evaluate (P) {
    // add every stored block whose causal links are all added (the node's "evaluable")
    let changed = true
    while (changed) {
      changed = false
      for (let w = 0; w < n; w++) {
        for (;;) {
          const next = P.stored[w].get(P.engine.length(keys[w]))
          if (!next || !P.engine.canAdd(next)) break
          P.cur.addedAt.set(next.writer + ':' + next.seq, P.cur.count)
          P.engine.add(next)
          changed = true
        }
      }
    }
  }

  function afterChange (P) {
    if (P.crashed) return
    evaluate(P)
    P.cur.seen(P.engine.process())
    if (P.engine.needsJoin(P.key) && !P.joinPending) {
      P.joinPending = true
      at(now, () => { P.joinPending = false; if (P.engine.needsJoin(P.key)) append(P, 'JOIN') })
    }
    maybeAck(P)
  }

  // the node's ack timers: one pending timer per peer (a token invalidates stale ones)
  function schedule (P, t) {
    const tok = ++P.tok
    P.ackTimer = true
    at(t, () => { if (P.tok === tok) fire(P) })
  }

  function maybeAck (P) {
    if (P.crashed || !P.online) return
    // a pending debounce stands; a leader wait is re-evaluated on every change (the anchor may
    // just have arrived)
    if (P.ackTimer && !P.waiting) return
    const dec = P.engine.ackDecision(P.key)
    if (dec.kind === 'none') {
      if (P.waiting) { P.waiting = false; P.ackTimer = false; P.tok++ }
      return
    }
    if (dec.kind === 'now') { P.waiting = false; schedule(P, now) } else if (dec.kind === 'debounce') { P.waiting = false; schedule(P, now + debounce) } else { P.waiting = true; schedule(P, now + leaderWaitLeft(P, dec)) }
  }

  function leaderWaitLeft (P, dec) {
    const key = P.engine.epochNumber + ':' + dec.round
    if (P.waitKey !== key) { P.waitKey = key; P.waitUntil = now + leaderWait }
    return Math.max(0, P.waitUntil - now)
  }

  function fire (P) {
    P.ackTimer = false
    if (P.crashed || !P.online) return
    const dec = P.engine.ackDecision(P.key)
    if (dec.kind === 'none') { P.waiting = false; return }
    if (dec.kind === 'wait-anchor' && leaderWaitLeft(P, dec) > 0) {
      P.waiting = true
      schedule(P, P.waitUntil)
      return
    }
    P.waiting = false
    append(P, 'ACK')
  }

  function store (P, b) {
    const m = P.stored[keys.indexOf(b.writer)]
    if (m.has(b.seq)) return false
    m.set(b.seq, b)
    return true
  }

  function deliver (P, b) {
    if (!P.online || P.crashed) return
    if (!store(P, b)) return
    for (const Q2 of peers) if (up(P, Q2)) send(P, Q2, b)
    afterChange(P)
  }

  function send (P, Q2, b) {
    at(now + d(), () => { if (up(P, Q2)) deliver(Q2, b) })
  }

  /** Appends a block by peer P: kind DATA | ACK | JOIN | MEMB (ops: [{ op, key, indexer }]). */
  function append (P, kind, ops = []) {
    if (P.crashed) return null
    const w = P.id
    const { heads, clock } = P.engine.nextBlock(P.key)
    const s = P.engine.length(P.key)
    const entries = kind === 'ACK' ? 0 : Math.max(1, ops.length)
    const input = {
      writer: P.key,
      seq: s,
      heads,
      entries,
      membership: ops.map((op, index) => ({ ...op, index })),
      join: kind === 'JOIN',
      hash: blockHash(stats.blocks),
      claimedClock: clock
    }
    // the true vector clock, for the checker
    const vc = new Int32Array(n)
    const prev = s > 0 ? dag.feeds[w][s - 1] : null
    if (prev) vc.set(prev.vc)
    vc[w] = s
    for (const h of heads) {
      const u = keys.indexOf(h.writer)
      const y = dag.feeds[u][h.length - 1]
      for (let x = 0; x < n; x++) if (x !== w) vc[x] = Math.max(vc[x], x === u ? h.length : y.vc[x])
    }
    dag.feeds[w][s] = { vc, input, w, seq: s, type: kind, name: dag.letters[w] + s }
    stats.blocks++
    if (kind === 'ACK') stats.acks++
    if (kind === 'DATA') stats.data++
    if (kind === 'JOIN') stats.joins++
    store(P, input)
    for (const Q2 of peers) if (up(P, Q2)) send(P, Q2, input)
    afterChange(P)
    return input
  }

  /** Re-sends everything each connected pair lacks (reconnect), then re-evaluates acks. */
  function reconnectAll () {
    for (const P of peers) {
      for (const Q2 of peers) {
        if (!up(P, Q2)) continue
        for (let w = 0; w < n; w++) for (const b of P.stored[w].values()) if (!Q2.stored[w].has(b.seq)) send(P, Q2, b)
      }
    }
    for (const P of peers) if (!P.crashed && P.online) maybeAck(P)
  }

  function run () {
    while (Q.size) {
      const ev = Q.pop()
      now = ev.t
      if (now > tMax || ++events > maxEvents) { stats.stoppedEarly = true; break }
      ev.fn()
    }
    stats.endTime = now
    return stats
  }

  /** Non-ACK blocks peer P has added that are not final. */
  function pendingData (P) {
    let c = 0
    for (let w = 0; w < n; w++) {
      for (let s = P.engine.finalBlocks(keys[w]); s < P.engine.length(keys[w]); s++) {
        const b = P.stored[w].get(s)
        if (b && (b.entries > 0 || b.membership.length > 0)) c++
      }
    }
    return c
  }

  return { peers, keys, dag, check, stats, at, append, deliver, reconnectAll, run, pendingData, get now () { return now } }
}

/**
 * Set-up used by most scenarios: peer 0 adds peers 1..nIdx-1 as indexers and the rest as
 * writers at t=0; by t=`settle` their JOINs are final and the acks have gone quiet.
 */
export function withMembers (sim, nIdx, { settle = 40 } = {}) {
  const [a] = sim.peers
  sim.at(0, () => {
    const ops = sim.peers.slice(1).map((P) => ({ op: 'add', key: P.key, indexer: P.id < nIdx }))
    if (ops.length) sim.append(a, 'MEMB', ops)
  })
  return settle
}

/**
 * A random network run: 1-4 indexers and 0-2 plain writers added from genesis, random appends,
 * partitions, offline periods, crashes of a minority of indexers, membership changes by the
 * creator, then a heal. Returns the sim after it ran to quiescence (or its time limit).
 */
export function randomRun (seed) {
  const R = rng(seed * 104729 + 11)
  const nIdx = R.int(1, 4)
  const n = nIdx + R.int(0, 2)
  const sim = createSim({ n, seed, delay: [0.2, 0.5 + R() * 2], debounce: R() * 0.6, leaderWait: 1 + R() * 2, tMax: 3000, maxEvents: 5e5 })
  const settle = withMembers(sim, nIdx, { settle: 60 })
  const tActive = 40 + R() * 40
  const rate = 0.1 + R() * 0.4
  const t0 = settle
  for (const P of sim.peers) {
    let t = t0 + R() * 5
    while (t < t0 + tActive) {
      sim.at(t, () => { if (!P.crashed) sim.append(P, 'DATA') })
      t += -Math.log(1 - R()) / (rate / n)
    }
  }
  const windows = R.int(0, 2)
  for (let k = 0; k < windows; k++) {
    const a = t0 + R() * tActive; const b = a + R() * tActive / 2
    const groups = sim.peers.map(() => (R() < 0.5 ? 1 : 2))
    sim.at(a, () => sim.peers.forEach((P, i) => { P.group = groups[i] }))
    sim.at(b, () => { sim.peers.forEach((P) => { P.group = 0 }); sim.reconnectAll() })
  }
  const offline = R.int(0, 2)
  for (let k = 0; k < offline; k++) {
    const P = R.pick(sim.peers); const a = t0 + R() * tActive; const b = a + R() * tActive / 2
    sim.at(a, () => { P.online = false })
    sim.at(b, () => { P.online = true; sim.reconnectAll() })
  }
  // crash a minority of the indexers for good (keeps a quorum alive)
  const crash = R.int(0, Math.floor((nIdx - 1) / 2))
  const victims = R.shuffle(sim.peers.slice(1, nIdx)).slice(0, crash)
  for (const P of victims) sim.at(t0 + R() * tActive, () => { P.crashed = true })
  // membership changes by the creator: remove or (re-)add a writer; indexers too when no
  // indexer crashed (removing one next to a crashed one could leave no quorum: a stall, not a bug)
  const changes = n > 1 ? R.int(0, 3) : 0
  const pool = crash === 0 ? sim.peers.slice(1) : sim.peers.slice(nIdx)
  for (let k = 0; k < changes && pool.length; k++) {
    const P = R.pick(pool)
    const indexer = R() < 0.5
    sim.at(t0 + R() * tActive, () => {
      const E = sim.peers[0].engine
      const op = E.isMember(P.key) && (E.isIndexer(P.key) || !indexer) ? { op: 'remove', key: P.key } : { op: 'add', key: P.key, indexer }
      sim.append(sim.peers[0], 'MEMB', [op])
    })
  }
  sim.at(t0 + tActive, () => { for (const P of sim.peers) { P.online = true; P.group = 0 } sim.reconnectAll() })
  sim.run()
  return sim
}
