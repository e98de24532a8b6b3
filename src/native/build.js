// Builds src/native/malloc.c into dist/native/feedchain_malloc.node (npm's `prepare`, after tsc).
// Optional: without a C compiler, node-gyp or Node's headers the build is skipped with one
// line on stderr, and feedchain runs with glibc's default allocator settings (more memory on
// large transfers, nothing else changes; src/allocator.ts).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.join(here, '..', '..', 'dist', 'native')
const built = path.join(here, 'build', 'Release', 'feedchain_malloc.node')

function skip (why) {
  process.stderr.write(`feedchain: native allocator setting not built (${why}); large transfers will use more memory\n`)
  process.exit(0)
}

if (process.platform !== 'linux') process.exit(0) // glibc only; nothing to build elsewhere
const target = path.join(out, 'feedchain_malloc.node')
const source = path.join(here, 'malloc.c')
if (fs.existsSync(target) && fs.statSync(target).mtimeMs >= fs.statSync(source).mtimeMs) process.exit(0) // up to date
// npm runs scripts with its own node-gyp on PATH and in npm_config_node_gyp
const gyp = process.env.npm_config_node_gyp
const cmd = gyp ? process.execPath : 'node-gyp'
const args = [...(gyp ? [gyp] : []), 'rebuild', '--directory', here, '--loglevel', 'error']
const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
if (r.error) skip(`cannot run node-gyp: ${r.error.message}`)
if (r.status !== 0) skip(`node-gyp exit ${r.status}: ${(r.stderr || '').trim().split('\n').filter(Boolean).at(-1) || 'no output'}`)
fs.mkdirSync(out, { recursive: true })
fs.copyFileSync(built, target)
