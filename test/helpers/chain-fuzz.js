// One property-test run over a seeded random DAG (see test/chain-fuzz.test.js for what is checked).
// `makeEngine` lets the mutation tests substitute a deliberately broken engine.
import { ChainEngine } from '../../dist/chain/engine.js'
import { isFeedchainError } from '../../dist/errors.js'
import { CHAIN_KEY, deliveryOrder, genDag, hash, hex, rng } from './chain-dag.js'
import { FinalChecker, finalKey } from './chain-check.js'
import { modelOrder } from './chain-model.js'
import { oracle, oracleOrder } from './chain-oracle.js'

const ENGINES = [
  { name: 'eager+prune', proc: 1, opts: { pruneInterval: 1, keepFinal: 0 } },
  { name: 'batch70', proc: 0.7, opts: {} },
  { name: 'batch15-noprune', proc: 0.15, opts: { pruneInterval: Infinity } },
  { name: 'catchup+prune', proc: 0.02, opts: { pruneInterval: 1, keepFinal: 0 } }
]

/** Options of the DAG for a seed: every seed has partitions or not, some membership, some adversarial. */
export function dagOptions (seed) {
  const maxBlocks = Number(process.env.FEEDCHAIN_FUZZ_BLOCKS) || 80
  return { membership: seed % 4 === 0, partitions: seed % 3 !== 1, adversarial: seed % 5 === 2, initial: seed % 2 === 1, maxBlocks }
}

