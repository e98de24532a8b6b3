/**
 * The running chain hash over the final prefix (design §4, Chain hash).
 *
 * Byte layout, fixed forever (peers compare these hashes to know they agree):
 *
 *   H_0 = hash(chainKey)
 *   for every counted entry, in final order (entry `index` of block `seq` of `writer`):
 *   H   = hash(H_prev[32] ‖ writerKey[32] ‖ uint64le(seq) ‖ uint32le(index) ‖ blockHash[32])
 *
 * i.e. 108 bytes per step. ACK blocks and skipped blocks (not a member, invalid) contribute no
 * entries and leave H unchanged. `hash` is the injected blake2b-256 over the concatenated parts;
 * it must not keep references to the parts (the message is a reused scratch buffer).
 */
import type { HashFn } from './types.js'

/** H_0 of a chain. */
export function genesisHash (hash: HashFn, chainKey: Uint8Array): Uint8Array {
  return hash([chainKey])
}

/** Folds blocks into the running chain hash, reusing one 108-byte message buffer. */
export class ChainHasher {
  private readonly msg = new Uint8Array(108)
  private readonly view = new DataView(this.msg.buffer)
  // one contiguous message per step: a single part is markedly cheaper for batch hashers
  // (sodium's generichash_batch) than four
  private readonly parts = [this.msg]

  constructor (private readonly hash: HashFn) {}

  /** Folds the `entries` entries of one block into `h`; returns the hash after the block. */
  fold (h: Uint8Array, writerKey: Uint8Array, seq: number, blockHash: Uint8Array, entries: number): Uint8Array {
    if (entries === 0) return h
    const { msg, view } = this
    msg.set(writerKey, 32)
    view.setUint32(64, seq % 0x100000000, true)
    view.setUint32(68, Math.floor(seq / 0x100000000), true)
    msg.set(blockHash, 76)
    for (let i = 0; i < entries; i++) {
      msg.set(h, 0)
      view.setUint32(72, i, true)
      h = this.hash(this.parts)
    }
    return h
  }
}

/** Folds the `entries` entries of one block into `h` (one-off form of {@link ChainHasher.fold}). */
export function foldBlock (hash: HashFn, h: Uint8Array, writerKey: Uint8Array, seq: number, blockHash: Uint8Array, entries: number): Uint8Array {
  return new ChainHasher(hash).fold(h, writerKey, seq, blockHash, entries)
}
