// Property tests of ChainEngine on seeded random DAGs (2-7 writers, 1-5 indexers added from
// genesis, random links and stale views, partitions, membership changes, adversarial blocks).
// Every DAG is fed to six engines in different delivery orders and processing granularities,
// with aggressive, default and no pruning, and one engine snapshotted and restored mid-stream.
// Checked at every step: finality never rewritten (prefix compatibility across engines), feed
// order, causality, exactly-once, consecutive positions, late blocks landing after what was
// final; at the end: convergence, no loss (every non-ACK block final after the heal), equality
// with the slow model (order, skips, positions, chain hash, membership) and with the shared
// oracle when present, and restore-equivalence with an engine that never stopped.
//
// FEEDCHAIN_FUZZ_SEEDS=N runs N seeds (default 1000); FEEDCHAIN_FUZZ_FROM=S starts at seed S;
// FEEDCHAIN_FUZZ_BLOCKS=B makes DAGs up to B random blocks long (default 80).
import test from 'brittle'
import { fuzzOne } from './helpers/chain-fuzz.js'
import { oracle } from './helpers/chain-oracle.js'

const SEEDS = Number(process.env.FEEDCHAIN_FUZZ_SEEDS) || 1000
const FROM = Number(process.env.FEEDCHAIN_FUZZ_FROM) || 1
// seeds that failed during development, kept as regression cases (run first, every time)
const REGRESSIONS = []

test(`chain fuzz: ${SEEDS} seeded DAGs x 6 engines agree with each other, the model and the oracle`, (t) => {
  const t0 = Date.now()
  const seeds = [...REGRESSIONS]
  for (let s = FROM; s < FROM + SEEDS; s++) seeds.push(s)
  let failed = 0
  const tot = { blocks: 0, rebuilds: 0, restores: 0, oracle: 0, skipped: 0, epochs: 0 }
  for (const seed of seeds) {
    const r = fuzzOne(seed)
    tot.blocks += r.G
    tot.rebuilds += r.stats.rebuilds
    tot.restores += r.stats.restores
    tot.oracle += r.stats.oracle ? 1 : 0
    tot.skipped += r.stats.skipped
    tot.epochs += r.stats.epochs
    if (r.problems.length) {
      failed++
      if (failed <= 3) t.fail(`seed ${seed}: ${r.problems.join('; ')}`)
    }
  }
  t.is(failed, 0, `${seeds.length} seeds, ${failed} failed`)
  t.comment(`${seeds.length} seeds, ${tot.blocks} blocks, ${tot.epochs} epoch switches, ${tot.skipped} skipped blocks, ${tot.restores} restores, ${tot.rebuilds} rebuilds, oracle compared on ${tot.oracle} seeds${oracle ? '' : ' (oracle absent: ../shared not found)'}, ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  t.ok(tot.epochs > seeds.length / 4, 'membership epochs were exercised')
  t.ok(tot.skipped > 0, 'skipped blocks were exercised')
  t.ok(tot.restores > seeds.length, 'snapshot/restore was exercised')
})
