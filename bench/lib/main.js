// "Is this module the script node was asked to run?" for benchmark files that are both
// importable and runnable.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** True when `importMetaUrl` is the entry point of this process. */
export function isMain (importMetaUrl) {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(importMetaUrl)
}
