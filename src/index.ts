/** feedchain: peer-to-peer append-only log sync. The public library API. */
export { ChainNode, cutBlocks } from './node.js'
export type { ChainNodeOptions, ChainEntry, ChainStatus, WriterStatus, AppendResult, EntryData, EntryTypeName } from './node.js'
export { Storage } from './storage.js'
export type { ChainRecord, StorageOptions } from './storage.js'
export { FeedchainError, ERROR_CODES, isFeedchainError } from './errors.js'
export type { ErrorCode } from './errors.js'
export { parseKey, formatKey, discoveryKey } from './feed/keys.js'
export { MAX_ENTRY_SIZE, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES } from './feed/schema.js'
