// Hand-written declaration for the part of sodium-universal feedchain calls (streaming
// blake2b). Belongs with the other Holepunch declarations in src/types/holepunch.d.ts; kept here
// until that file's owner moves it.

declare module 'sodium-universal' {
  const sodium: {
    /** bytes of a crypto_generichash state */
    crypto_generichash_STATEBYTES: number
    crypto_generichash_init (state: Buffer, key: Buffer | null, outputLength: number): void
    crypto_generichash_update (state: Buffer, input: Uint8Array): void
    crypto_generichash_final (state: Buffer, output: Buffer): void
  }
  export default sodium
}
