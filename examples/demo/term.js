// Narration for the demo: headings, the command lines each person runs, their real output
// (indented, trimmed when long), and checks. Colour only on a TTY and never with NO_COLOR (the
// rule the CLI itself follows, src/cli/output.ts).
import pc from 'picocolors'
import { shellLine } from './procs.js'

/** True when stdout is a terminal and NO_COLOR is unset or empty. */
export const useColor = process.stdout.isTTY === true && (process.env.NO_COLOR === undefined || process.env.NO_COLOR === '')
/** picocolors functions, no-ops without colour. */
export const c = pc.createColors(useColor)

/** Lines of a command's output shown before it is trimmed (the head and tail are kept). */
const MAX_LINES = 14
/** Characters of one output line shown (keys are 52; NDJSON records can be long). */
const MAX_LINE = 160

const PERSON_COLOR = { alice: c.magenta, bob: c.cyan, carol: c.yellow }

/** A person's name, coloured. */
export function who (name) {
  return (PERSON_COLOR[name] ?? c.bold)(name)
}

/** A step heading. */
export function heading (n, title) {
  console.log(`\n${c.bold(`${n}. ${title}`)}`)
}

/** A sentence of narration. */
export function note (text) {
  console.log(c.dim('  ' + text))
}

/** The prompt and command line `name $ feedchain args…` (what the person types). */
export function commandLine (name, args, suffix = '') {
  console.log(`${who(name)} ${c.dim('$')} ${c.bold(shellLine(['feedchain', ...args]))}${suffix}`)
}

/**
 * A command's output (stdout and stderr in the order they arrived), indented; long output keeps
 * its first and last lines, long lines are cut.
 */
export function output (text) {
  let lines = text.replace(/\n+$/, '').split('\n').filter((l, i, all) => !(l === '' && all.length === 1))
  if (lines.length > MAX_LINES) {
    const tail = 4
    const cut = lines.length - (MAX_LINES - tail - 1) - tail
    lines = [...lines.slice(0, MAX_LINES - tail - 1), c.dim(`… ${cut} more lines …`), ...lines.slice(-tail)]
  }
  for (const l of lines) console.log('    ' + (l.length > MAX_LINE ? l.slice(0, MAX_LINE - 1) + '…' : l))
}

/** A passed check. */
export function passed (what) {
  console.log(`  ${c.green('✓')} ${what}`)
}

/** A failed check (the story stops after it). */
export function failed (what) {
  console.log(`  ${c.red('✗')} ${what}`)
}

/** The first `n` characters of a key or hash, for tables. */
export function short (s, n = 12) {
  return typeof s === 'string' ? s.slice(0, n) : '-'
}

/** A duration in ms as text: `412 ms`, `3.4 s`. */
export function ms (n) {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`
}
