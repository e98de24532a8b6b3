// In-process replication between peers (corestores, Autobases or ChainNodes: anything with
// `.replicate(isInitiator)` returning a duplex stream). No sockets, no DHT: nothing leaves
// the process, let alone 127.0.0.0/8.

/** Pipes a.replicate(true) <-> b.replicate(false). Returns a link with async destroy(). */
export function connect (a, b) {
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  let destroying = false
  const onError = (err) => {
    // Errors after we tear the link down (partition) are expected; anything else is reported.
    if (!destroying) console.error('[bench] replication stream error:', err && err.message)
  }
  s1.on('error', onError)
  s2.on('error', onError)
  s1.pipe(s2).pipe(s1)

  return {
    streams: [s1, s2],
    async destroy () {
      destroying = true
      await Promise.all([s1, s2].map(closeStream))
    }
  }
}

/** Connects every pair of `peers` (full mesh). Returns { links, destroy() }. */
export function mesh (peers) {
  const links = []
  for (let i = 0; i < peers.length; i++) {
    for (let j = i + 1; j < peers.length; j++) links.push(connect(peers[i], peers[j]))
  }
  return {
    links,
    async destroy () {
      await Promise.all(links.map((l) => l.destroy()))
    }
  }
}

function closeStream (s) {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve() // streamx: already closed
    s.once('close', resolve)
    s.destroy()
  })
}
