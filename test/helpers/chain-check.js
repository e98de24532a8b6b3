// Property checks shared by the chain tests: every final block any engine emits is compared with
// a canonical final list (the first engine to reach a position defines it), so finality is
// never rewritten and all engines agree; plus feed order, causality, exactly-once, consecutive
// positions and the chain hash links.
import { hex } from './chain-dag.js'

/** A final block as a comparable string. */
export function finalKey (b) {
  return `${b.writer}:${b.seq}@${b.position}+${b.entries}${b.skipped ? '/' + b.skipped : ''}#${hex(b.hashBefore).slice(0, 16)}`
}

/**
 * Canonical final list across several engines. `dag` gives each block's generator vc so causality
 * can be checked against the true DAG (not the engine's own bookkeeping).
 */
export class FinalChecker {
  constructor (dag) {
    this.dag = dag
    this.index = new Map(dag.keys.map((k, i) => [k, i]))
    this.canon = []
    this.problems = []
  }

  /** A per-engine cursor; call `seen(segments)` with what process() returned. */
  cursor (name) {
    const W = this.dag.W
    const cur = { name, count: 0, pos: new Int32Array(W), position: 0, hash: null, addedAt: new Map() }
    cur.seen = (segments) => { for (const s of segments) this.segment(cur, s) }
    cur.reset = () => { cur.count = 0; cur.pos = new Int32Array(W); cur.position = 0; cur.hash = null }
    return cur
  }

  fail (msg) {
    if (this.problems.length < 10) this.problems.push(msg)
  }

  segment (cur, seg) {
    if (seg.start !== cur.position) this.fail(`${cur.name}: segment starts at ${seg.start}, expected ${cur.position}`)
    for (const b of seg.blocks) this.block(cur, b)
    if (seg.end !== cur.position) this.fail(`${cur.name}: segment ends at ${seg.end}, expected ${cur.position}`)
    cur.hash = hex(seg.hash)
  }

  block (cur, b) {
    const i = cur.count++
    const k = finalKey(b)
    if (i < this.canon.length) {
      if (this.canon[i] !== k) this.fail(`${cur.name}: final #${i} is ${k}, another engine has ${this.canon[i]}`)
    } else {
      this.canon.push(k)
    }
    const w = this.index.get(b.writer)
    const gen = this.dag.feeds[w]?.[b.seq]
    if (!gen) { this.fail(`${cur.name}: final #${i} ${k} is not in the DAG`); return }
    if (b.seq !== cur.pos[w]) this.fail(`${cur.name}: final #${i} ${k} out of feed order / duplicate (expected seq ${cur.pos[w]})`)
    for (let u = 0; u < this.dag.W; u++) {
      if (u !== w && gen.vc[u] > cur.pos[u]) { this.fail(`${cur.name}: final #${i} ${k} before its causal past (${this.dag.keys[u].slice(0, 6)}@${gen.vc[u]})`); break }
    }
    cur.pos[w] = Math.max(cur.pos[w], b.seq + 1)
    if (b.position !== cur.position) this.fail(`${cur.name}: final #${i} ${k} at position ${b.position}, expected ${cur.position}`)
    if (b.skipped === null && b.entries !== gen.input.entries) this.fail(`${cur.name}: final #${i} ${k} counts ${b.entries} of ${gen.input.entries} entries`)
    if (b.skipped !== null && b.entries !== 0) this.fail(`${cur.name}: skipped block ${k} counts entries`)
    if (cur.hash !== null && hex(b.hashBefore) !== cur.hash && cur.count > 1) this.fail(`${cur.name}: final #${i} hashBefore does not continue the chain`)
    cur.hash = null
    // an entry added after a position was final lands after it (offline writers land in the tail)
    const at = cur.addedAt.get(b.writer + ':' + b.seq)
    if (at !== undefined && i < at) this.fail(`${cur.name}: ${k} added when ${at} blocks were final, landed at #${i}`)
    cur.position += b.entries
  }
}
