// Every example runs to completion and exits 0, so the examples never rot; the ones listed in
// EXPECT must exist and print what shows they did their job.
import test from 'brittle'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples')

/** Examples that must exist, and lines of their output that show they worked. */
const EXPECT = {
  'file-drop.js': [/^ {2}downloading +[\d.]+% /m, /^ {2}done +100% /m, /^ben got ben-copy\.tar: 12582912 bytes .*hash verified against the chain; sha256 equal$/m],
}

test('the examples listed in EXPECT exist', (t) => {
  for (const name of Object.keys(EXPECT)) t.ok(fs.existsSync(path.join(dir, name)), `examples/${name} exists`)
})

for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
  // the child is killed after 90 s; the test itself must not time out first (brittle's default is 30 s)
  test(`examples/${name} runs and exits 0`, { timeout: 100_000 }, async (t) => {
    const child = spawn(process.execPath, [path.join(dir, name)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', DEMO_FILE_MB: '8' } })
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90000)
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)))
    clearTimeout(timer)
    if (code !== 0) t.comment(out.split('\n').slice(-30).join('\n'))
    t.is(code, 0, `${name} exit code`)
    for (const re of EXPECT[name] ?? []) t.ok(re.test(out), `${name} printed ${re}`)
  })
}
