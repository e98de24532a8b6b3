// CLI start-up: commands load the library's heavy modules only when they run them (src/cli/
// command.ts). `--version`, `--help` and `completion` must not load the storage, network or file
// packages, and `log` (no network) must not load the network's. Each command runs as a real
// bin/feedchain.js process with a preload that records every module the process loaded (ESM
// imports through a resolve hook, CommonJS through the require cache at exit); the checks that a
// lazily loaded package does show up (`@bomb.sh/tab` for completion, corestore for log) show the
// record sees them.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import { BIN, DIST, cli, childEnv, cliJson, localTestnet, tmpDir } from './helpers/proc.js'

const PRELOAD = `
import { register, createRequire } from 'node:module'
import fs from 'node:fs'
const out = process.env.LOAD_TRACE_FILE
register('data:text/javascript,' + encodeURIComponent(\`import fs from 'node:fs'
export async function resolve (specifier, context, next) {
  const r = await next(specifier, context)
  fs.appendFileSync(\${JSON.stringify(out)}, r.url + '\\\\n')
  return r
}\`))
const Module = createRequire(import.meta.url)('node:module')
process.on('exit', () => { fs.appendFileSync(out, Object.keys(Module._cache).join('\\n') + '\\n') })
`

/** The packages of the storage, the network and file transfer (and their native parts). */
const STORAGE = ['hypercore', 'corestore', 'hyperbee', 'hypercore-storage', 'rocksdb-native']
const NETWORK = ['hyperswarm', 'hyperdht', 'dht-rpc', 'udx-native']
const FILES = ['hyperblobs', 'cli-progress']
const HEAVY = [...STORAGE, ...NETWORK, ...FILES]

/** Run `feedchain <args…>` with the load record; returns { r, packages } (the set of node_modules packages loaded). */
async function traced (t, env, dir, storage, args) {
  const preload = path.join(dir, 'preload.mjs')
  if (!fs.existsSync(preload)) fs.writeFileSync(preload, PRELOAD)
  const trace = path.join(dir, `trace-${Math.random().toString(36).slice(2)}.txt`)
  const full = storage === null ? args : ['--storage', storage, ...args]
  const r = await cli(t, { ...env, LOAD_TRACE_FILE: trace, NODE_OPTIONS: `--import ${preload}` }, null, full)
  const text = fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8') : ''
  const packages = new Set([...text.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]))
  return { r, packages }
}

test('cli start-up: --version, --help and completion load no storage, network or file module; log loads no network module', { timeout: 120_000 }, async (t) => {
  const { bootstrap } = await localTestnet(t)
  const env = childEnv(t, bootstrap)
  const dir = tmpDir(t, 'feedchain-startup-')
  const storage = path.join(dir, 'store')
  await cliJson(t, env, storage, ['init', '--name', 'startup'])
  await cliJson(t, env, storage, ['append', 'one entry'])

  const version = JSON.parse(fs.readFileSync(path.join(path.dirname(BIN), '..', 'package.json'), 'utf8')).version
  const cases = [
    { args: ['--version'], storage: null, none: [...HEAVY, '@bomb.sh/tab'], check: (r) => r.stdout === version + '\n' },
    { args: ['--help'], storage: null, none: [...HEAVY, '@bomb.sh/tab'], check: (r) => r.stdout.includes('Usage: feedchain') },
    { args: ['log', '--help'], storage: null, none: [...HEAVY, '@bomb.sh/tab'], check: (r) => r.stdout.includes('Usage: feedchain log') },
    { args: ['completion', 'bash'], storage: null, none: HEAVY, some: ['@bomb.sh/tab'], check: (r) => r.stdout.includes('complete') },
    { args: ['complete', '--', 'wri'], storage: null, none: HEAVY, some: ['@bomb.sh/tab'], check: (r) => r.stdout.includes('writers') },
    { args: ['log', '-n', '5'], storage, none: [...NETWORK, ...FILES, '@bomb.sh/tab'], some: ['corestore', 'hypercore'], check: (r) => r.stdout.includes('one entry') },
  ]
  for (const c of cases) {
    const { r, packages } = await traced(t, env, dir, c.storage, c.args)
    const what = `feedchain ${c.args.join(' ')}`
    t.is(r.code, 0, `${what} exits 0: ${r.stderr.trim().slice(0, 300)}`)
    t.ok(c.check(r), `${what} prints what it should`)
    t.ok(packages.has('commander'), `${what}: the load record sees the CLI's own packages`)
    for (const p of c.some ?? []) t.ok(packages.has(p), `${what} loads ${p} (the record sees lazily loaded packages)`)
    const loaded = c.none.filter((p) => packages.has(p))
    t.alike(loaded, [], `${what} loads none of ${c.none.join(', ')}`)
  }
})

test('cli start-up: damaged storage is still reported as STORAGE_CORRUPT once the storage module is loaded (as every storage open does)', async (t) => {
  const { describeError } = await import(path.join(DIST, 'cli', 'exit.js'))
  const { loadStorage } = await import(path.join(DIST, 'cli', 'library.js'))
  const damage = Object.assign(new Error('Corruption: block checksum mismatch'), { code: 'EIO' })
  await loadStorage()
  const r = describeError(damage)
  t.ok(r.line.endsWith('[STORAGE_CORRUPT]'), r.line)
  t.is(r.exitCode, 3)
})
