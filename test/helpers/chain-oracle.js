// The shared consensus oracle (../shared/consensus-reference, beside the repository clone), if
// present. Tests that compare with it skip that comparison when it is absent (or when
// FEEDCHAIN_NO_ORACLE=1, to check that they still run without it).
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

const url = new URL('../../../shared/consensus-reference/consensus.mjs', import.meta.url)
const present = process.env.FEEDCHAIN_NO_ORACLE !== '1' && fs.existsSync(fileURLToPath(url))

/** The oracle module ({ Engine, RULES }) or null. */
export const oracle = present ? await import(url.href) : null

/**
 * Final block order of the oracle for a generator DAG (chain-dag.js), fed in `order` with
 * process() every `every` blocks and once at the end. Names are `${key}:${seq}`.
 * The chain starts like ChainEngine: with the creator (generator writer 0) as the only indexer,
 * or with writers 0..nIdx-1 for DAGs generated with `initial`.
 */
export function oracleOrder (dag, order, { rule = 'fixed', processEach = false } = {}) {
  const { Engine, RULES } = oracle
  const store = { get: (w, s) => dag.feeds[w][s] }
  const E = new Engine(RULES[rule], dag.keys, dag.initial ? Array.from({ length: dag.nIdx }, (_, i) => i) : [0], store)
  for (const b of order) {
    E.onEvaluable(b)
    if (processEach) E.process()
  }
  E.process()
  return E.final.map((b) => dag.keys[b.w] + ':' + b.seq)
}
