/**
 * Shell completion, read off the commander program itself: every visible command and
 * subcommand (`writers add`), every option (with the global ones a subcommand inherits), and the
 * choices of arguments that have them. The shell scripts and the matching of the typed words
 * come from @bomb.sh/tab: its script for a shell calls `feedchain complete -- <words…>` on each
 * TAB, and `completeWords` answers with one `value<TAB>description` line per candidate and a
 * `:<directive>` line.
 */
import { Console } from 'node:console'
import { Writable } from 'node:stream'
import type { Command, Option } from 'commander'
import { RootCommand, type Command as TabCommand } from '@bomb.sh/tab'
import { SHELLS, type Shell } from './completion-names.js'

export { COMPLETE_COMMAND, SHELLS, type Shell } from './completion-names.js'

/**
 * The completion tree of `program`: a RootCommand with one node per visible command path
 * (`log`, `writers add`), each with its own options, the options of its parents, and its
 * arguments. Built fresh on each call (tab's default export is a process-wide singleton).
 */
export function completionTree (program: Command): RootCommand {
  const root = new RootCommand()
  addOptions(root, program, [])
  addArguments(root, program)
  const walk = (parent: Command, path: string, inherited: Command[]): void => {
    for (const cmd of parent.createHelp().visibleCommands(parent)) {
      const p = path === '' ? cmd.name() : `${path} ${cmd.name()}`
      const node = root.command(p, cmd.summary() !== '' ? cmd.summary() : firstLine(cmd.description()))
      addOptions(node, cmd, inherited)
      addArguments(node, cmd)
      walk(cmd, p, [cmd, ...inherited])
    }
  }
  walk(program, '', [program])
  return root
}

/**
 * The completion script for `shell`, calling `executable` (`feedchain`, or a path) for
 * candidates. Throws on a shell not in SHELLS (the command declares them as choices).
 */
export function completionScript (shell: Shell, program: Command, executable = program.name()): string {
  if (!SHELLS.includes(shell)) throw new Error(`no completion script for ${String(shell)}`)
  const root = completionTree(program)
  return captureConsole(() => { root.setup(program.name(), executable, shell) })
}

/**
 * Candidates for the words typed after the program name, the last being the word under the
 * cursor ('' right after a space): `value\tdescription` lines and a final `:<directive>` line
 * (see tab's ShellCompDirective), as the scripts read them.
 */
export function completeWords (program: Command, words: string[]): string {
  const root = completionTree(program)
  // tab's parse drops a trailing '' itself (it means "a new word"); give it at least that
  const args = words.length === 0 ? [''] : [...words]
  return captureConsole(() => { root.parse(args) })
}

/** Add the visible options of `cmd` and of `inherited` (its parents: commander takes them after the subcommand too). */
function addOptions (node: TabCommand, cmd: Command, inherited: Command[]): void {
  const seen = new Set<string>()
  for (const owner of [cmd, ...inherited]) {
    for (const opt of owner.createHelp().visibleOptions(owner)) {
      const long = opt.long?.replace(/^--/, '')
      if (long === undefined || seen.has(long)) continue
      // --help and --version of a parent are not options of the subcommand
      if (owner !== cmd && (long === 'help' || long === 'version')) continue
      seen.add(long)
      addOption(node, opt, long)
    }
  }
}

function addOption (node: TabCommand, opt: Option, long: string): void {
  const alias = opt.short !== undefined ? opt.short.replace(/^-/, '') : undefined
  const description = opt.description
  if (!opt.required && !opt.optional) {
    // a flag: tab treats an option without a handler as boolean (takes no value)
    if (alias !== undefined) node.option(long, description, alias)
    else node.option(long, description)
    return
  }
  // an option with a value: a handler (even one offering nothing) tells tab the next word is its value
  const choices = opt.argChoices ?? []
  node.option(long, description, (complete) => { for (const c of choices) complete(c, '') }, alias)
}

function addArguments (node: TabCommand, cmd: Command): void {
  for (const arg of cmd.registeredArguments) {
    const choices = arg.argChoices ?? []
    if (choices.length > 0) node.argument(arg.name(), (complete) => { for (const c of choices) complete(c, '') }, arg.variadic)
    else node.argument(arg.name(), undefined, arg.variadic)
  }
}

function firstLine (s: string): string {
  return s.split('\n')[0] ?? ''
}

/**
 * Run `fn`, returning what it printed with console.log. tab prints its scripts and candidates
 * with console.log; capturing them lets the CLI write them to its own stdout (tests run `main`
 * with streams of their own). `fn` is synchronous, so nothing else can print in between.
 */
function captureConsole (fn: () => void): string {
  const chunks: string[] = []
  const sink = new Writable({
    decodeStrings: false,
    write (chunk: string | Buffer, _enc, cb) { chunks.push(String(chunk)); cb() },
  })
  const saved = globalThis.console
  globalThis.console = new Console({ stdout: sink, stderr: sink, colorMode: false })
  try {
    fn()
  } finally {
    globalThis.console = saved
  }
  return chunks.join('')
}
