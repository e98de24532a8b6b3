/**
 * The feedchain command line: builds the parser (commander) from the command table, validates
 * the input, runs one command against a Context, and turns every outcome into one exit code
 * (policy in exit.ts). Ctrl-C / SIGTERM close the node and storage gracefully, with a hard
 * deadline; a closed stdout (`feedchain log | head`) ends the command quietly.
 *
 * Nothing here, in the command definitions or in Context imports the library's heavy modules
 * (storage, network, files, daemon) at load time: `--version`, `--help` and completion never load
 * them, and a command loads only what it runs (see command.ts).
 */
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Readable, Writable } from 'node:stream'
import { Command, CommanderError, Option } from 'commander'
import { FeedchainError } from '../errors.js'
import { tuneAllocator } from '../allocator.js'
import type { AnyCommand, ParsedInput } from './command.js'
import { Context, resolveStorageDir } from './context.js'
import type { NetConfig } from '../daemon/net-config.js'
import { EXIT_SIGNAL, reportError, reportSignal } from './exit.js'
import { Output } from './output.js'
import { netArgs } from './args.js'
import { appendCommand } from './commands/append.js'
import { daemonCommand } from './commands/daemon.js'
import { initCommand } from './commands/init.js'
import { joinCommand } from './commands/join.js'
import { logCommand } from './commands/log.js'
import { shareCommand } from './commands/share.js'
import { showCommand } from './commands/show.js'
import { statusCommand } from './commands/status.js'
import { syncCommand } from './commands/sync.js'
import { writersCommand } from './commands/writers.js'
import { sendCommand } from './commands/send.js'
import { filesCommand } from './commands/files.js'
import { getCommand } from './commands/get.js'
import { verifyCommand } from './commands/verify.js'
import { completeCommand, completionCommand } from './commands/completion.js'

/**
 * Every command, in the order the overview lists them. A new command is one file under
 * commands/ and one entry here (file commands — send, files, get — go after writers).
 */
export const COMMANDS: AnyCommand[] = [
  initCommand, joinCommand, shareCommand, appendCommand, logCommand, showCommand, statusCommand, writersCommand,
  sendCommand, filesCommand, getCommand,
  verifyCommand, syncCommand, daemonCommand,
  completionCommand, completeCommand,
]

/** After a signal, how long the command has to stop by itself before the node is closed under it, ms. */
export const CLOSE_GRACE_MS = 1000
/** After a signal, the process exits at the latest after this long, closed or not, ms. */
export const HARD_DEADLINE_MS = 3000

/** The streams and environment the CLI runs with (tests may pass their own). */
export interface CliIO {
  stdin: Readable & { isTTY?: boolean }
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  /**
   * Aborting it stops the command as SIGTERM does (for callers running `main` in their own
   * process, such as tests). The caller owns the process: no hard-deadline exit follows.
   */
  signal?: AbortSignal | undefined
}

type Signal = keyof typeof EXIT_SIGNAL

const OVERVIEW_AFTER = `
Storage: --storage DIR, else $FEEDCHAIN_STORAGE, else ~/.feedchain. Keys print in z-base32; hex is
accepted too. Data goes to stdout, messages to stderr; --json prints one JSON object per line.
Set NO_COLOR to turn colour off, FEEDCHAIN_DEBUG=1 for stack traces.

Network: the public HyperDHT, unless --bootstrap host:port[,host:port] (or $FEEDCHAIN_BOOTSTRAP)
names other DHT nodes; --host (or $FEEDCHAIN_HOST) sets the address to bind, 127.0.0.1 by default
when every bootstrap node is on loopback. While \`feedchain daemon\` runs on a storage, the other
commands go through it (a socket in the storage directory).

Examples:
  $ feedchain init --name "team notes"     create a chain, print its key
  $ feedchain join <key>                   follow someone's chain and sync it
  $ feedchain append "hello world"         append an entry
  $ seq 1 1000 | feedchain append -        append stdin, one entry per line
  $ feedchain log -n 20                    the last 20 entries (~ marks pending ones)
  $ feedchain log -f                       follow new entries live
  $ feedchain status --json                length, final length, head hash, writers, peers
  $ feedchain daemon                       stay online and seed

Run \`feedchain <command> --help\` for a command's options and examples.`

function packageVersion (): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/** What the parser selected: the command, its path and what commander parsed for it. */
interface Selection {
  command: AnyCommand
  path: string
  input: ParsedInput
}

