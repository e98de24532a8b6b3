/**
 * Network settings as the CLI and the daemon take them: the DHT bootstrap list and the bind
 * address. With neither, the public HyperDHT (the product default; never in tests).
 */
import type Corestore from 'corestore'
import type { SwarmConnection } from 'hyperswarm'
import { resolveDhtOptions } from '../net/bootstrap.js'
import { Network, type NetworkOptions } from '../net/network.js'

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

/**
 * A connection that has not received a single byte this long after opening is dead, ms (the
 * remote end's stream is gone: seen when two peers dial each other at the same moment and
 * Hyperswarm keeps a different half on each side). The actual wait is up to 50 % longer, at
 * random, so two peers do not redial each other in lockstep.
 */
export const DEAD_CONNECTION_MS = 2500

/** A Network on `store` with these settings (not yet ready), with dead connections dropped (see DEAD_CONNECTION_MS). */
export function createNetwork (store: Corestore, cfg: NetConfig, extra: Omit<NetworkOptions, 'bootstrap' | 'host' | 'dht'> = {}): Network {
  const network = new Network(store, { ...extra, bootstrap: cfg.bootstrap, host: cfg.host })
  dropDeadConnections(network)
  return network
}

/**
 * Destroy connections that receive nothing within DEAD_CONNECTION_MS. Destroyed without a reason,
 * the Network counts the peer as lost (no strike) and looks for it again at once; waiting for the
 * handshake timeout instead would count a strike, and two of them ban an honest peer.
 */
export function dropDeadConnections (network: Network, ms = DEAD_CONNECTION_MS): void {
  network.on('connection', (conn: SwarmConnection) => {
    const timer = setTimeout(() => {
      if (!conn.destroyed && conn.rawBytesRead === 0) conn.destroy()
    }, ms * (1 + Math.random() / 2))
    timer.unref()
    conn.once('close', () => clearTimeout(timer))
  })
}
