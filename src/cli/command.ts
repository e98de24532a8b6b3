/**
 * The shape of a CLI command: commander declares the syntax, `args` turns what commander parsed
 * into typed, validated arguments (pure: touches no file, so bad input is rejected before any
 * storage is opened), and `run` does the work against a Context.
 *
 * Start-up time: every command's definition is loaded on every run (the parser, --help and
 * completion need them all), so a command file imports only light modules at its top — commander,
 * the CLI's own helpers, errors, keys — and loads the library's heavy parts (storage, network,
 * files, the daemon) with `await import()` inside `run`, or inside an async `args` when a check
 * needs one of their constants. test/cli-startup.test.js checks what `--version` loads.
 */
import type { Command } from 'commander'
import type { Context } from './context.js'

/** Raw results of commander's parse handed to a command's `args`. */
export interface ParsedInput {
  /** declared positional arguments, in order (a variadic one is an array) */
  operands: unknown[]
  /** options of the command and of its parents (global ones such as --storage) */
  opts: Record<string, unknown>
  /** the whole commander program (completion reads the commands and options from it) */
  program?: Command
}

/** One command, with its typed arguments `A`. */
export interface CommandSpec<A> {
  /** name under its parent (`log`, or `add` under `writers`) */
  name: string
  /** one line for the overview and the top of --help */
  summary: string
  /** longer text for --help; defaults to the summary */
  description?: string
  /** full command lines with a short comment, shown under "Examples" in --help */
  examples: string[]
  /** declare arguments and options on the commander command */
  configure: (cmd: Command) => void
  /** validate and convert; throws FeedchainError (USAGE, INVALID_*) on bad input (async only to load a heavy module's constant) */
  args: (input: ParsedInput) => A | Promise<A>
  /** do the work */
  run: (ctx: Context, args: A) => Promise<void>
  /** a signal is how this command normally ends (`daemon`): it closes and exits 0, not 130/143 */
  stopsOnSignal?: boolean
  /** after a signal, exit at the latest after this long, ms (default HARD_DEADLINE_MS) */
  hardDeadlineMs?: number
  /** left out of the overview, --help and completion (plumbing such as `complete`) */
  hidden?: boolean
}

/** A command with its argument type hidden, so different commands fit in one list. */
export interface AnyCommand {
  name: string
  summary: string
  description: string
  examples: string[]
  configure: (cmd: Command) => void
  /** validate the input now; the returned function runs the command later */
  prepare: (input: ParsedInput) => Promise<(ctx: Context) => Promise<void>>
  /** commands under this one (e.g. `writers add`), if it is a group */
  subcommands?: AnyCommand[]
  /** the subcommand run when the group is given without one */
  defaultSubcommand?: string
  /** see CommandSpec */
  stopsOnSignal?: boolean
  hardDeadlineMs?: number
  hidden?: boolean
}

/** Wrap a typed command spec for the command table. */
export function defineCommand<A> (spec: CommandSpec<A>): AnyCommand {
  return {
    name: spec.name,
    summary: spec.summary,
    description: spec.description ?? spec.summary,
    examples: spec.examples,
    configure: spec.configure,
    async prepare (input) {
      const a = await spec.args(input)
      return (ctx) => spec.run(ctx, a)
    },
    ...(spec.stopsOnSignal !== undefined ? { stopsOnSignal: spec.stopsOnSignal } : {}),
    ...(spec.hardDeadlineMs !== undefined ? { hardDeadlineMs: spec.hardDeadlineMs } : {}),
    ...(spec.hidden !== undefined ? { hidden: spec.hidden } : {}),
  }
}
