// Waiting for a convergence condition: re-checked on events, with a slow poll only as a
// fallback and a hard deadline. Never a sleep used as synchronization.

/**
 * Resolves with the first truthy value of `check()` (sync or async). `check` runs once at
 * start, again after every `event` emitted by any of `emitters`, and every `pollMs` as a
 * fallback. Checks never overlap: an event during a check queues exactly one re-check.
 * Rejects after `timeoutMs` with `describe()` in the message.
 */
export function waitUntil (check, { emitters = [], event = 'update', timeoutMs = 60_000, pollMs = 10, describe = null, label = 'condition' } = {}) {
  return new Promise((resolve, reject) => {
    let running = false
    let again = false
    let done = false

    const onEvent = () => { run() }
    for (const e of emitters) e.on(event, onEvent)
    const poll = setInterval(run, pollMs)
    const deadline = setTimeout(async () => {
      let state = ''
      try { if (describe) state = ' — state: ' + (await describe()) } catch (err) { state = ' — describe failed: ' + err.message }
      finish(new Error(`timed out after ${timeoutMs} ms waiting for ${label}${state}`))
    }, timeoutMs)

    run()

    function finish (err, value) {
      if (done) return
      done = true
      clearInterval(poll)
      clearTimeout(deadline)
      for (const e of emitters) e.off(event, onEvent)
      if (err) reject(err)
      else resolve(value)
    }

    async function run () {
      if (done) return
      if (running) { again = true; return }
      running = true
      try {
        do {
          again = false
          const v = await check()
          if (v) return finish(null, v)
        } while (again && !done)
      } catch (err) {
        finish(err)
      } finally {
        running = false
      }
    }
  })
}