/** Runs one seed; returns { seed, problems, stats, G }. */
export function fuzzOne (seed, { makeEngine = (o) => new ChainEngine(o), restoreEngine = (b, o) => ChainEngine.restore(b, o) } = {}) {
  const dag = genDag(seed, dagOptions(seed))
  const base = { chainKey: CHAIN_KEY, creator: dag.keys[0], hash, indexers: dag.keys.slice(0, dag.initial ? dag.nIdx : 1) }
  const check = new FinalChecker(dag)
  const stats = { rebuilds: 0, restores: 0, oracle: false, skipped: 0, epochs: 0 }
  const R = rng(seed * 31 + 1)

  const runners = ENGINES.map((cfg, k) => {
    const order = deliveryOrder(dag, rng(seed * 13 + k))
    const cur = check.cursor(cfg.name)
    const mk = () => makeEngine({ ...base, ...cfg.opts })
    const r = { cfg, order, cur, E: mk(), i: 0, delivered: [] }
    r.rebuild = () => {
      // what a node does on REBUILD_NEEDED: a fresh engine replays every delivered block
      stats.rebuilds++
      r.E = mk()
      cur.reset()
      for (const b of r.delivered) r.E.add(b.input)
      cur.seen(r.E.process())
    }
    r.step = () => {
      if (r.i >= order.length) return false
      const b = order[r.i++]
      cur.addedAt.set(b.input.writer + ':' + b.input.seq, cur.count)
      r.delivered.push(b)
      try {
        if (!r.E.canAdd(b.input)) check.fail(`${cfg.name}: canAdd false for ${b.name} in a topological order`)
        r.E.add(b.input)
        if (R() < cfg.proc) cur.seen(r.E.process())
      } catch (e) {
        if (!isFeedchainError(e, 'REBUILD_NEEDED')) throw e
        r.rebuild()
      }
      return true
    }
    return r
  })

  // the snapshot twin: same order and processing points as a never-stopped engine U; the twin
  // is replaced by restore(snapshot()) at random points and must emit exactly U's segments
  const twinOrder = deliveryOrder(dag, rng(seed * 13 + 99))
  let U = makeEngine({ ...base, pruneInterval: Infinity })
  let T = makeEngine({ ...base, pruneInterval: 1, keepFinal: 0 })
  let twinOk = true
  const segU = []
  const segT = []

  // checkpoints where the slow model orders what the no-prune engine has received so far
  const checkpoints = new Set([Math.floor(dag.G / 3), Math.floor((2 * dag.G) / 3)])
  let alive = true
  while (alive) {
    alive = false
    for (const r of runners) if (r.step()) alive = true
    const nb = runners[2].i
    if (checkpoints.has(nb)) {
      checkpoints.delete(nb)
      const m = modelOrder({ ...base, blocks: runners[2].delivered.map((b) => b.input) })
      const n = Math.min(m.final.length, check.canon.length)
      for (let i = 0; i < n; i++) if (finalKey(m.final[i]) !== check.canon[i]) { check.fail(`model on ${nb} delivered blocks differs at #${i}: ${finalKey(m.final[i])} vs ${check.canon[i]}`); break }
    }
  }
  for (const b of twinOrder) {
    if (!twinOk) break
    U.add(b.input)
    try {
      T.add(b.input)
    } catch (e) {
      if (!isFeedchainError(e, 'REBUILD_NEEDED')) throw e
      twinOk = false // pruned state legitimately needs a rebuild here; U kept everything
      stats.rebuilds++
      break
    }
    if (R() < 0.4) {
      segU.push(...U.process())
      segT.push(...T.process())
    }
    if (R() < 0.15) {
      stats.restores++
      T = restoreEngine(T.snapshot(), { hash, pruneInterval: 1, keepFinal: 0 })
    }
  }
  if (twinOk) {
    segU.push(...U.process())
    segT.push(...T.process())
    const a = JSON.stringify(segU.map(segKey))
    const b = JSON.stringify(segT.map(segKey))
    if (a !== b) check.fail(`restored twin emitted different segments than the never-stopped engine (${segT.length} vs ${segU.length})`)
    if (hex(T.finalHash) !== hex(U.finalHash)) check.fail('restored twin: different final hash')
  }

  for (const r of runners) {
    try { r.cur.seen(r.E.process()) } catch (e) { if (!isFeedchainError(e, 'REBUILD_NEEDED')) throw e; r.rebuild() }
  }
  // convergence
  for (const r of runners) {
    if (r.cur.count !== check.canon.length) check.fail(`${r.cfg.name}: ${r.cur.count} final blocks, others ${check.canon.length}`)
  }
  // equality with the slow model (one process over everything)
  const E0 = runners[0].E
  const m = modelOrder({ ...base, blocks: dag.all.map((b) => b.input) })
  const mk = m.final.map(finalKey)
  if (mk.length !== check.canon.length) check.fail(`model finalizes ${mk.length} blocks, engines ${check.canon.length}`)
  for (let i = 0; i < Math.min(mk.length, check.canon.length); i++) if (mk[i] !== check.canon[i]) { check.fail(`model differs at #${i}: ${mk[i]} vs ${check.canon[i]}`); break }
  for (const r of runners) {
    if (hex(r.E.finalHash) !== hex(m.finalHash)) check.fail(`${r.cfg.name}: final hash differs from the model`)
    if (r.E.finalLength !== m.finalLength) check.fail(`${r.cfg.name}: final length ${r.E.finalLength}, model ${m.finalLength}`)
  }
  if (E0.indexers().join() !== m.indexers.join()) check.fail(`indexers ${E0.indexers().map((k) => k.slice(0, 4))} vs model ${m.indexers.map((k) => k.slice(0, 4))}`)
  const members = E0.writers().filter((w) => !w.removed).map((w) => w.key).sort()
  if (members.join() !== m.members.join()) check.fail('members differ from the model')
  // the shared oracle (same rule, written independently) on oracle-compatible DAGs
  if (oracle && !dag.opts.adversarial) {
    stats.oracle = true
    const o = oracleOrder(dag, runners[1].order, { processEach: true })
    const mine = m.final.map((b) => b.writer + ':' + b.seq)
    if (o.join() !== mine.join()) check.fail(`oracle order differs (oracle ${o.length} blocks, engine ${mine.length})`)
  }
  // no loss: after the heal every non-ACK block is final
  const finalSet = new Set(m.final.map((b) => b.writer + ':' + b.seq))
  for (const b of dag.all) if (b.type !== 'ACK' && !finalSet.has(b.input.writer + ':' + b.input.seq)) { check.fail(`${b.name} (${b.type}) never became final`); break }
  stats.skipped = m.final.filter((b) => b.skipped).length
  stats.epochs = E0.epochNumber
  return { seed, problems: check.problems, stats, G: dag.G }
}

function segKey (s) {
  return [s.epoch, s.round, s.anchor.writer, s.anchor.seq, s.start, s.end, hex(s.hash), s.blocks.map(finalKey)]
}

