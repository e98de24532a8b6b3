// Synthetic DAGs of writer feeds for the chain tests: a seeded random generator (random links,
// stale views, slow writers, partitions, membership changes, adversarial blocks), a builder for
// hand-written scenario DAGs, random topological delivery orders and the test hash.
//
// A generated block carries three views of itself:
//   - `input`: the BlockInput ChainEngine is fed (writer keys as hex, heads, entries, ops);
//   - `w`, `seq`, `vc`, `clock`, `type`, `memb`: the shared oracle's entry format
//     (consensus-reference/consensus.mjs), vc in generator writer indexes;
//   - `name`: `<writer letter><seq>` for messages.
import sodium from 'sodium-native'

/** mulberry32-style PRNG with int/pick/shuffle helpers (same generator family as the reference). */
export function rng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1))
  next.pick = (arr) => arr[Math.floor(next() * arr.length)]
  next.shuffle = (arr) => { for (let i = arr.length - 1; i > 0; i--) { const j = Math.floor(next() * (i + 1)); [arr[i], arr[j]] = [arr[j], arr[i]] } return arr }
  return next
}

/** blake2b-256 over the concatenated parts (what the node injects). */
export function hash (parts) {
  const out = new Uint8Array(32)
  sodium.crypto_generichash_batch(out, parts)
  return out
}

export const CHAIN_KEY = new Uint8Array(32).fill(7)

/** `n` distinct 64-hex keys in random order (so key order differs from creation order). */
export function randomKeys (R, n) {
  const keys = new Set()
  while (keys.size < n) {
    let k = ''
    for (let i = 0; i < 64; i++) k += '0123456789abcdef'[Math.floor(R() * 16)]
    keys.add(k)
  }
  return [...keys]
}

/** A fake 32-byte block hash derived from a uid. */
export function blockHash (uid) {
  const b = new Uint8Array(32)
  new DataView(b.buffer).setUint32(0, uid + 1, true)
  b[31] = 0xab
  return b
}

// Builds one block of writer w from its causal frontier vc (generator indexes, vc[w] = seq).
function makeBlock (dag, w, vc, extra = {}) {
  const { keys, feeds, W } = dag
  const seq = feeds[w].length
  const prev = seq > 0 ? feeds[w][seq - 1] : null
  let clock = 0
  for (let u = 0; u < W; u++) if (vc[u] > 0) clock = Math.max(clock, feeds[u][vc[u] - 1].clock)
  const heads = []
  for (let u = 0; u < W; u++) {
    if (u === w) continue
    const had = prev ? prev.vc[u] : 0
    if (vc[u] > had) heads.push({ writer: keys[u], length: vc[u] })
  }
  const type = extra.type || 'DATA'
  const entries = extra.entries ?? (type === 'ACK' ? 0 : 1 + (dag.uid % 3))
  const uid = dag.uid++
  const input = {
    writer: keys[w],
    seq,
    heads,
    entries,
    membership: extra.ops || [],
    join: !!extra.join,
    hash: blockHash(uid),
    claimedClock: clock + 1
  }
  if (extra.invalid) input.invalid = true
  const b = { uid, w, seq, vc: Int32Array.from(vc), clock: clock + 1, type, input, name: dag.letters[w] + seq }
  if (extra.memb) b.memb = extra.memb
  feeds[w].push(b)
  return b
}

function closeCausally (feeds, W, w, vc) {
  let changed = true
  while (changed) {
    changed = false
    for (let u = 0; u < W; u++) {
      if (vc[u] === 0 || u === w) continue
      const h = feeds[u][vc[u] - 1]
      for (let x = 0; x < W; x++) {
        if (x === w) continue
        const need = x === h.w ? h.seq + 1 : h.vc[x]
        if (need > vc[x]) { vc[x] = need; changed = true }
      }
    }
  }
}

/**
 * A random DAG. Writer 0 is the creator; its first blocks add the other writers (the first
 * `nIdx - 1` as indexers, the rest as plain writers). Options:
 * - membership: later adds/removes by the creator (oracle-compatible: the creator is never removed)
 * - partitions: writers split in two groups for a stretch of the run, then heal
 * - adversarial: ops by random authors (often not indexers), invalid blocks, backwards heads, a
 *   writer that is never added (not oracle-compatible; compare with the slow model only)
 * - initial: writers 0..nIdx-1 are the indexers of epoch 0 (ChainEngine option `indexers`), as
 *   the reference's dagfuzz; only the plain writers are added at genesis
 * - maxBlocks: upper bound of the random part's length (before the flush)
 * - flush: at the end every writer appends ACK rounds that see everything, so all must be final
 */
