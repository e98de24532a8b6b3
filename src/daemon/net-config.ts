/**
 * Network settings as the CLI and the daemon take them: the DHT bootstrap list and the bind
 * address. With neither, the public HyperDHT (the product default; never in tests).
 *
 * The CLI loads this module at start (it validates --bootstrap and --host before anything else),
 * so the network module — hyperswarm, hyperdht — is loaded only when a Network is created.
 */
import type Corestore from 'corestore'
import { resolveDhtOptions } from '../net/bootstrap.js'
import type { Network, NetworkOptions } from '../net/network.js'

/** Network settings: validated strings, applied only when a Network is created. */
export interface NetConfig {
  /** DHT bootstrap list as given (`host:port,...`); undefined: the public HyperDHT */
  bootstrap?: string | undefined
  /** address the DHT binds to; undefined: 127.0.0.1 when every bootstrap node is on loopback */
  host?: string | undefined
}

/** Throw INVALID_ARGUMENT if the bootstrap list or host is malformed. Pure. */
export function checkNetConfig (cfg: NetConfig): void {
  resolveDhtOptions(cfg)
}

/** One line saying which DHT a config uses, for logs. */
export function describeNetConfig (cfg: NetConfig): string {
  const dht = resolveDhtOptions(cfg)
  if (dht.bootstrap === undefined) return `public HyperDHT${dht.host !== undefined ? `, bound to ${dht.host}` : ''}`
  return `DHT bootstrap ${dht.bootstrap.map((n) => `${n.host}:${n.port}`).join(',')}${dht.host !== undefined ? `, bound to ${dht.host}` : ''}`
}

/** A Network on `store` with these settings (not yet ready). */
export async function createNetwork (store: Corestore, cfg: NetConfig, extra: Omit<NetworkOptions, 'bootstrap' | 'host' | 'dht'> = {}): Promise<Network> {
  const { Network } = await import('../net/network.js')
  return new Network(store, { ...extra, bootstrap: cfg.bootstrap, host: cfg.host })
}
