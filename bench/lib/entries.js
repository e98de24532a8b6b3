// Deterministic entry payloads, so feedchain and its anchors append the very same bytes.

/** `count` distinct buffers of `bytes` bytes each: a fill byte for `writer`, index at offset 0. */
export function makeEntries (count, bytes, { writer = 0, from = 0 } = {}) {
  const out = new Array(count)
  for (let i = 0; i < count; i++) {
    const buf = Buffer.alloc(bytes, 0x61 + (writer % 26))
    if (bytes >= 4) buf.writeUInt32BE((from + i) >>> 0, 0)
    out[i] = buf
  }
  return out
}

/** Splits `items` into arrays of at most `size`. */
export function chunk (items, size) {
  const out = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Median of a list of numbers. */
export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
