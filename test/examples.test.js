// Every example runs to completion and exits 0, so the examples never rot.
import test from 'brittle'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples')

for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
  test(`examples/${name} runs and exits 0`, async (t) => {
    const child = spawn(process.execPath, [path.join(dir, name)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90000)
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)))
    clearTimeout(timer)
    if (code !== 0) t.comment(out.split('\n').slice(-30).join('\n'))
    t.is(code, 0, `${name} exit code`)
  })
}