export function genDag (seed, { membership = false, partitions = false, adversarial = false, initial = false, flush = true, maxIdx = 5, maxWriters = 7, maxBlocks = 80 } = {}) {
  const R = rng(seed * 1009 + 3)
  const nIdx = R.int(1, maxIdx)
  const W = Math.min(maxWriters, Math.max(2, nIdx + R.int(0, 2) + (adversarial ? 1 : 0)))
  const keys = randomKeys(R, W)
  const letters = 'abcdefghij'.split('')
  const dag = { seed, keys, letters, W, nIdx, initial, feeds: Array.from({ length: W }, () => []), uid: 0, opts: { membership, partitions, adversarial, initial } }
  const { feeds } = dag
  const outsider = adversarial ? W - 1 : -1 // never added: its entries are skipped
  const known = Array.from({ length: W }, () => new Int32Array(W))
  const lag = R()
  const slow = Array.from({ length: W }, () => (R() < 0.5 ? R() * R() : 0))
  const G = R.int(10, maxBlocks)
  // partition window and groups
  const part = partitions && R() < 0.8 ? { from: R.int(0, G >> 1), to: 0, group: Array.from({ length: W }, () => (R() < 0.5 ? 1 : 2)) } : null
  if (part) part.to = part.from + R.int(5, G)

  const step = (g, w, extra) => {
    const vc = Int32Array.from(known[w])
    vc[w] = feeds[w].length
    const cut = part && g >= part.from && g < part.to
    for (let u = 0; u < W; u++) {
      if (u === w) continue
      if (cut && part.group[u] !== part.group[w]) continue
      const lo = vc[u]; const hi = feeds[u].length
      if (hi > lo && R() > lag * 0.8 && R() >= slow[u]) vc[u] = lo + Math.floor(Math.pow(R(), lag * 2) * (hi - lo + 1))
      if (vc[u] > hi) vc[u] = hi
    }
    closeCausally(feeds, W, w, vc)
    const b = makeBlock(dag, w, vc, extra)
    known[w] = Int32Array.from(vc)
    known[w][w] = feeds[w].length
    return b
  }

  // genesis: the creator adds everybody but the outsider, one op per block (the oracle's format)
  let g = 0
  for (let u = 1; u < W; u++) {
    if (u === outsider || (initial && u < nIdx)) continue
    const indexer = u < nIdx
    step(g++, 0, { type: indexer ? 'MEMB' : 'DATA', ops: [{ op: 'add', key: keys[u], indexer, index: 0 }], memb: indexer ? { op: 'add', target: u } : undefined })
  }
  if (feeds[0].length === 0) step(g++, 0, {})

  for (; g < G; g++) {
    const w = R() < 0.75 ? R.int(0, Math.max(0, nIdx - 1)) : R.int(0, W - 1)
    const extra = { type: R() < 0.45 ? 'ACK' : 'DATA' }
    if (membership && w === 0 && R() < 0.25) {
      const others = [...Array(W).keys()].filter((u) => u !== 0 && u !== outsider)
      const t = R.pick(others)
      if (R() < 0.55) {
        const indexer = R() < 0.7
        extra.type = indexer ? 'MEMB' : 'DATA'
        extra.ops = [{ op: 'add', key: keys[t], indexer, index: 0 }]
        if (indexer) extra.memb = { op: 'add', target: t }
      } else {
        extra.type = 'MEMB'
        extra.ops = [{ op: 'remove', key: keys[t], index: 0 }]
        extra.memb = { op: 'remove', target: t }
      }
      extra.entries = 1
    }
    if (adversarial) {
      const x = R()
      if (x < 0.06) {
        // an op by a random author: counts only if the author is an epoch indexer at its position
        const t = R.int(0, W - 1)
        extra.type = 'ADV'
        extra.ops = R() < 0.5 ? [{ op: 'add', key: keys[t], indexer: R() < 0.5, index: 0 }] : [{ op: 'remove', key: keys[t], index: 0 }]
        extra.entries = 1 + R.int(0, 1)
      } else if (x < 0.1) {
        extra.type = 'ADV'
        extra.invalid = true
      }
    }
    const b = step(g, w, extra)
    if (adversarial && R() < 0.04 && b.seq > 0 && b.input.heads.length === 0) {
      // a head behind the writer's own past: a rule violation, the block is ordered as invalid
      const prev = feeds[w][b.seq - 1]
      for (let u = 0; u < W; u++) {
        if (u !== w && prev.vc[u] >= 2) { b.input.heads.push({ writer: keys[u], length: prev.vc[u] - 1 }); b.type = 'ADV'; break }
      }
    }
  }
  if (flush) {
    // heal: everybody sees everything, then a few ACK rounds of all writers
    for (let k = 0; k < 12; k++) {
      const frontier = feeds.map((f) => f.length)
      for (let w = 0; w < W; w++) {
        const vc = Int32Array.from(frontier)
        vc[w] = feeds[w].length
        const b = makeBlock(dag, w, vc, { type: 'ACK' })
        known[w] = Int32Array.from(vc)
        known[w][w] = feeds[w].length
        void b
      }
    }
  }
  dag.all = feeds.flat()
  dag.G = dag.all.length
  return dag
}

