/**
 * A local HyperDHT testnet on 127.0.0.1 for tests, the demo and benchmarks. Safe by
 * construction: the testnet nodes and every Network it creates bind 127.0.0.1 and bootstrap only
 * from the testnet, so nothing leaves the loopback network (design §5).
 */
import createTestnet from 'hyperdht/testnet.js'
import HyperDHT from 'hyperdht'
import type Corestore from 'corestore'
import { err } from '../errors.js'
import { Network, type NetworkOptions } from './network.js'
import type { BootstrapNode } from './bootstrap.js'

/** Network options a local testnet lets the caller set (never the DHT, bootstrap or host). */
export type LocalNetworkOptions = Omit<NetworkOptions, 'bootstrap' | 'host' | 'dht'>

/** A running local testnet. */
export interface LocalTestnet {
  /** Bootstrap nodes of the testnet (all on 127.0.0.1). */
  readonly bootstrap: BootstrapNode[]
  /** `host:port,…` of the bootstrap nodes, for `--bootstrap` / `FEEDCHAIN_BOOTSTRAP` of child processes. */
  readonly bootstrapString: string
  /** A Network for `store` on this testnet (not yet ready). It is closed by destroy() unless closed before. */
  createNetwork (store: Corestore, opts?: LocalNetworkOptions): Network
  /** Close every Network created here, then the testnet's DHT nodes. */
  destroy (): Promise<void>
}

/** Start `size` DHT nodes on 127.0.0.1 (default 3). */
export async function createLocalTestnet (size = 3): Promise<LocalTestnet> {
  if (!Number.isInteger(size) || size < 1) throw err('INVALID_ARGUMENT', 'testnet size must be a positive integer')
  const testnet = await createTestnet(size, { host: '127.0.0.1' })
  const bootstrap = testnet.bootstrap.map((n) => ({ host: n.host, port: n.port }))
  if (!bootstrap.every((n) => n.host === '127.0.0.1')) {
    await testnet.destroy()
    throw err('INVALID_ARGUMENT', 'local testnet is not on 127.0.0.1')
  }
  const networks = new Set<Network>()
  let destroyed = false
  return {
    bootstrap,
    bootstrapString: bootstrap.map((n) => `${n.host}:${n.port}`).join(','),
    createNetwork (store, opts = {}) {
      if (destroyed) throw err('CLOSED', 'testnet is destroyed')
      // strip anything that could point the node elsewhere, whatever the caller's object holds
      const { bootstrap: _b, host: _h, dht: _d, ...rest } = opts as NetworkOptions
      const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', ...(rest.keyPair !== undefined ? { keyPair: rest.keyPair } : {}) })
      const network = new Network(store, { ...rest, dht })
      networks.add(network)
      network.once('close', () => networks.delete(network))
      return network
    },
    async destroy () {
      if (destroyed) return
      destroyed = true
      await Promise.allSettled([...networks].map(async (n) => await n.close()))
      await testnet.destroy()
    }
  }
}
