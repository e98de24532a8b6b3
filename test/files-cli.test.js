// The file commands end to end, across processes on a loopback testnet: `send` offline, a seeder
// process, `join` + `get` in another storage (a 50 MB file, hashes equal), `get` killed with -9
// halfway and run again (only a small tail fetched twice), a full disk, memory that does not grow
// with the file size, and the one-line errors of bad input.
//
// Every child is started through helpers/files.js, which registers its teardown (SIGKILL by pid)
// before anything can fail. Progress is read from `--json` NDJSON on stdout, never timed.
import test from 'brittle'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {
  tmpdir, makeFile, sha256, codeOf, createLoopbackTestnet, spawnPeer, startCli, runCli, okCli, ndjson, isCliError, sampleRss
} from './helpers/files.js'

const MB = 1e6
const MiB = 1024 * 1024

/** A storage with a chain and a file sent into it by the CLI (offline). */
async function senderStorage (t, file) {
  const storage = path.join(tmpdir(t), 'sender')
  const key = (await okCli(t, ['--storage', storage, 'init', '--name', 'files'])).stdout.trim()
  const sent = ndjson((await okCli(t, ['--storage', storage, 'send', file, '--json'])).stdout)
  const rec = sent.find((r) => r.type === 'sent')
  return { storage, key, id: rec.id, rec, sent }
}

/** A seeder process serving a storage's corestore (the CLI that wrote it has exited). */
async function seeder (t, testnet, storage, key) {
  const peer = spawnPeer(t, { name: 'seeder' })
  await peer.request({ type: 'open', dir: path.join(storage, 'corestore'), bootstrap: testnet.bootstrapString, key })
  await peer.request({ type: 'seed', wait: true })
  return peer
}

/** A receiver storage that has joined the chain (caught up with the seeder). */
async function receiverStorage (t, testnet, key) {
  const storage = path.join(tmpdir(t), 'receiver')
  await okCli(t, ['--storage', storage, '--bootstrap', testnet.bootstrapString, 'join', key, '--timeout', '30'], { timeout: 60000 })
  return storage
}

test('cli: send offline, a seeder process, join + get a 50 MB file in another process; hashes equal', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const src = makeFile(path.join(dir, 'payload.bin'), 50 * MB, { seed: 11 })
  const s = await senderStorage(t, src)
  t.ok(/^[0-9a-f]{16}$/.test(s.id), 'send --json ends with the file record: ' + s.id)
  t.ok(s.sent.filter((r) => r.type === 'progress').length >= 2, 'send --json streams progress records')
  const plain = await okCli(t, ['--storage', s.storage, 'files'])
  t.ok(plain.stdout.startsWith(s.id) && plain.stdout.includes('100%') && plain.stdout.trimEnd().endsWith('payload.bin'), 'files: id … 100% … name: ' + plain.stdout.trim())

  const peer = await seeder(t, testnet, s.storage, s.key)
  const storage = await receiverStorage(t, testnet, s.key)
  const [before] = ndjson((await okCli(t, ['--storage', storage, 'files', '--json'])).stdout)
  t.is(before.id, s.id, 'the receiver lists the file after join')
  t.ok(before.stored === 0 && !before.complete, 'nothing of it stored yet')

  const out = path.join(dir, 'received.bin')
  const run = startCli(t, ['--storage', storage, '--bootstrap', testnet.bootstrapString, 'get', s.id, '-o', out, '--json'], { timeout: 120000 })
  const rss = sampleRss(run.child.pid)
  const r = await run.done
  const mem = rss.stop()
  t.is(r.code, 0, 'get exits 0: ' + r.stderr.trim().split('\n').pop())
  const records = ndjson(r.stdout)
  const result = records.at(-1)
  const progress = records.filter((x) => x.type === 'progress')
  t.is(result.type, 'got', 'the last record is the result')
  t.is(result.path, out)
  t.is(result.downloaded, 50 * MB, 'every byte downloaded')
  t.ok(progress.length >= 2 && progress.every((p) => ['bytes', 'total', 'percent', 'rate', 'eta', 'peers'].every((k) => k in p)), `${progress.length} progress records with bytes, total, percent, rate, eta, peers`)
  t.ok(progress.some((p) => p.peers >= 1), 'progress counts the peer')
  t.is(await sha256(out), await sha256(src), 'the received file equals the sent one (sha256)')
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'no partial file left')
  const [after] = ndjson((await okCli(t, ['--storage', storage, 'files', '--json'])).stdout)
  t.ok(after.complete && after.stored === 50 * MB, 'the receiver stores the whole file now')
  const secs = result.elapsed / 1000
  t.pass(`cli-transfer: 50 MB in ${secs.toFixed(1)} s (${(50 / secs).toFixed(1)} MB/s), get process peak RSS ${(mem.peakKb / 1024).toFixed(0)} MiB`)
  await peer.request({ type: 'close' }).catch(() => {})
})

