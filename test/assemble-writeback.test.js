// assemble (src/files/assemble.ts) sends the output file's pages to disk as it writes them: an
// fdatasync every `syncBytes`, in the background and one at a time, for blobs cut evenly
// (blocks written at their offsets) and unevenly (written in order). A failing fdatasync fails
// the assembly with the output error, as a failing write does.
import test from 'brittle'
import fs from 'node:fs'
import path from 'node:path'
import { assemble } from '../dist/files/assemble.js'
import { hashBytes } from '../dist/files/file-hash.js'
import { tmpdir } from './helpers/files.js'
import { createStore } from './helpers/net.js'

const BLOCK = 4096

async function blobCore (t, sizes) {
  const core = createStore(t).get({ name: 'blob' })
  await core.ready()
  const blocks = sizes.map((n, i) => Buffer.alloc(n, i % 251))
  await core.append(blocks)
  return { core, bytes: Buffer.concat(blocks) }
}

/** An output file whose handle counts its fdatasync calls (and how many ran at once). */
async function output (t, { fail = false } = {}) {
  const file = path.join(tmpdir(t), 'out.bin')
  const handle = await fs.promises.open(file, 'w+')
  t.teardown(() => handle.close().catch(() => {}))
  // written: bytes reported by onWritten; at: `written` when each fdatasync began
  const m = { calls: 0, running: 0, most: 0, written: 0, at: [] }
  const datasync = handle.datasync.bind(handle)
  handle.datasync = async () => {
    m.calls++
    m.at.push(m.written)
    m.most = Math.max(m.most, ++m.running)
    try {
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
      await datasync()
    } finally {
      m.running--
    }
  }
  return { file, handle, m }
}

function run (core, { handle, m }, byteLength, length, syncBytes) {
  return assemble({
    core,
    start: 0,
    length,
    byteLength,
    handle,
    signal: new AbortController().signal,
    onWritten: (n) => { m.written += n },
    outputError: (e) => Object.assign(new Error(`cannot write the output: ${e.message}`), { code: 'OUTPUT_FAILED' }),
    syncBytes
  })
}

for (const even of [true, false]) {
  const kind = even ? 'blocks at their offsets' : 'an unevenly cut blob, in order'
  test(`assemble (${kind}): an fdatasync every syncBytes, one at a time; the file and hash right`, async (t) => {
    const sizes = even ? Array(200).fill(BLOCK) : Array.from({ length: 200 }, (_, i) => BLOCK - (i % 7))
    const { core, bytes } = await blobCore(t, sizes)
    const out = await output(t)
    const { file, m } = out
    const hash = await run(core, out, bytes.byteLength, sizes.length, 16 * BLOCK)
    t.ok(hash.equals(hashBytes(bytes)), 'the hash of the bytes')
    t.ok(fs.readFileSync(file).equals(bytes), 'the file holds the bytes')
    // 200 blocks, 16 per sync: 12 at most, fewer when writes outrun a sync (how many is timing)
    t.ok(m.calls >= 1 && m.calls <= 12, `${m.calls} fdatasync calls for ${bytes.byteLength} bytes`)
    t.ok(m.at[0] < bytes.byteLength / 2, `the first began while the file was being written (${m.at[0]} bytes in)`)
    t.is(m.most, 1, 'never two at once')
    t.is(m.running, 0, 'none left running when assemble returns')
  })

  test(`assemble (${kind}): a failing fdatasync fails it with the output error`, async (t) => {
    const sizes = even ? Array(100).fill(BLOCK) : Array.from({ length: 100 }, (_, i) => BLOCK - (i % 7))
    const { core, bytes } = await blobCore(t, sizes)
    const out = await output(t, { fail: true })
    const { m } = out
    await t.exception(run(core, out, bytes.byteLength, sizes.length, 16 * BLOCK), /cannot write the output: EIO/)
    t.ok(m.calls >= 1, 'an fdatasync was made')
    t.is(m.running, 0, 'none left running')
  })

  test(`assemble (${kind}): below syncBytes, no fdatasync (the caller syncs at the end)`, async (t) => {
    const sizes = even ? Array(20).fill(BLOCK) : Array.from({ length: 20 }, (_, i) => BLOCK - (i % 7))
    const { core, bytes } = await blobCore(t, sizes)
    const out = await output(t)
    await run(core, out, bytes.byteLength, sizes.length, 64 * BLOCK)
    t.is(out.m.calls, 0)
  })
}
