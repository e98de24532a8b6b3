// The CLI's pure parts, in process: the error policy, colour decision, text escaping, stdin lines.
import test from 'brittle'
import path from 'node:path'
import { Readable } from 'node:stream'
import { DIST } from './helpers/cli.js'

const { describeError, reportError } = await import(path.join(DIST, 'cli', 'exit.js'))
const { colorEnabled } = await import(path.join(DIST, 'cli', 'output.js'))
const { escapeText, payloadText } = await import(path.join(DIST, 'cli', 'format.js'))
const { splitLines } = await import(path.join(DIST, 'cli', 'commands', 'append.js'))
const { FeedchainError } = await import(path.join(DIST, 'errors.js'))

test('cli exit policy: coded errors keep their exit code; others are INTERNAL, exit 70; stack only with FEEDCHAIN_DEBUG=1', (t) => {
  const internal = describeError(new TypeError('boom\nsecond line'))
  t.is(internal.line, 'feedchain: internal error: boom second line [INTERNAL]')
  t.is(internal.exitCode, 70)
  const coded = describeError(new FeedchainError('STORE_LOCKED'))
  t.is(coded.exitCode, 3)
  t.ok(coded.line.startsWith('feedchain: ') && coded.line.endsWith('[STORE_LOCKED]'))
  t.is(describeError(new FeedchainError('INVALID_KEY')).exitCode, 2)
  t.is(describeError('a string').line, 'feedchain: internal error: a string [INTERNAL]')

  const sink = (buf) => ({ write: (s) => { buf.push(s); return true } })
  const quiet = []
  t.is(reportError(new Error('x'), sink(quiet), {}), 70)
  t.is(quiet.join('').split('\n').filter(Boolean).length, 1, 'one line by default')
  const loud = []
  reportError(new Error('x'), sink(loud), { FEEDCHAIN_DEBUG: '1' })
  t.ok(/\n\s+at /.test(loud.join('')), 'stack with FEEDCHAIN_DEBUG=1')
})

test('cli colour: only on a TTY, never with NO_COLOR or TERM=dumb', (t) => {
  t.is(colorEnabled({ isTTY: true }, {}), true)
  t.is(colorEnabled({ isTTY: false }, {}), false)
  t.is(colorEnabled({}, {}), false)
  t.is(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false)
  t.is(colorEnabled({ isTTY: true }, { TERM: 'dumb' }), false)
})

test('cli text escaping: entries from peers cannot drive the terminal', (t) => {
  t.is(escapeText('plain text ünïcode ✓'), 'plain text ünïcode ✓')
  t.is(escapeText('a\nb\tc\rd'), 'a\\nb\\tc\\rd')
  t.is(escapeText('\x1b[31mred\x1b[0m'), '\\x1b[31mred\\x1b[0m', 'ANSI escapes are shown, not run')
  t.is(escapeText('\u202eevil'), '\\u202eevil', 'bidi overrides are shown')
  t.is(escapeText('back\\slash'), 'back\\\\slash')
  t.is(payloadText(Buffer.from('hi')), 'hi')
  t.is(payloadText(Buffer.from([0xff, 0xfe])), null, 'invalid UTF-8 is binary')
})

test('cli stdin lines: split on \\n, drop \\r, keep bytes, bound oversized lines', async (t) => {
  const lines = async (chunks, max = 10) => {
    const out = []
    for await (const l of splitLines(Readable.from(chunks.map((c) => Buffer.from(c))), max)) out.push(l.bytes === null ? { n: l.n, size: l.size } : l.bytes.toString())
    return out
  }
  t.alike(await lines(['a\nb', 'c\r\n\nd']), ['a', 'bc', '', 'd'], 'lines across chunks, \\r dropped, last line without newline')
  t.alike(await lines(['x\n']), ['x'], 'no empty line after a final newline')
  t.alike(await lines([]), [])
  t.alike(await lines(['0123456789\n', '0123456789', 'X\nok\n']), ['0123456789', { n: 2, size: 11 }, 'ok'], 'a line over the limit is reported with its size')
  t.alike(await lines(['0123456789\r\n']), ['0123456789'], 'a \\r does not count against the limit')
  const big = []
  for await (const l of splitLines(Readable.from([Buffer.alloc(5000, 0x61), Buffer.alloc(5000, 0x62), Buffer.from('\n')]), 100)) big.push(l)
  t.is(big.length, 1)
  t.is(big[0].bytes, null)
  t.is(big[0].size, 10000, 'the size of an oversized line is counted without keeping it')
})
