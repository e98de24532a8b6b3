/**
 * `feedchain completion <shell>`: print the shell completion script. And the hidden
 * `feedchain complete -- <words…>` the script calls on each TAB (see ../completion.ts).
 */
import { Argument } from 'commander'
import type { Command } from 'commander'
import { FeedchainError } from '../../errors.js'
import { COMPLETE_COMMAND, SHELLS, type Shell } from '../completion-names.js'
import { defineCommand, type ParsedInput } from '../command.js'
import type { Context } from '../context.js'

/** Arguments of completion. */
export interface CompletionArgs {
  program: Command
  shell: Shell
}

/** Arguments of complete. */
export interface CompleteArgs {
  program: Command
  words: string[]
}

function programOf (input: ParsedInput): Command {
  // main always passes the program; without it there is nothing to complete from
  if (input.program === undefined) throw new FeedchainError('USAGE', 'completion needs the command line program')
  return input.program
}

/** The completion command. */
export const completionCommand = defineCommand<CompletionArgs>({
  name: 'completion',
  summary: `print the shell completion script (${SHELLS.join(', ')})`,
  description: 'Print the script that makes the shell complete feedchain\'s commands, subcommands and options ' +
    'with TAB. The script asks `feedchain` itself for the candidates, so it stays right as feedchain changes; ' +
    '`feedchain` must be on your PATH. Load it from the shell\'s start-up file as the examples show (bash needs ' +
    'the bash-completion package; zsh needs compinit to have run first).',
  examples: [
    'source <(feedchain completion bash)     # in ~/.bashrc',
    'source <(feedchain completion zsh)      # in ~/.zshrc, after compinit',
    'feedchain completion fish > ~/.config/fish/completions/feedchain.fish',
  ],
  configure (cmd) {
    cmd.addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
  },
  args (input) {
    const shell = input.operands[0]
    if (typeof shell !== 'string' || !(SHELLS as readonly string[]).includes(shell)) {
      throw new FeedchainError('INVALID_ARGUMENT', `no completion for shell "${String(shell)}"; one of ${SHELLS.join(', ')}`)
    }
    return { program: programOf(input), shell: shell as Shell }
  },
  async run (ctx: Context, args: CompletionArgs) {
    const { completionScript } = await import('../completion.js')
    await ctx.out.line(completionScript(args.shell, args.program).trimEnd())
  },
})

/** The hidden command the completion scripts call: `feedchain complete -- <words…>`. */
export const completeCommand = defineCommand<CompleteArgs>({
  name: COMPLETE_COMMAND,
  summary: 'print completion candidates for the words typed so far (called by the completion scripts)',
  description: 'Print the completion candidates for the words typed after `feedchain`, the last being the word ' +
    'under the cursor (\'\' after a space): one `value<TAB>description` line each, then `:<directive>`. The ' +
    'scripts of `feedchain completion <shell>` call it; it touches no storage.',
  examples: ['feedchain complete -- writers a'],
  hidden: true,
  configure (cmd) {
    cmd.argument('[words...]', 'the words typed so far')
    // the typed words may hold anything, options included (they come after --)
    cmd.helpOption(false)
  },
  args (input) {
    const words = (Array.isArray(input.operands[0]) ? input.operands[0] : []).map(String)
    return { program: programOf(input), words }
  },
  async run (ctx: Context, args: CompleteArgs) {
    const { completeWords } = await import('../completion.js')
    const text = completeWords(args.program, args.words)
    if (text !== '') await ctx.out.line(text.trimEnd())
  },
})
