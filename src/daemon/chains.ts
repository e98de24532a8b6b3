/**
 * Creating and joining chains in a storage's registry: the rules `init` and `join` follow,
 * shared by the daemon and the CLI's direct path.
 */
import { err } from '../errors.js'
import { discoveryKey, formatKey } from '../feed/keys.js'
import type { ChainNode, ChainNodeOptions } from '../node.js'
import type { ChainRecord, Storage } from '../storage.js'
import type { ChainInfo } from './chain-api.js'

/** Opens a ChainNode on the storage (the caller tracks it for close). */
export type OpenNode = (opts: ChainNodeOptions) => Promise<ChainNode>

/** Create the storage's chain; CHAIN_EXISTS if it already holds one. */
export async function createChain (storage: Storage, open: OpenNode, name: string | undefined): Promise<ChainNode> {
  const existing = (await storage.chains())[0]
  if (existing !== undefined) {
    const key = formatKey(Buffer.from(existing.key, 'hex'))
    throw err('CHAIN_EXISTS', `storage ${storage.dir} already has chain ${key}; use another --storage for a new chain`)
  }
  const node = await open({ name })
  await storage.addChain({ key: node.key.toString('hex'), name: node.name, addedAt: Date.now(), creator: true })
  return node
}

/** Follow a chain (idempotent: a chain already followed is just opened). */
export async function joinChain (storage: Storage, open: OpenNode, key: Buffer): Promise<{ node: ChainNode, joined: boolean }> {
  const had = await storage.chain(key.toString('hex'))
  if (had === null) await notADiscoveryKey(storage, key)
  const node = await open({ key })
  if (had === null) await storage.addChain({ key: node.key.toString('hex'), name: node.name, addedAt: Date.now(), creator: false })
  return { node, joined: had === null }
}

/**
 * The registry record a command acts on: the chain with `key`, or the first (oldest). NO_CHAIN if
 * the storage has none, UNKNOWN_CHAIN if it does not follow `key`.
 */
export async function findChain (storage: Storage, key: Buffer | null): Promise<ChainRecord> {
  if (key !== null) {
    const rec = await storage.chain(key.toString('hex'))
    if (rec === null) await notADiscoveryKey(storage, key)
    if (rec === null) throw err('UNKNOWN_CHAIN', `this storage does not follow chain ${formatKey(key)} (see \`feedchain status\` for the chains it has)`)
    return rec
  }
  const first = (await storage.chains())[0]
  if (first === undefined) throw err('NO_CHAIN')
  return first
}

/**
 * DISCOVERY_KEY_GIVEN if `key` is the discovery key of a chain the storage follows: `status
 * --json` prints both, and a discovery key is a well-formed key that would otherwise open (or
 * join) an empty chain nobody writes to.
 */
async function notADiscoveryKey (storage: Storage, key: Buffer): Promise<void> {
  for (const rec of await storage.chains()) {
    const chainKey = Buffer.from(rec.key, 'hex')
    if (discoveryKey(chainKey).equals(key)) {
      throw err('DISCOVERY_KEY_GIVEN', `${formatKey(key)} is the discovery key of chain ${formatKey(chainKey)}, not a chain key: use the chain key (\`feedchain share\` prints it)`)
    }
  }
}

/** What init and join print about a chain. */
export function chainInfo (node: ChainNode, storage: Storage): ChainInfo {
  return { key: formatKey(node.key), writerKey: formatKey(node.writerKey), name: node.name, storage: storage.dir }
}
