// Plain-text aligned tables (no colours, so output can be pasted into issues and logs).

/**
 * Renders rows as an aligned table. `columns` is a list of { key, title, align? } where
 * align is 'left' | 'right' (default: right for numbers-looking cells, left otherwise).
 */
export function renderTable (columns, rows) {
  const cells = rows.map((row) => columns.map((c) => cellText(row[c.key])))
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i].length)))
  const aligns = columns.map((c, i) => c.align || (cells.every((r) => /^[-+]?[\d,.]+[^\s]*\s?\w*$|^n\/a$/.test(r[i]) || r[i] === '') ? 'right' : 'left'))
  const line = (vals) => vals.map((v, i) => (aligns[i] === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd()
  const out = [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  ')]
  for (const r of cells) out.push(line(r))
  return out.join('\n')
}

/** Prints a titled table to stdout. */
export function printTable (title, columns, rows) {
  if (title) console.log(`\n${title}`)
  console.log(renderTable(columns, rows))
}

function cellText (v) {
  if (v === null || v === undefined) return ''
  return String(v)
}
