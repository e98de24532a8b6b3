/**
 * Streaming blake2b-256 of a whole file, the hash a FILE entry carries. The same function
 * (libsodium's crypto_generichash with a 32-byte output) that hypercore-crypto uses for every
 * other hash in the project, fed incrementally so memory stays constant whatever the file size.
 */
import sodium from 'sodium-universal'

/** Length of a file hash in bytes (blake2b-256). */
export const FILE_HASH_BYTES = 32

/** An incremental blake2b-256. */
export class FileHasher {
  private readonly state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES)
  private done = false
  /** bytes hashed so far */
  bytes = 0

  constructor () {
    sodium.crypto_generichash_init(this.state, null, FILE_HASH_BYTES)
  }

  /** Hash more bytes. */
  update (data: Uint8Array): void {
    if (this.done) throw new Error('FileHasher: update after digest')
    sodium.crypto_generichash_update(this.state, data)
    this.bytes += data.byteLength
  }

  /** The 32-byte hash of everything given to update(); the hasher is finished afterwards. */
  digest (): Buffer {
    if (this.done) throw new Error('FileHasher: digest called twice')
    this.done = true
    const out = Buffer.alloc(FILE_HASH_BYTES)
    sodium.crypto_generichash_final(this.state, out)
    return out
  }
}

/** blake2b-256 of one buffer (tests, small files). */
export function hashBytes (data: Uint8Array): Buffer {
  const h = new FileHasher()
  h.update(data)
  return h.digest()
}