/** Build the commander program; `onSelect` receives the command to run (nothing runs during parsing). */
export function buildProgram (io: Pick<CliIO, 'stdout' | 'stderr'>, onSelect: (s: Selection) => void, onErrorIn: (path: string) => void): Command {
  const program = new Command('feedchain')
  program
    .description('Peer-to-peer append-only logs: every user a signed feed, one shared, ordered chain.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addOption(new Option('--storage <dir>', 'storage directory (default: $FEEDCHAIN_STORAGE or ~/.feedchain)'))
    .addOption(new Option('--bootstrap <host:port,...>', 'DHT bootstrap nodes (default: $FEEDCHAIN_BOOTSTRAP, else the public HyperDHT)'))
    .addOption(new Option('--host <ip>', 'address the DHT binds to (default: $FEEDCHAIN_HOST; 127.0.0.1 with a loopback bootstrap)'))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => { io.stdout.write(s) },
      // commander writes to stderr only on errors (the help after a missing command), and each
      // of them also throws: main reports it in one line instead
      writeErr: () => {},
      outputError: () => { onErrorIn('feedchain') },
    })
    .addHelpText('after', OVERVIEW_AFTER)

  const add = (parent: Command, spec: AnyCommand, path: string, isDefault: boolean): void => {
    const cmd = parent.command(spec.name, { ...(isDefault ? { isDefault: true } : {}), ...(spec.hidden === true ? { hidden: true } : {}) })
    cmd.summary(spec.summary).description(spec.description)
    // errors are printed in one line by exit.ts; remember which command failed for the hint
    cmd.configureOutput({ outputError: () => { onErrorIn(path) } })
    spec.configure(cmd)
    if (spec.examples.length > 0) cmd.addHelpText('after', '\nExamples:\n' + spec.examples.map((e) => '  $ ' + e).join('\n'))
    if (spec.subcommands !== undefined) {
      for (const sub of spec.subcommands) add(cmd, sub, `${path} ${sub.name}`, sub.name === spec.defaultSubcommand)
      return
    }
    // A group's default subcommand (`writers` → `writers list`) sees the group's unknown
    // subcommands as extra arguments: report those as what they are.
    if (isDefault) cmd.allowExcessArguments(true)
    cmd.action((...a: unknown[]) => {
      const self = a[a.length - 1] as Command
      const extra = self.args.slice(self.registeredArguments.length)
      if (isDefault && extra.length > 0) {
        const group = path.slice(0, path.lastIndexOf(' '))
        const names = parent.commands.map((c) => c.name()).filter((n) => n !== 'help').join(', ')
        throw new FeedchainError('USAGE', `unknown command '${extra[0] ?? ''}' for '${group}' (${names}); see \`${group} --help\``)
      }
      onSelect({ command: spec, path, input: { operands: self.processedArgs as unknown[], opts: self.optsWithGlobals(), program } })
    })
  }
  for (const spec of COMMANDS) add(program, spec, `feedchain ${spec.name}`, false)
  return program
}

/**
 * The error for commander's "show the help as an error": no command given (only global options),
 * or `help <name>` naming no command. Follows the operands commander kept down the command tree
 * to name the group it happened in.
 */
function helpError (program: Command): FeedchainError {
  const args = program.args
  let cmd = program
  let path = 'feedchain'
  let i = 0
  for (; i < args.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === args[i])
    if (sub === undefined) break
    cmd = sub
    path += ' ' + sub.name()
  }
  const name = args[i + 1]
  if (args[i] === 'help' && name !== undefined) return new FeedchainError('USAGE', `unknown command '${name}' for '${path}'; see \`${path} --help\``)
  return new FeedchainError('USAGE', `missing command; see \`${path} --help\``)
}

/**
 * Run the CLI on `argv` (without node and script) and return the exit code. Never throws; the
 * one line on stderr and the code follow exit.ts.
 */
