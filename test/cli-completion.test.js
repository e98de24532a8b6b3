// Help and shell completion, both read off the commander program: every command and subcommand
// has --help with its summary and an example, the overview lists every command, and the
// completion candidates (`feedchain complete -- <words>`, what the scripts call on TAB) are the
// program's commands, subcommands and options. The scripts themselves run in real bash and fish
// when those shells are installed.
import test from 'brittle'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import { BIN, DIST, tmpDir } from './helpers/cli.js'

const { main, buildProgram } = await import(path.join(DIST, 'cli', 'index.js'))

const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0

/** Run main in this process; returns { code, stdout, stderr }. */
async function run (argv) {
  const out = []
  const err = []
  const stream = (into) => new Writable({ write (c, _e, cb) { into.push(c.toString()); cb() } })
  const code = await main(argv, { stdin: Readable.from([]), stdout: stream(out), stderr: stream(err), env: { HOME: '/nonexistent', FEEDCHAIN_STORAGE: '/nonexistent/store' } })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

/** Every visible command path of the program, with its commander command. */
function commandPaths () {
  const quiet = { write () { return true } }
  const program = buildProgram({ stdout: quiet, stderr: quiet }, () => {}, () => {})
  const out = []
  const walk = (cmd, words) => {
    for (const sub of cmd.createHelp().visibleCommands(cmd)) {
      if (sub.name() === 'help') continue // commander's own
      out.push({ words: [...words, sub.name()], cmd: sub, parent: cmd })
      walk(sub, [...words, sub.name()])
    }
  }
  walk(program, [])
  return { program, paths: out }
}

const squash = (s) => s.replace(/\s+/g, ' ')
const candidates = (text) => text.split('\n').filter((l) => l !== '' && !l.startsWith(':')).map((l) => l.split('\t')[0])

test('help: every command and subcommand has --help with its summary and an example; the overview lists every command', async (t) => {
  const { paths } = commandPaths()
  t.ok(paths.length >= 17, `${paths.length} command paths`)
  const overview = await run([])
  t.is(overview.code, 0, '`feedchain` alone exits 0')
  t.is(overview.stderr, '')
  for (const { words, cmd, parent } of paths) {
    const name = words.join(' ')
    const summary = cmd.summary()
    t.ok(summary.length > 0 && !summary.includes('\n'), `${name}: a one-line summary`)
    if (words.length === 1) t.ok(squash(overview.stdout).includes(`${name} `) && squash(overview.stdout).includes(squash(summary)), `the overview lists ${name} with its summary`)
    else t.ok(squash((await run([...words.slice(0, -1), '--help'])).stdout).includes(squash(summary)), `${parent.name()} --help lists ${name} with its summary`)
    const h = await run([...words, '--help'])
    t.is(h.code, 0, `${name} --help exits 0`)
    t.ok(h.stdout.includes(`Usage: feedchain ${name}`), `${name} --help shows its usage`)
    t.ok(/\nExamples:\n\s+\$ \S+/.test(h.stdout), `${name} --help shows an example`)
  }
  const hidden = await run(['complete', '--', ''])
  t.absent(squash(overview.stdout).includes(' complete '), 'the overview leaves out the hidden `complete`')
  t.absent(candidates(hidden.stdout).includes('complete'), 'completion leaves it out too')
})

test('completion: the candidates are the program\'s commands, subcommands and options', async (t) => {
  const { program, paths } = commandPaths()
  const top = await run(['complete', '--', ''])
  t.is(top.code, 0)
  t.ok(/\n:\d+\n?$/.test(top.stdout), 'ends with the :directive line the scripts read')
  const topNames = program.createHelp().visibleCommands(program).map((c) => c.name())
  t.alike(candidates(top.stdout).sort(), topNames.sort(), 'after `feedchain `: every top-level command')
  t.ok(top.stdout.includes('append\tappend an entry'), 'each with its summary as description')

  for (const { words, cmd } of paths) {
    const name = words.join(' ')
    const subs = cmd.createHelp().visibleCommands(cmd).map((c) => c.name())
    if (subs.length > 0) {
      const r = await run(['complete', '--', ...words, ''])
      t.alike(candidates(r.stdout).sort(), subs.sort(), `after \`${name} \`: its subcommands`)
    }
    const r = await run(['complete', '--', ...words, '--'])
    const want = [...cmd.options, ...program.options].map((o) => o.long).filter((l) => l !== undefined && l !== '--version')
    const got = candidates(r.stdout)
    t.ok(want.every((o) => got.includes(o)), `after \`${name} --\`: its options and the global ones (${want.filter((o) => !got.includes(o)).join(' ') || 'all there'})`)
  }
  const cases = [
    [['wri'], ['writers']],
    [['writers', 'a'], ['add']],
    [['log', '-n', '5', '--ch'], ['--chain']],
    [['--storage', '/tmp/x', 'sta'], ['status']],
    [['completion', ''], ['bash', 'zsh', 'fish']],
    [['join', '--no'], ['--no-wait']],
  ]
  for (const [words, want] of cases) {
    t.alike(candidates((await run(['complete', '--', ...words])).stdout).sort(), want.sort(), `feedchain ${words.join(' ')}<TAB> → ${want.join(' ')}`)
  }
})

test('completion: a script for bash, zsh and fish that asks `feedchain complete`', async (t) => {
  for (const [shell, marks] of [['bash', ['complete -F __feedchain_complete feedchain']], ['zsh', ['#compdef feedchain', 'compdef _feedchain feedchain']], ['fish', ['complete -c feedchain']]]) {
    const r = await run(['completion', shell])
    t.is(r.code, 0, `completion ${shell} exits 0`)
    t.is(r.stderr, '', 'nothing on stderr')
    for (const m of marks) t.ok(r.stdout.includes(m), `${shell}: ${m}`)
    t.ok(r.stdout.includes('feedchain complete --'), `${shell}: the script asks feedchain for the candidates`)
    if (has(shell)) {
      const file = path.join(tmpDir(t), `feedchain.${shell}`)
      fs.writeFileSync(file, r.stdout)
      const check = spawnSync(shell, [shell === 'fish' ? '--no-execute' : '-n', file], { encoding: 'utf8' })
      t.is(check.status, 0, `${shell} parses the script: ${check.stderr}`)
    } else {
      t.comment(`${shell} is not installed: syntax not checked`)
    }
  }
})

test('completion: TAB in bash (with bash-completion) completes from the binary', { skip: !fs.existsSync(BASH_COMPLETION) }, async (t) => {
  const bin = binDir(t)
  // what bash does on TAB: COMP_WORDS/COMP_CWORD set, the registered function called
  const script = `source ${BASH_COMPLETION}
source <(feedchain completion bash)
tab () { COMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; read -r -a COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); __feedchain_complete 2>/dev/null; echo "\${COMPREPLY[*]}"; }
tab "feedchain wri"
tab "feedchain writers "
tab "feedchain log --ch"
tab "feedchain --storage /tmp/x sta"
tab "feedchain completion "`
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 30_000 })
  t.is(r.status, 0, `bash ran: ${r.stderr}`)
  t.alike(r.stdout.trimEnd().split('\n'), ['writers', 'add remove list help', '--chain', 'status', 'bash zsh fish'])
})

test('completion: TAB in fish completes from the binary', { skip: !has('fish') }, async (t) => {
  const bin = binDir(t)
  const script = `feedchain completion fish | source
for line in "feedchain wri" "feedchain writers " "feedchain log --ch" "feedchain completion "
  echo (complete --do-complete "$line" | string replace -r '\\t.*' '' | sort | string join ' ')
end`
  const r = spawnSync('fish', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 30_000 })
  t.is(r.status, 0, `fish ran: ${r.stderr}`)
  t.alike(r.stdout.trimEnd().split('\n'), ['writers', 'add help list remove', '--chain', 'bash fish zsh'])
})

/** A directory with `feedchain` (a link to bin/feedchain.js) to put first on PATH. */
function binDir (t) {
  const dir = tmpDir(t, 'feedchain-bin-')
  fs.symlinkSync(BIN, path.join(dir, 'feedchain'))
  return dir
}
