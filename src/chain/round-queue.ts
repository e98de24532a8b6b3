/** A binary min-heap of round numbers: the anchor rounds known committable, smallest first. */
export class RoundQueue {
  private readonly a: number[] = []

  /** Number of queued rounds (duplicates included). */
  get size (): number {
    return this.a.length
  }

  /** Smallest queued round; only valid when size > 0. */
  peek (): number {
    return this.a[0] as number
  }

  /** Queues a round. */
  push (r: number): void {
    const a = this.a
    a.push(r)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if ((a[p] as number) <= r) break
      a[i] = a[p] as number
      i = p
    }
    a[i] = r
  }

  /** Removes and returns the smallest round; only valid when size > 0. */
  pop (): number {
    const a = this.a
    const top = a[0] as number
    const last = a.pop() as number
    if (a.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= a.length) break
        const m = l + 1 < a.length && (a[l + 1] as number) < (a[l] as number) ? l + 1 : l
        if ((a[m] as number) >= last) break
        a[i] = a[m] as number
        i = m
      }
      a[i] = last
    }
    return top
  }

  /** Drops everything. */
  clear (): void {
    this.a.length = 0
  }
}