export async function main (argv: string[], io: CliIO): Promise<number> {
  let selected: Selection | null = null
  let errorIn = 'feedchain'
  const program = buildProgram(io, (s) => { selected = s }, (p) => { errorIn = p })

  // `feedchain` alone: the overview, on stdout.
  if (argv.length === 0) {
    program.outputHelp()
    return 0
  }

  let run: ((ctx: Context) => Promise<void>) | null = null
  let storageDir: string
  let json: boolean
  let net: NetConfig
  let command: AnyCommand
  try {
    try {
      await program.parseAsync(argv, { from: 'user' })
    } catch (e) {
      if (!(e instanceof CommanderError)) throw e
      if (e.exitCode === 0) return 0 // --help, --version
      if (e.code === 'commander.help') throw helpError(program)
      const msg = e.message.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')
      throw new FeedchainError('USAGE', `${msg}; see \`${errorIn} --help\``)
    }
    const sel = selected as Selection | null
    if (sel === null) return 0 // help was shown
    // Validate everything before any storage is touched.
    run = await sel.command.prepare(sel.input)
    storageDir = resolveStorageDir(sel.input.opts.storage === undefined ? undefined : String(sel.input.opts.storage), io.env)
    net = netArgs(sel.input.opts, io.env)
    json = sel.input.opts.json === true || String(sel.input.opts.format ?? '').trim().toLowerCase() === 'json' // log --format json
    command = sel.command
  } catch (e) {
    return reportError(e, io.stderr, io.env)
  }

  const controller = new AbortController()
  const out = new Output({ json, stdout: io.stdout, stderr: io.stderr, env: io.env })
  const ctx = new Context({ out, storageDir, signal: controller.signal, stdin: io.stdin, net, version: packageVersion() })
  const hardDeadline = command.hardDeadlineMs ?? HARD_DEADLINE_MS
  let signal: Signal | null = null
  out.onBrokenPipe(() => controller.abort(new FeedchainError('ABORTED', 'stdout closed')))

  const timers: NodeJS.Timeout[] = []
  const onSignal = (sig: Signal, ownProcess = true): void => {
    if (signal !== null) {
      // a second Ctrl-C: stop now
      if (ownProcess) process.exit(reportSignal(sig, io.stderr))
      return
    }
    signal = sig
    controller.abort(new FeedchainError('ABORTED', 'interrupted'))
    // let the command stop by itself; if it is stuck in a wait, close the node under it (a
    // command that stops on signals closes its own resources)
    if (command.stopsOnSignal !== true) timers.push(setTimeout(() => { ctx.close().catch(() => {}) }, CLOSE_GRACE_MS))
    if (ownProcess) {
      timers.push(setTimeout(() => {
        io.stderr.write(`feedchain: did not close within ${hardDeadline / 1000} s; exiting\n`)
        process.exit(EXIT_SIGNAL[sig])
      }, hardDeadline))
    }
    for (const t of timers) t.unref()
  }
  const onInt = (): void => { onSignal('SIGINT') }
  const onTerm = (): void => { onSignal('SIGTERM') }
  const onAbort = (): void => { onSignal('SIGTERM', false) }
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  if (io.signal?.aborted === true) onAbort()
  else io.signal?.addEventListener('abort', onAbort, { once: true })

  let failure: unknown = null
  try {
    await run(ctx)
  } catch (e) {
    failure = e
  }
  try {
    await ctx.close()
  } catch (e) {
    failure ??= e
  }
  await out.flush()
  process.off('SIGINT', onInt)
  process.off('SIGTERM', onTerm)
  io.signal?.removeEventListener('abort', onAbort)
  for (const t of timers) clearTimeout(t)

  if (signal !== null && command.stopsOnSignal === true && failure === null) return 0
  if (signal !== null) return reportSignal(signal, io.stderr)
  if (out.broken) return 0 // the reader of stdout went away (`| head`): not an error
  if (failure !== null) return reportError(failure, io.stderr, io.env)
  return 0
}

/** Run the CLI as the process: parse process.argv, run, flush and exit with the code. */
export async function cli (): Promise<never> {
  const io: CliIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }
  const crash = (e: unknown): never => process.exit(reportError(e, process.stderr, process.env))
  // EPIPE while no Output is listening yet (`feedchain --help | head -1`): nothing to report
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') crash(e) })
  process.on('uncaughtException', crash)
  process.on('unhandledRejection', crash)
  tuneAllocator() // before any large buffer: keeps file transfers' memory flat (allocator.ts)
  const code = await main(process.argv.slice(2), io)
  // Exit explicitly: a stray handle (a timer, a socket) must not keep a finished command alive.
  process.exit(code)
}

function isEntryPoint (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return fs.realpathSync(script) === fs.realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) void cli()
