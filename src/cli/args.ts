/**
 * Option declarations shared by several commands and the pure validators that turn option
 * strings into typed values. Validators only throw FeedchainError and never touch a file.
 */
import { Option, type Command } from 'commander'
import { FeedchainError } from '../errors.js'
import { parseKey } from '../feed/keys.js'
import { checkNetConfig, type NetConfig } from '../daemon/net-config.js'

/** Declare `--chain <key>` (act on that chain instead of the first one in the storage). */
export function chainOption (cmd: Command): void {
  cmd.addOption(new Option('--chain <key>', 'act on this chain (z-base32 or hex key) instead of the first one in the storage'))
}

/** Declare `--json` (print NDJSON instead of text). */
export function jsonOption (cmd: Command): void {
  cmd.addOption(new Option('--json', 'print one JSON object per line (NDJSON) instead of text'))
}

/** The `--chain` option as a key, or null if not given. Throws INVALID_KEY. */
export function chainArg (opts: Record<string, unknown>): Buffer | null {
  const v = opts.chain
  if (v === undefined) return null
  return parseKey(String(v), 'chain key')
}

/** The `--json` flag. */
export function jsonArg (opts: Record<string, unknown>): boolean {
  return opts.json === true
}

/**
 * A whole decimal number ≥ 0 given on the command line (`-n 20`, a position). Throws
 * INVALID_NUMBER naming `what` for anything else: negative, fractional, hex, empty, too large.
 */
export function wholeNumber (value: unknown, what: string): number {
  const s = String(value).trim()
  if (!/^\d+$/.test(s)) throw new FeedchainError('INVALID_NUMBER', `${what} must be a whole number ≥ 0, got "${clip(s)}"`)
  const n = Number(s)
  if (!Number.isSafeInteger(n)) throw new FeedchainError('INVALID_NUMBER', `${what} is too large: ${clip(s)}`)
  return n
}

/** The operand at `i` as a string (commander guarantees required ones are present). */
export function operand (input: { operands: unknown[] }, i: number): string {
  const v = input.operands[i]
  if (typeof v !== 'string') throw new FeedchainError('USAGE', `missing argument ${i + 1}`)
  return v
}

function clip (s: string): string {
  return s.length > 24 ? s.slice(0, 20) + '…' : s
}

/**
 * `--bootstrap` else FEEDCHAIN_BOOTSTRAP, `--host` else FEEDCHAIN_HOST (empty variables count as
 * unset). Throws INVALID_ARGUMENT on a malformed list or host. Pure: touches no file or socket.
 */
export function netArgs (opts: Record<string, unknown>, env: NodeJS.ProcessEnv): NetConfig {
  const pick = (flag: unknown, name: string): string | undefined => {
    if (flag !== undefined) return String(flag)
    const v = env[name]
    return v === undefined || v === '' ? undefined : v
  }
  const out: NetConfig = { bootstrap: pick(opts.bootstrap, 'FEEDCHAIN_BOOTSTRAP'), host: pick(opts.host, 'FEEDCHAIN_HOST') }
  checkNetConfig(out)
  return out
}

/** A duration in seconds given on the command line (`--timeout 2.5`): a number > 0. Returns ms. */
export function seconds (value: unknown, what: string): number {
  const s = String(value).trim()
  if (!/^\d+(\.\d+)?$/.test(s)) throw new FeedchainError('INVALID_NUMBER', `${what} must be a number of seconds > 0, got "${clip(s)}"`)
  const n = Number(s)
  if (!(n > 0) || !Number.isFinite(n) || n > 365 * 24 * 3600) throw new FeedchainError('INVALID_NUMBER', `${what} must be a number of seconds > 0 (at most a year), got "${clip(s)}"`)
  // at least 1 ms: a value > 0 must not round to 0, which would mean "already timed out"
  return Math.max(1, Math.round(n * 1000))
}