/**
 * A hand-written DAG: `spec` is a list of [name, links] with names `<writer letter><seq>`
 * (writers given as letters in key order: their keys sort like the letters) and links naming
 * other writers' blocks. `ops` maps a block name to its membership ops (writer letters as keys).
 */
export function buildDag (letters, spec, { ops = {}, entries = {} } = {}) {
  const W = letters.length
  // keys sorted like the letters, but registered in whatever order blocks arrive
  const keys = letters.map((l, i) => (i + 1).toString(16).padStart(2, '0') + l.charCodeAt(0).toString(16).padStart(2, '0') + '00'.repeat(30))
  const dag = { keys, letters, W, feeds: Array.from({ length: W }, () => []), uid: 0, byName: new Map() }
  for (const [name, links = []] of spec) {
    const w = letters.indexOf(name[0]); const seq = +name.slice(1)
    if (seq !== dag.feeds[w].length) throw new Error('feed order ' + name)
    const vc = new Int32Array(W)
    vc[w] = seq
    const prev = seq ? dag.feeds[w][seq - 1] : null
    for (const h of prev ? [prev, ...links.map((l) => dag.byName.get(l))] : links.map((l) => dag.byName.get(l))) {
      for (let u = 0; u < W; u++) if (u !== w) vc[u] = Math.max(vc[u], h.vc[u], u === h.w ? h.seq + 1 : 0)
    }
    const o = (ops[name] || []).map((op) => ({ ...op, key: keys[letters.indexOf(op.key)] }))
    const b = makeBlock(dag, w, vc, { type: o.length ? 'MEMB' : 'DATA', ops: o, entries: entries[name] ?? (o.length ? 1 : 1) })
    b.name = name
    dag.byName.set(name, b)
  }
  dag.all = [...dag.byName.values()] // spec order, which is topological
  return dag
}

/** A random topological delivery order of the DAG's blocks (some writers' links are slow). */
export function deliveryOrder (dag, R) {
  const { W, feeds } = dag
  const len = new Int32Array(W)
  const weight = Array.from({ length: W }, () => (R() < 0.4 ? 0.05 + R() * 0.2 : 1))
  const out = []
  for (;;) {
    const ready = []
    for (let w = 0; w < W; w++) {
      if (len[w] >= feeds[w].length) continue
      const e = feeds[w][len[w]]
      let ok = true
      for (let u = 0; u < W; u++) if (u !== w && e.vc[u] > len[u]) { ok = false; break }
      if (ok) ready.push(w)
    }
    if (!ready.length) break
    let tot = 0; for (const x of ready) tot += weight[x]
    let p = R() * tot; let w = ready[ready.length - 1]
    for (const x of ready) { p -= weight[x]; if (p <= 0) { w = x; break } }
    out.push(feeds[w][len[w]++])
  }
  return out
}

/** Hex of bytes (for comparing hashes in assertions). */
export function hex (b) {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}
