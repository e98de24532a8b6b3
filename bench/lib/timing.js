// Monotonic timing helpers. All durations are milliseconds (float).

/** Current monotonic time in ms. */
export function now () {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Runs `fn` and returns { ms, value }. */
export async function time (fn) {
  const start = now()
  const value = await fn()
  return { ms: now() - start, value }
}

/** Items per second for `count` items done in `ms` milliseconds. */
export function perSecond (count, ms) {
  return ms > 0 ? count / (ms / 1000) : Infinity
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt (n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a'
  if (!Number.isFinite(n)) return String(n)
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** Formats a duration in ms as "123 ms" or "12.3 s". */
export function fmtMs (ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return 'n/a'
  return ms >= 10_000 ? `${fmt(ms / 1000, 1)} s` : `${fmt(ms, ms < 10 ? 2 : 0)} ms`
}

/** Formats a ratio as "123.4x". */
export function fmtRatio (r) {
  if (r === null || r === undefined || Number.isNaN(r)) return 'n/a'
  if (!Number.isFinite(r)) return 'inf'
  return `${fmt(r, r < 10 ? 2 : 1)}x`
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB () {
  // resourceUsage().maxRSS is in KiB on Linux.
  return process.resourceUsage().maxRSS / 1024
}