test('cli: get killed with -9 halfway resumes from the stored blocks; only a small tail is fetched again', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const size = 24 * MB
  const src = makeFile(path.join(dir, 'big.bin'), size, { seed: 12 })
  const s = await senderStorage(t, src)
  const peer = await seeder(t, testnet, s.storage, s.key)
  const storage = await receiverStorage(t, testnet, s.key)
  // 6 MB/s out of the seeder: the download takes ~4 s, so "halfway" is a moment, not a race
  await peer.request({ type: 'throttle', rate: 6 * MB })

  const out = path.join(dir, 'resumed.bin')
  const args = ['--storage', storage, '--bootstrap', testnet.bootstrapString, 'get', s.id, '-o', out, '--json']
  let seen = 0
  let buf = ''
  let killed = false
  const first = startCli(t, args, {
    timeout: 120000,
    onStdout: (d) => {
      buf += d
      const lines = buf.split('\n')
      buf = lines.pop()
      for (const l of lines) {
        const rec = JSON.parse(l)
        if (rec.type !== 'progress') continue
        seen = Math.max(seen, rec.bytes)
        if (!killed && rec.bytes >= size / 2) {
          killed = true
          first.child.kill('SIGKILL')
        }
      }
    }
  })
  const r1 = await first.done
  t.is(r1.signal, 'SIGKILL', `the fault fired: get killed with -9 at ${(seen / size * 100).toFixed(0)}% (last progress seen)`)
  t.ok(seen < size, 'it was killed before the end')
  t.absent(fs.existsSync(out), 'nothing under the target name after the kill')

  const r2 = await okCli(t, args, { timeout: 120000 })
  const result = ndjson(r2.stdout).at(-1)
  t.is(result.type, 'got')
  t.is(await sha256(out), await sha256(src), 'the resumed file is intact')
  t.is(result.reused + result.downloaded, size, 'stored at restart + downloaded = the file')
  t.ok(result.reused >= 0.3 * size, `the restart reused ${(result.reused / MB).toFixed(1)} MB stored before the kill`)
  const refetched = Math.max(0, seen - result.reused)
  t.ok(refetched <= 0.2 * size, `fetched again: ${(refetched / MB).toFixed(1)} MB (≤ 20%)`)
  t.absent(fs.readdirSync(dir).some((f) => f.endsWith('.feedchain-partial')), 'the partial file of the killed run is gone')
  t.pass(`kill-download: killed at ${(seen / MB).toFixed(1)} MB of ${size / MB}, restart reused ${(result.reused / MB).toFixed(1)} MB, downloaded ${(result.downloaded / MB).toFixed(1)} MB, fetched again ${(refetched / MB).toFixed(1)} MB`)
})

// 512 MiB is sent and received in this test: brittle's default 30 s is too short on a loaded
// 2-core machine (the timeout only guards against a hang; speed is the transfer benchmark's)
test('memory: the receiver\'s peak RSS levels off; it does not grow with the file size', { timeout: 240_000 }, async (t) => {
  // The receivers run with the product's storage and allocator setting (what the CLI and the
  // daemon use). Below ~100 MiB moved, RSS still rises while RocksDB's memtables fill (2 × 8 MiB),
  // so the test compares two sizes above that point: 3× the file, nearly the same peak. (The
  // 200 MB target itself is measured by the transfer benchmark, on 1 GiB.)
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const sizes = [128 * MiB, 384 * MiB]
  const seed = spawnPeer(t, { name: 'seeder' })
  const { key } = await seed.request({ type: 'open', dir: path.join(dir, 'seed'), bootstrap: testnet.bootstrapString, product: true })
  const ids = []
  for (const [i, size] of sizes.entries()) {
    const { info } = await seed.request({ type: 'send', file: makeFile(path.join(dir, `f${i}.bin`), size, { seed: 20 + i }) }, 120000)
    ids.push(info.id)
    fs.rmSync(path.join(dir, `f${i}.bin`))
  }
  const peaks = []
  for (const [i, size] of sizes.entries()) {
    // a fresh process per size
    const recv = spawnPeer(t, { name: `receiver-${i}` })
    await recv.request({ type: 'open', dir: path.join(dir, `recv${i}`), bootstrap: testnet.bootstrapString, key, product: true })
    await recv.request({ type: 'wait-file', fileId: ids[i] })
    const got = await recv.request({ type: 'get', fileId: ids[i], output: path.join(dir, `out${i}.bin`) }, 120000)
    t.is(got.result.downloaded, size, `${size / MiB} MiB downloaded`)
    peaks.push(got.peakRss)
    await recv.request({ type: 'close' }).catch(() => {})
    fs.rmSync(path.join(dir, `out${i}.bin`))
    fs.rmSync(path.join(dir, `recv${i}`), { recursive: true })
  }
  const growth = peaks[1] - peaks[0]
  const more = sizes[1] - sizes[0]
  t.ok(growth < 0.15 * more, `peak RSS ${(peaks[0] / MiB).toFixed(0)} MiB receiving ${sizes[0] / MiB} MiB, ${(peaks[1] / MiB).toFixed(0)} MiB receiving ${sizes[1] / MiB} MiB: ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(0)} MiB for +${more / MiB} MiB of file`)
})

