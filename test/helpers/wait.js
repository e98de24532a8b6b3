// The one wait helper of the tests: resolve when a condition holds, re-checking on events and on
// a slow poll; fail after a deadline with what was awaited and how things stood.

/**
 * Wait until cond() (sync or async) is true, re-checking on `events` (default 'update') of the
 * emitters and every `poll` ms (a safety net for state that changes without an event, e.g. a
 * timer firing). Rejects after `ms` with `what` and the optional `describe()` output, or with
 * the error cond() threw.
 */
export function waitFor (emitters, cond, { ms = 15000, what = 'condition', events = ['update'], describe = null, poll = 100 } = {}) {
  return new Promise((resolve, reject) => {
    let done = false
    const check = async () => {
      if (done) return
      let ok = false
      try { ok = await cond() } catch (e) { return finish(e) }
      if (ok) finish(null)
    }
    const finish = (e) => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearInterval(poller)
      for (const em of emitters) for (const ev of events) em.off(ev, check)
      if (e) reject(e)
      else resolve()
    }
    const poller = setInterval(check, poll)
    const timer = setTimeout(() => {
      let how = ''
      if (describe) { try { how = ': ' + describe() } catch (e) { how = ': (describe failed: ' + e.message + ')' } }
      finish(new Error(`timed out after ${ms} ms waiting for ${what}${how}`))
    }, ms)
    for (const em of emitters) for (const ev of events) em.on(ev, check)
    check()
  })
}
