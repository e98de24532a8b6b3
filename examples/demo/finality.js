// Time to finality, measured on the real processes: each person runs `feedchain log -f --json`
// through their daemon, which prints every entry once it is final. An entry's time to finality
// is from its `time` (the writer's clock when its daemon wrote the block; all three processes
// share this machine's clock) to the moment the demo reads it, final, from the last of the three
// followers. So it spans acknowledgements over the testnet, the commit rule, and the follower's
// socket and pipe, but not the CLI's start-up.
import { StepError } from './procs.js'
import { parseRecord } from './transfer.js'

/** Followers of every person's chain, and the finality time of each entry they all report. */
export class FinalityWatch {
  constructor (people) {
    this.people = people
    this.children = []
    /** id (writer:seq:index) → { data, time, writer, at: { name → ms since epoch }, position } */
    this.entries = new Map()
    this.waiters = new Set()
  }

  /** Start the followers; resolves once each has printed the final prefix up to `finalLength`. */
  async start (finalLength) {
    for (const p of this.people) {
      const child = p.spawn(['log', '-f', '--json'], `${p.name}'s log -f`)
      child.proc.stdin.end()
      this.children.push(child)
      let buf = ''
      child.proc.stdout.on('data', (d) => {
        buf += d
        let i
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          const rec = parseRecord(line)
          if (rec !== null) this.record(p.name, rec)
        }
      })
    }
    await this.until(() => this.people.every((p) => this.finalCount(p.name) >= finalLength), 20_000, 'the followers to print the chain so far')
  }

  record (name, e) {
    if (!e.final) return
    const id = `${e.writer}:${e.seq}:${e.index}`
    let rec = this.entries.get(id)
    if (rec === undefined) {
      rec = { data: e.data, time: e.time, writer: e.writer, position: e.position, at: {} }
      this.entries.set(id, rec)
    }
    rec.at[name] ??= Date.now()
    for (const w of [...this.waiters]) w()
  }

  finalCount (name) {
    let n = 0
    for (const rec of this.entries.values()) if (rec.at[name] !== undefined) n++
    return n
  }

  /** Resolve when `cond()` holds (re-checked on every final entry); StepError after `ms`. */
  until (cond, ms, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const c of this.children) {
          if (c.done) return finish(new StepError(`${c.label} exited: ${c.stderr.trim().split('\n').pop() ?? ''}`))
        }
        if (cond()) finish(null)
      }
      const timer = setTimeout(() => finish(new StepError(`timed out after ${ms / 1000} s waiting for ${what}`)), ms)
      const finish = (e) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        clearInterval(poll)
        if (e) reject(e)
        else resolve()
      }
      // also notice a follower that dies without printing anything
      const poll = setInterval(check, 250)
      this.waiters.add(check)
      check()
    })
  }

  /** Wait until every entry whose data is in `texts` is final on every follower. */
  async waitFinal (texts, ms = 30_000) {
    const want = new Set(texts)
    await this.until(() => {
      let n = 0
      for (const rec of this.entries.values()) {
        if (want.has(rec.data) && this.people.every((p) => rec.at[p.name] !== undefined)) n++
      }
      return n >= want.size
    }, ms, `${want.size} entries to be final on all three`)
  }

  /** Time to finality (ms) of each entry whose data is in `texts`: { data, writer, ms }[]. */
  times (texts) {
    const want = new Set(texts)
    const out = []
    for (const rec of this.entries.values()) {
      if (!want.has(rec.data)) continue
      const last = Math.max(...this.people.map((p) => rec.at[p.name] ?? Infinity))
      out.push({ data: rec.data, writer: rec.writer, ms: last - rec.time })
    }
    return out
  }

  /** Stop the followers (SIGTERM: `log -f` ends cleanly on it) and wait for them. */
  async stop () {
    await Promise.all(this.children.map(async (c) => { c.kill('SIGTERM'); await c.wait(5000) }))
    this.children = []
  }
}

/** The p-th percentile (0–100) of a list of numbers (nearest rank). */
export function percentile (list, p) {
  if (list.length === 0) return NaN
  const sorted = [...list].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
