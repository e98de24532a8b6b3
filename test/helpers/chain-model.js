// A slow, obviously-correct model of design §4 (corrected rule), written straight from the text
// with no incremental state: explicit causal-past sets, rounds recomputed from their definition
// for every epoch, a full rescan for the lowest committed anchor after every commit, segments by
// full sort, chain hash by concatenating the documented 108-byte layout. It orders the blocks it
// is given in one go (as a peer that received them all and then ran process() once).
//
// blocks: BlockInput objects (any order; must form a down-set); indexers: epoch 0's set; returns
// { final: [{ writer, seq, position, entries, skipped, hashBefore }], finalLength, finalHash,
//   epochs, indexers, members }
export function modelOrder ({ chainKey, creator, hash, blocks, indexers = [creator] }) {
  const id = (w, s) => w + ':' + s
  const byId = new Map()
  for (const b of blocks) byId.set(id(b.writer, b.seq), b)

  // causal past as explicit sets, clocks by definition
  const pastCache = new Map()
  const clockCache = new Map()
  const links = (b) => {
    const out = []
    if (b.seq > 0) out.push(byId.get(id(b.writer, b.seq - 1)))
    for (const h of b.heads) if (h.length > 0 && h.writer !== b.writer) out.push(byId.get(id(h.writer, h.length - 1)))
    for (const x of out) if (!x) throw new Error('model: block set is not causally closed')
    return out
  }
  const past = (b) => {
    const k = id(b.writer, b.seq)
    if (pastCache.has(k)) return pastCache.get(k)
    const s = new Set()
    for (const x of links(b)) { s.add(id(x.writer, x.seq)); for (const y of past(x)) s.add(y) }
    pastCache.set(k, s)
    return s
  }
  const clock = (b) => {
    const k = id(b.writer, b.seq)
    if (!clockCache.has(k)) clockCache.set(k, 1 + Math.max(0, ...links(b).map(clock)))
    return clockCache.get(k)
  }
  const inPast = (a, b) => past(b).has(id(a.writer, a.seq))
  const countIn = (b, w) => { let n = 0; for (const k of past(b)) if (k.startsWith(w + ':')) n++; return n }
  const HEX = /^[0-9a-f]{64}$/
  const invalidCache = new Map()
  const invalid = (b) => {
    const k = id(b.writer, b.seq)
    if (!invalidCache.has(k)) invalidCache.set(k, isInvalid(b))
    return invalidCache.get(k)
  }
  const isInvalid = (b) => {
    if (b.invalid) return true
    const prev = b.seq > 0 ? byId.get(id(b.writer, b.seq - 1)) : null
    for (const h of b.heads) {
      if (h.writer === b.writer || h.length <= 0) return true
      if (prev && h.length < countIn(prev, h.writer)) return true // behind the own past
    }
    for (const op of b.membership) if (!(op.index >= 0 && op.index < b.entries) || !HEX.test(op.key)) return true
    return false
  }
  const cmp = (a, b) => clock(a) - clock(b) || (a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0) || a.seq - b.seq
  const topo = [...blocks].sort(cmp)

  // membership state
  const mem = new Map() // key -> { member, candidate: block | null }
  const st = (k) => { if (!mem.has(k)) mem.set(k, { member: false, candidate: null }); return mem.get(k) }
  for (const k of indexers) st(k).member = true

  let epoch = { no: 0, set: [...new Set(indexers)].sort(), cut: new Map() }
  const q = () => Math.floor(epoch.set.length / 2) + 1
  const step = () => (epoch.set.length === 1 ? 1 : 2)
  const inEpoch = (b) => epoch.set.includes(b.writer) && b.seq >= (epoch.cut.get(b.writer) || 0)
  let round = new Map()
  let firstOfRound = new Map() // `${writer}/${round}` -> first block of that writer in that round
  let maxRound = -1
  const computeRounds = () => {
    round = new Map()
    firstOfRound = new Map()
    for (const x of topo) {
      if (!inEpoch(x)) continue
      const ys = topo.filter((y) => inEpoch(y) && inPast(y, x))
      if (ys.length === 0) { round.set(id(x.writer, x.seq), 0); continue }
      const m = Math.max(...ys.map((y) => round.get(id(y.writer, y.seq))))
      const who = new Set(ys.filter((y) => round.get(id(y.writer, y.seq)) === m).map((y) => y.writer))
      round.set(id(x.writer, x.seq), who.size >= q() ? m + 1 : m)
    }
    for (const x of topo) {
      const r = round.get(id(x.writer, x.seq))
      if (r === undefined) continue
      const k = x.writer + '/' + r
      if (!firstOfRound.has(k) || firstOfRound.get(k).seq > x.seq) firstOfRound.set(k, x)
    }
    maxRound = Math.max(-1, ...round.values())
  }
  // an indexer's witness of round r: its first (lowest seq) block of round r
  const witness = (w, r) => firstOfRound.get(w + '/' + r) || null
  const anchor = (r) => (r % step() === 0 ? witness(epoch.set[Math.floor(r / step()) % epoch.set.length], r) : null)
  const committed = (A, r) => {
    let votes = 0
    for (const i of epoch.set) {
      if (i === A.writer) { votes++; continue }
      const v = witness(i, r + 1)
      if (v && inPast(A, v)) votes++
    }
    return votes >= q()
  }

  const ordered = new Set()
  const final = []
  let H = hash([chainKey])
  let position = 0
  let lastCommitted = -1
  computeRounds()
  for (;;) {
    let trigger = -1
    for (let r = lastCommitted + 1; r <= maxRound; r++) {
      const A = anchor(r)
      if (A && committed(A, r)) { trigger = r; break }
    }
    if (trigger < 0) break
    const batch = [[trigger, anchor(trigger)]]
    let v = anchor(trigger)
    for (let r = trigger - 1; r > lastCommitted; r--) {
      const B = anchor(r)
      if (B && inPast(B, v)) { batch.push([r, B]); v = B }
    }
    batch.reverse()
    for (const [r, B] of batch) {
      const seg = blocks.filter((x) => !ordered.has(id(x.writer, x.seq)) && (x === B || inPast(x, B))).sort(cmp)
      const next = new Set(epoch.set)
      for (const x of seg) {
        ordered.add(id(x.writer, x.seq))
        const skipped = invalid(x) ? 'invalid' : st(x.writer).member ? null : 'not-member'
        const entries = skipped ? 0 : x.entries
        final.push({ writer: x.writer, seq: x.seq, position, entries, skipped, hashBefore: H })
        for (let i = 0; i < entries; i++) {
          const pos = Buffer.alloc(12)
          pos.writeBigUInt64LE(BigInt(x.seq), 0)
          pos.writeUInt32LE(i, 8)
          H = hash([Buffer.concat([H, Buffer.from(x.writer, 'hex'), pos, x.hash])])
        }
        if (skipped) { position += entries; continue }
        if (epoch.set.includes(x.writer)) {
          for (const op of x.membership) {
            const t = st(op.key)
            if (op.op === 'add') {
              if (!t.member) { t.member = true; t.addedAt = position + op.index }
              if (op.indexer && !next.has(op.key)) t.candidate = x
            } else {
              if (next.has(op.key) && next.size === 1) continue // last indexer stays
              next.delete(op.key)
              t.candidate = null
              t.member = false
            }
          }
        }
        const me = st(x.writer)
        if (me.candidate && inPast(me.candidate, x)) { next.add(x.writer); me.candidate = null }
        position += entries
      }
      lastCommitted = r
      const same = next.size === epoch.set.length && epoch.set.every((k) => next.has(k))
      if (!same) {
        const cut = new Map()
        for (const x of blocks) if (x === B || inPast(x, B)) cut.set(x.writer, Math.max(cut.get(x.writer) || 0, x.seq + 1))
        epoch = { no: epoch.no + 1, set: [...next].sort(), cut }
        lastCommitted = -1
        computeRounds()
        break
      }
    }
  }
  return {
    final,
    finalLength: position,
    finalHash: H,
    epochs: epoch.no,
    indexers: epoch.set,
    members: [...mem].filter(([, s]) => s.member).map(([k]) => k).sort()
  }
}