test('cli: a full disk fails with a clear error, keeps the downloaded blocks, and a rerun finishes', async (t) => {
  const can = (() => {
    try {
      execFileSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt && true'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()
  if (!can) {
    t.comment('no mount namespace here (unshare -m + tmpfs): disk-full test skipped')
    return
  }
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const size = 6 * MB
  const src = makeFile(path.join(dir, 'wide.bin'), size, { seed: 13 })
  const s = await senderStorage(t, src)
  await seeder(t, testnet, s.storage, s.key)
  const storage = await receiverStorage(t, testnet, s.key)
  const small = path.join(dir, 'small')
  fs.mkdirSync(small)
  // the get runs in a mount namespace where `small` is a 1 MiB tmpfs; the storage is outside it
  const script = `mount -t tmpfs -o size=1m tmpfs "${small}" && exec "$0" "$@"`
  const r = await runCli(t, ['--storage', storage, '--bootstrap', testnet.bootstrapString, 'get', s.id, '-o', path.join(small, 'wide.bin')], { wrap: ['unshare', '-m', 'sh', '-c', script], timeout: 60000 })
  isCliError(t, r, await codeOf('DISK_FULL'), 'get into a full disk')
  t.ok(/no space left/.test(r.stderr), r.stderr.trim())

  const out = path.join(dir, 'roomy.bin')
  const again = ndjson((await okCli(t, ['--storage', storage, '--bootstrap', testnet.bootstrapString, 'get', s.id, '-o', out, '--json'])).stdout).at(-1)
  t.is(await sha256(out), await sha256(src), 'the rerun writes the file')
  t.ok(again.reused > 0, `the blocks downloaded before the disk filled were kept: ${(again.reused / MB).toFixed(1)} MB reused, ${(again.downloaded / MB).toFixed(1)} MB downloaded`)
  t.is(again.reused + again.downloaded, size)
})

test('cli: bad input to send, files and get: one line, a stable code, nothing created', async (t) => {
  const testnet = await createLoopbackTestnet(t)
  const dir = tmpdir(t)
  const file = makeFile(path.join(dir, 'ok.bin'), 100000, { seed: 14 })
  const s = await senderStorage(t, file)
  const net = ['--storage', s.storage, '--bootstrap', testnet.bootstrapString]
  const fifo = path.join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])

  const cases = [
    [['--storage', s.storage, 'send', dir], 'NOT_A_FILE', 'send a directory'],
    [['--storage', s.storage, 'send', path.join(dir, 'missing.bin')], 'FILE_NOT_FOUND', 'send a missing path'],
    [['--storage', s.storage, 'send', fifo], 'NOT_A_FILE', 'send a FIFO'],
    [['--storage', s.storage, 'send', '-'], 'USAGE', 'send stdin without --name'],
    [['--storage', s.storage, 'send', file, '--mime', 'not a type'], 'INVALID_ARGUMENT', 'send with a bad --mime'],
    [[...net, 'get', s.id, '-o', path.join(dir, 'no', 'such', 'dir', 'x')], 'OUTPUT_UNWRITABLE', 'get into a missing directory'],
    [[...net, 'get', '0123456789abcdef', '--timeout', '1'], 'UNKNOWN_FILE', 'get an unknown id'],
    [[...net, 'get', s.id, '--timeout', '0'], 'INVALID_NUMBER', 'get with --timeout 0'],
  ]
  const results = await Promise.all(cases.map(([args]) => runCli(t, args, { timeout: 60000 })))
  for (const [i, [, reason, what]] of cases.entries()) {
    const code = ['USAGE', 'INVALID_ARGUMENT', 'INVALID_NUMBER'].includes(reason) ? reason : await codeOf(reason)
    isCliError(t, results[i], code, what)
  }
  if (fs.existsSync('/sys/kernel')) {
    const r = await runCli(t, [...net, 'get', s.id, '-o', '/sys/feedchain-test-output'])
    isCliError(t, r, await codeOf('OUTPUT_UNWRITABLE'), 'get onto a read-only file system')
  }
  const missing = path.join(dir, 'never-created')
  isCliError(t, await runCli(t, ['--storage', missing, 'send', file]), 'STORAGE_MISSING', 'send to a storage that does not exist')
  t.absent(fs.existsSync(missing), 'no storage created')
  isCliError(t, await runCli(t, ['--storage', missing, 'files']), 'STORAGE_MISSING', 'files on a storage that does not exist')
  const list = ndjson((await okCli(t, ['--storage', s.storage, 'files', '--json'])).stdout)
  t.is(list.length, 1, 'still exactly one file in the chain')
})
