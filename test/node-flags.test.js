// The feedchain command starts Node with the V8 flags of src/node-flags.ts: bin/feedchain.js is
// run by sh (its first line), which execs Node with them (same PID, so a kill of the command's
// PID reaches Node itself). A preload given through NODE_OPTIONS reports the Node process's PID
// and flags and exits before the CLI runs.
import test from 'brittle'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { BIN, DIST, tmpDir } from './helpers/proc.js'

const { NODE_FLAGS } = await import(path.join(DIST, 'index.js'))

test('node flags: the bin execs Node with NODE_FLAGS, keeping its PID; node bin/feedchain.js runs without them', { timeout: 60_000 }, async (t) => {
  t.ok(NODE_FLAGS.length > 0, `flags: ${NODE_FLAGS.join(' ')}`)
  const line = fs.readFileSync(BIN, 'utf8').split('\n')[1]
  t.is(line, `':' //; exec node ${NODE_FLAGS.join(' ')} "$0" "$@"`, 'the exec line passes exactly NODE_FLAGS')

  const dir = tmpDir(t, 'feedchain-flags-')
  const preload = path.join(dir, 'report.cjs')
  fs.writeFileSync(preload, 'process.stderr.write(JSON.stringify({ pid: process.pid, execArgv: process.execArgv }) + "\\n"); process.exit(0)\n')
  const run = async (cmd, args) => {
    const child = spawn(cmd, args, { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` }, stdio: ['ignore', 'ignore', 'pipe'] })
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }, { force: true })
    let err = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d) => { err += d })
    const code = await new Promise((resolve) => child.once('close', resolve))
    t.is(code, 0, `${path.basename(cmd)} exits 0 (${err.trim()})`)
    return { pid: child.pid, report: JSON.parse(err.trim().split('\n').at(-1)) }
  }

  const direct = await run(BIN, ['--version'])
  t.alike(direct.report.execArgv, [...NODE_FLAGS], 'run directly: Node has the flags')
  t.is(direct.report.pid, direct.pid, 'run directly: Node has the PID the command was started with')

  const plain = await run(process.execPath, [BIN, '--version'])
  t.alike(plain.report.execArgv, [], 'node bin/feedchain.js: no flags')
})
