// The machine-readable line run.js collects from each benchmark's stdout.

export const RESULT_PREFIX = 'BENCH_RESULT '

/**
 * Prints `BENCH_RESULT {json}` on its own line. The object is
 * { bench, rows: [{ name, feedchain, anchor, unit, ratio, target, targetRatio, pass, note? }], ... }.
 */
export function emitResult (result) {
  process.stdout.write('\n' + RESULT_PREFIX + JSON.stringify(result) + '\n')
}

/** Finds the last BENCH_RESULT line in `text` and parses it (null if none). */
export function parseResult (text) {
  const lines = text.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]
    if (line.startsWith(RESULT_PREFIX)) return JSON.parse(line.slice(RESULT_PREFIX.length))
  }
  return null
}
