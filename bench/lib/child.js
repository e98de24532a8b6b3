// Running one benchmark script as a child process, so each gets a clean heap and RSS.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseResult } from './result.js'

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Runs `node bench/<script>` with extra `env`, echoing its stdout/stderr as they come
 * (each line prefixed with `prefix` if given). Resolves { code, signal, result, ms } where
 * result is the parsed BENCH_RESULT line (null if the child printed none).
 */
export function runChild (script, { env = {}, prefix = '', args = [] } = {}) {
  const file = path.join(BENCH_DIR, script)
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, file, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d) => { out += d; process.stdout.write(indent(d, prefix)) })
    child.stderr.on('data', (d) => { process.stderr.write(indent(d, prefix)) })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      let result = null
      try { result = parseResult(out) } catch (err) { process.stderr.write(`[bench] bad BENCH_RESULT from ${script}: ${err.message}\n`) }
      resolve({ code, signal, result, ms: Date.now() - start })
    })
  })
}

function indent (text, prefix) {
  if (!prefix) return text
  return text.replace(/^(?=.)/gm, prefix)
}
