/**
 * One writer's witnesses in the current epoch: (round, seq) pairs. Rounds never decrease along
 * a feed, so witnesses arrive with strictly increasing rounds and seqs; two parallel arrays with
 * binary search are cheaper than a Map on the add path and drop a prefix in O(1) amortized.
 */
export class WitnessList {
  private rounds: number[] = []
  private seqs: number[] = []
  private start = 0

  /** Number of witnesses held. */
  get size (): number {
    return this.rounds.length - this.start
  }

  /** Appends the witness of round r (r above every round held). */
  push (r: number, seq: number): void {
    this.rounds.push(r)
    this.seqs.push(seq)
  }

  private find (r: number): number {
    let lo = this.start
    let hi = this.rounds.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.rounds[mid] as number) < r) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Seq of the witness of round r, or undefined. */
  get (r: number): number | undefined {
    const i = this.find(r)
    return i < this.rounds.length && this.rounds[i] === r ? this.seqs[i] : undefined
  }

  /** True if this writer has a witness of round r. */
  has (r: number): boolean {
    return this.get(r) !== undefined
  }

  /** Seq of the first witness of a round >= r, or undefined. */
  firstFrom (r: number): number | undefined {
    const i = this.find(r)
    return i < this.rounds.length ? this.seqs[i] : undefined
  }

  /** Forgets witnesses of rounds below r. */
  dropBelow (r: number): void {
    this.start = this.find(r)
    if (this.start > 64 && this.start * 2 > this.rounds.length) {
      this.rounds = this.rounds.slice(this.start)
      this.seqs = this.seqs.slice(this.start)
      this.start = 0
    }
  }

  /** Forgets everything (epoch switch). */
  clear (): void {
    this.rounds = []
    this.seqs = []
    this.start = 0
  }

  /** [round, seq] pairs, rounds increasing. */
  * entries (): IterableIterator<[number, number]> {
    for (let i = this.start; i < this.rounds.length; i++) yield [this.rounds[i] as number, this.seqs[i] as number]
  }
}
