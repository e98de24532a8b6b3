// Benchmark sizes come from environment variables, with defaults that keep a full
// `npm run bench` within a few minutes on a 2-core machine.

/** Integer from env var `name` (underscores allowed: 100_000), or `fallback` when unset/empty. */
export function envInt (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw.replace(/_/g, ''))
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  return n
}

/** Boolean flag from env var `name` ('1', 'true', 'yes' are true). */
export function envFlag (name, fallback = false) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  return /^(1|true|yes|on)$/i.test(raw)
}
