/**
 * How entries, keys, times and payloads look on the terminal and in NDJSON. Payloads come from
 * other users, so text is escaped: control characters, ANSI escapes and bidi overrides can never
 * reach the terminal raw.
 */
import { formatKey } from '../feed/keys.js'
import type { ChainEntry } from '../index.js'
import type { Colors } from './output.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A payload as text if it is valid UTF-8, else null (binary). */
export function payloadText (data: Uint8Array): string | null {
  try {
    return utf8.decode(data)
  } catch {
    return null
  }
}

/**
 * Make text safe and single-line for a terminal: C0/C1 controls, DEL, and bidi/invisible
 * formatting characters become visible escapes (`\n`, `\t`, `\x1b`, `\u202e`); backslash is doubled.
 */
export function escapeText (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\\\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (ch) => {
    switch (ch) {
      case '\\': return '\\\\'
      case '\n': return '\\n'
      case '\r': return '\\r'
      case '\t': return '\\t'
    }
    const code = ch.charCodeAt(0)
    return code <= 0xff ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0')
  })
}

/** A short form of a z-base32 key for tables: its first 8 characters (40 bits). */
export function shortKey (z32: string): string {
  return z32.slice(0, 8)
}

/** Local wall-clock time `YYYY-MM-DD HH:MM:SS` of a ms timestamp (`-` for none). */
export function formatTime (ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '-'.padEnd(19)
  const d = new Date(ms)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Human size: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = -1
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  const num = v < 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(0)
  return `${num} ${units[u] ?? 'TiB'}`
}

/** One line describing an entry's content (payload, or the meaning of a non-data entry). */
export function describeContent (e: ChainEntry, c: Colors): string {
  const v = (e.value ?? {}) as Record<string, unknown>
  const str = (x: unknown): string => escapeText(String(x ?? ''))
  switch (e.type) {
    case 'data': {
      const text = payloadText(e.data)
      return text === null ? c.dim(`<${e.data.byteLength} bytes>`) : escapeText(text)
    }
    case 'genesis':
      return c.magenta('genesis') + ` "${str(v.name)}"` + (v.creator !== undefined ? c.dim(` created by ${shortKey(str(v.creator))}`) : '')
    case 'membership': {
      const role = v.indexer === true ? 'indexer' : 'writer'
      return c.magenta('membership') + ` ${str(v.op)} ${role} ${str(v.key)}`
    }
    case 'join':
      return c.magenta('join') + c.dim(' (indexer came online)')
    case 'file':
      return c.magenta('file') + ` ${str(v.name)}` + (typeof v.size === 'number' ? c.dim(` (${formatBytes(v.size)})`) : '')
  }
  return c.magenta(String(e.type))
}

/** The status marker of an entry: `✓` final, `~` pending (may still move). */
export function marker (final: boolean, c: Colors): string {
  return final ? c.green('✓') : c.yellow('~')
}

/** One `log` line: position, marker, writer, seq.index, time, content. */
export function entryLine (e: ChainEntry, c: Colors, posWidth: number): string {
  const pos = String(e.position).padStart(posWidth)
  const writer = c.cyan(shortKey(formatKey(e.writer)))
  const addr = c.dim(`#${e.seq}.${e.index}`.padEnd(9))
  return `${pos} ${marker(e.final, c)} ${writer} ${addr} ${c.dim(formatTime(e.time))}  ${describeContent(e, c)}`
}

/** The NDJSON form of an entry. `data` is the payload (UTF-8 text, else base64) for data entries. */
export function entryJson (e: ChainEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    position: e.position,
    writer: formatKey(e.writer),
    seq: e.seq,
    index: e.index,
    clock: e.clock,
    final: e.final,
    type: e.type,
    time: e.time,
  }
  if (e.type === 'data') {
    const text = payloadText(e.data)
    out.data = text ?? e.data.toString('base64')
    out.encoding = text === null ? 'base64' : 'utf8'
  } else {
    out.data = null
    out.value = e.value
  }
  return out
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** Columns visible on a terminal (ANSI colour codes take none). */
export function visibleWidth (s: string): number {
  return s.replace(ANSI, '').length
}

/** One column of `table`: its heading and whether numbers are right-aligned in it. */
export interface Column {
  title: string
  align?: 'left' | 'right'
}

/**
 * Lines of an aligned table with a dim heading row, for a terminal: cells may carry colour;
 * columns are two spaces apart; the last column is not padded.
 */
export function table (columns: Column[], rows: string[][], c: Colors, indent = ''): string[] {
  const widths = columns.map((col, i) => Math.max(visibleWidth(col.title), ...rows.map((r) => visibleWidth(r[i] ?? ''))))
  const line = (cells: string[]): string => indent + cells.map((cell, i) => {
    if (i === cells.length - 1 && columns[i]?.align !== 'right') return cell
    const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleWidth(cell)))
    return columns[i]?.align === 'right' ? pad + cell : cell + pad
  }).join('  ').trimEnd()
  return [c.dim(line(columns.map((col) => col.title))), ...rows.map(line)]
}
