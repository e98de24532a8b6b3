/**
 * Vector clocks over local writer indexes. A block's clock `vc` counts, per writer, the blocks of
 * that writer in the block's strict causal past, so `a ∈ past(b) ⇔ vc(b)[writer(a)] > seq(a)`.
 *
 * Storage trick: the slot of the block's own writer is never read (it is always `seq`, see
 * {@link vcAt}), so a block that links nothing new shares its predecessor's array. A feed of
 * blocks that only extend themselves (the common case, and a solo writer) then costs no
 * allocation per block. Arrays are as long as the writer table was when they were made; writers
 * learned later read as 0 (nothing of an unknown writer can be in the past). Arrays are never
 * mutated once attached to a block.
 */

/** The shared empty clock (no writer has anything in the past). */
export const EMPTY_VC: Int32Array = new Int32Array(0)

/** The part of a block the vector-clock helpers read. */
export interface Clocked {
  /** Local index of the block's writer. */
  readonly w: number
  readonly seq: number
  readonly vc: Int32Array
}

/** Number of writer `u`'s blocks in the strict past of `b`. */
export function vcAt (b: Clocked, u: number): number {
  if (u === b.w) return b.seq
  return u < b.vc.length ? (b.vc[u] as number) : 0
}

/** Number of writer `u`'s blocks in past⁺(b) (the block itself included). */
export function vcAtPlus (b: Clocked, u: number): number {
  if (u === b.w) return b.seq + 1
  return u < b.vc.length ? (b.vc[u] as number) : 0
}

/** True if `a` is in the strict causal past of `b`. */
export function inPast (a: Clocked, b: Clocked): boolean {
  return vcAt(b, a.w) > a.seq
}

/** A copy of `vc` widened to `width` writers (new slots 0). */
export function widen (vc: Int32Array, width: number): Int32Array {
  const out = new Int32Array(Math.max(width, vc.length))
  out.set(vc)
  return out
}

/** `into := max(into, vc⁺(b))` pointwise; `into` must be at least as wide as b's writer table. */
export function joinPlus (into: Int32Array, b: Clocked): void {
  const vc = b.vc
  for (let u = 0; u < vc.length; u++) {
    if (u === b.w) continue
    const x = vc[u] as number
    if (x > (into[u] as number)) into[u] = x
  }
  if (b.seq + 1 > (into[b.w] as number)) into[b.w] = b.seq + 1
}

/** vc⁺(b) as a full array of `width` writers (the epoch cut and segment tops use this). */
export function plusVector (b: Clocked, width: number): Int32Array {
  const out = new Int32Array(width)
  joinPlus(out, b)
  return out
}
