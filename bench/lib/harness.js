// The parent side of a benchmark whose peers are worker processes (lib/proc.js) on a local
// HyperDHT testnet bound to 127.0.0.1: temp dirs, workers and the testnet, all removed by close().
// The workers are feedchain peers, so they run with the V8 flags the CLI starts Node with
// (NODE_FLAGS, src/node-flags.ts).
import { loadFeedchain } from './feedchain.js'
import { tmpDir, removeTmpDir } from './tmp.js'
import { spawnWorker, stopWorkers, guardProcesses } from './proc.js'

/**
 * Start the testnet for `script`'s workers. Returns { bootstrap, dir(label), start(name, env),
 * step(worker, msg, replyType), close() }; step waits `timeoutMs` at most for the reply.
 */
export async function startHarness (script, { timeoutMs }) {
  guardProcesses() // first: children die before their temp dirs are removed
  const { createLocalTestnet, NODE_FLAGS } = await loadFeedchain()
  const testnet = await createLocalTestnet(3)
  const dirs = []
  const workers = []
  const harness = {
    bootstrap: testnet.bootstrapString,
    dir (label) {
      const d = tmpDir(label)
      dirs.push(d)
      return d
    },
    start (name, env = {}) {
      const w = spawnWorker(script, { name, env, nodeFlags: NODE_FLAGS ?? [] })
      workers.push(w)
      return w
    },
    async step (w, msg, type) {
      w.send(msg)
      return w.next(type, { timeoutMs })
    },
    async close () {
      await stopWorkers(workers)
      await testnet.destroy()
      for (const d of dirs) removeTmpDir(d)
    }
  }
  if (!testnet.bootstrap.every((n) => /^127\.\d+\.\d+\.\d+$/.test(n.host))) {
    await harness.close()
    throw new Error(`refusing a testnet outside 127.0.0.0/8: ${harness.bootstrap}`)
  }
  return harness
}
