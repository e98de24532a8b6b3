/**
 * DHT bootstrap addresses: parsing `host:port,host:port` (the `--bootstrap` flag and
 * `FEEDCHAIN_BOOTSTRAP`) and the rule for the address the DHT binds to (design §5).
 */
import { err } from '../errors.js'

/** One DHT bootstrap node. `host` is an IPv4 address, a host name, or `ip@hostname` (as HyperDHT's defaults). */
export interface BootstrapNode {
  host: string
  port: number
}

/** Bootstrap nodes as a user gives them: `'h:p,h:p'`, `['h:p']` or `[{ host, port }]`. */
export type BootstrapInput = string | ReadonlyArray<string | BootstrapNode>

/** Options for the HyperDHT feedchain creates. */
export interface DhtOptions {
  bootstrap?: BootstrapNode[]
  host?: string
}

// A DNS label or dotted IPv4 address; `ip@hostname` is HyperDHT's "try this IP, else resolve" form.
const HOST_PART = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * Parse bootstrap nodes. Throws INVALID_ARGUMENT naming the bad item on malformed input: empty
 * lists or items, a missing or non-numeric port, a port outside 1–65535, an invalid host, and
 * IPv6 addresses (HyperDHT 6 uses IPv4 sockets only, so `[::1]:port` is recognized and refused).
 */
export function parseBootstrap (input: BootstrapInput): BootstrapNode[] {
  const items = typeof input === 'string' ? input.split(',') : [...input]
  const nodes: BootstrapNode[] = []
  for (const item of items) {
    if (typeof item === 'string') {
      const s = item.trim()
      if (s === '') {
        if (typeof input === 'string' && items.length > 1) throw err('INVALID_ARGUMENT', `bootstrap list "${input}" has an empty item`)
        continue
      }
      nodes.push(parseNode(s))
    } else if (item !== null && typeof item === 'object') {
      nodes.push(checkNode(item.host, item.port, `${String(item.host)}:${String(item.port)}`))
    } else {
      throw err('INVALID_ARGUMENT', `bootstrap node must be "host:port" or { host, port }, got ${typeof item}`)
    }
  }
  if (nodes.length === 0) throw err('INVALID_ARGUMENT', 'bootstrap list is empty: expected host:port[,host:port…]')
  return nodes
}

function parseNode (s: string): BootstrapNode {
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end > 0 && s[end + 1] === ':') {
      throw err('INVALID_ARGUMENT', `bootstrap node "${s}": IPv6 addresses are not supported (HyperDHT uses IPv4)`)
    }
    throw err('INVALID_ARGUMENT', `bootstrap node "${s}" is not host:port`)
  }
  const colon = s.lastIndexOf(':')
  if (colon === -1) throw err('INVALID_ARGUMENT', `bootstrap node "${s}" has no port: expected host:port`)
  const host = s.slice(0, colon)
  const portText = s.slice(colon + 1)
  if (host.includes(':')) {
    throw err('INVALID_ARGUMENT', `bootstrap node "${s}": IPv6 addresses are not supported (HyperDHT uses IPv4); expected host:port`)
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw err('INVALID_ARGUMENT', `bootstrap node "${s}": port "${portText}" is not a number`)
  return checkNode(host, Number(portText), s)
}

function checkNode (host: unknown, port: unknown, what: string): BootstrapNode {
  if (typeof host !== 'string' || !validHost(host)) throw err('INVALID_ARGUMENT', `bootstrap node "${what}": invalid host`)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw err('INVALID_ARGUMENT', `bootstrap node "${what}": port must be an integer from 1 to 65535`)
  }
  return { host, port }
}

function validHost (host: string): boolean {
  const parts = host.split('@')
  if (parts.length > 2) return false
  if (parts.length === 2 && !isIPv4(parts[0] ?? '')) return false
  return parts.every((p) => HOST_PART.test(p) && (!/^[0-9.]+$/.test(p) || isIPv4(p)))
}

/** True for a dotted-quad IPv4 address. */
export function isIPv4 (host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  return m !== null && m.slice(1).every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')))
}

/** True if `host` is on the loopback network: 127.0.0.0/8 or `localhost` (for `ip@name`, the IP decides). */
export function isLoopback (host: string): boolean {
  const h = host.includes('@') ? (host.split('@')[0] ?? '') : host
  if (h.toLowerCase() === 'localhost') return true
  return isIPv4(h) && h.startsWith('127.')
}

/**
 * The DHT options for a node: the bootstrap list parsed, and the bind host — the one given, else
 * 127.0.0.1 when every bootstrap node is on loopback (a local testnet: HyperDHT bound to 0.0.0.0
 * would advertise and probe the machine's other interfaces), else HyperDHT's default. With
 * neither given the result is `{}`: the public HyperDHT (the product default; never in tests).
 */
export function resolveDhtOptions (opts: { bootstrap?: BootstrapInput | undefined, host?: string | undefined }): DhtOptions {
  const out: DhtOptions = {}
  if (opts.bootstrap !== undefined) out.bootstrap = parseBootstrap(opts.bootstrap)
  if (opts.host !== undefined) {
    if (typeof opts.host !== 'string' || !isIPv4(opts.host)) throw err('INVALID_ARGUMENT', `host "${String(opts.host)}" must be an IPv4 address`)
    out.host = opts.host
  } else if (out.bootstrap !== undefined && out.bootstrap.every((n) => isLoopback(n.host))) {
    out.host = '127.0.0.1'
  }
  return out
}
