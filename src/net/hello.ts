/**
 * The `feedchain/net` handshake: one small Protomux channel beside the hypercore channels on
 * every connection. Each side sends the topics (discovery keys) it has joined, blinded with the
 * connection's Noise handshake hash, so a peer learns only the topics it shares with us — a
 * remote can test a topic only if it already knows it. A peer that never opens this channel
 * within the handshake timeout is not a feedchain peer (a plain or a garbage-writing one) and is
 * dropped by the Network.
 */
import c from 'compact-encoding'
import crypto from 'hypercore-crypto'

/** Wire version of the handshake; a peer sending a higher one is still accepted (fields are only appended). */
export const HELLO_VERSION = 1
/** Protomux protocol name of the channel. */
export const HELLO_PROTOCOL = 'feedchain/net'
/** At most this many topics are announced on one connection (bounds the message size: 32 B each). */
export const MAX_HELLO_TOPICS = 1024

const BLIND_NS = Buffer.from('feedchain/net/topic/v1')

/** The part of a Protomux message feedchain uses. */
interface MuxMessage { send (value: unknown): boolean }
/** The part of a Protomux channel feedchain uses. */
interface MuxChannel {
  messages: MuxMessage[]
  opened: boolean
  closed: boolean
  open (handshake?: unknown): void
  close (): void
}
/** The part of Protomux feedchain uses (it is the `userData` of a replicated connection). */
export interface Mux {
  createChannel (opts: {
    protocol: string
    id?: Buffer | null
    unique?: boolean
    handshake?: c.Encoder<Hello>
    messages?: Array<{ encoding: c.Encoder<Buffer[]>, onmessage: (value: Buffer[]) => void }>
    onopen?: (handshake: Hello) => void
    onclose?: () => void
  }): MuxChannel | null
}

/** The handshake: a version and the blinded topics. */
export interface Hello {
  version: number
  topics: Buffer[]
}

const topicsEncoding: c.Encoder<Buffer[]> = {
  preencode (state, topics) {
    c.uint.preencode(state, topics.length)
    for (const t of topics) c.fixed32.preencode(state, t)
  },
  encode (state, topics) {
    c.uint.encode(state, topics.length)
    for (const t of topics) c.fixed32.encode(state, t)
  },
  decode (state) {
    const n = c.uint.decode(state)
    if (n > MAX_HELLO_TOPICS) throw new Error('Array is too big')
    const out: Buffer[] = []
    for (let i = 0; i < n; i++) out.push(Buffer.from(c.fixed32.decode(state)))
    return out
  }
}

const helloEncoding: c.Encoder<Hello> = {
  preencode (state, h) {
    c.uint.preencode(state, h.version)
    topicsEncoding.preencode(state, h.topics)
  },
  encode (state, h) {
    c.uint.encode(state, h.version)
    topicsEncoding.encode(state, h.topics)
  },
  decode (state) {
    const version = c.uint.decode(state)
    const topics = topicsEncoding.decode(state)
    state.start = state.end // later versions may append fields
    return { version, topics }
  }
}

/** A topic blinded for one connection: blake2b(ns ‖ handshakeHash ‖ topic). */
export function blindTopic (handshakeHash: Uint8Array, topic: Uint8Array): Buffer {
  return crypto.hash([BLIND_NS, Buffer.from(handshakeHash), Buffer.from(topic)])
}

/** One open handshake channel. */
export interface HelloChannel {
  /** Tell the remote our current topics (after a join or leave). */
  sendTopics (topics: Buffer[]): void
  close (): void
}

/**
 * Open the handshake channel on a connection's Protomux. `onhello` gets the remote's blinded
 * topics when both sides have opened, `ontopics` every later update. Returns null if the stream
 * is already gone.
 */
export function openHello (mux: Mux, handshakeHash: Uint8Array, topics: Buffer[], handlers: {
  onhello: (hello: Hello) => void
  ontopics: (blinded: Buffer[]) => void
}): HelloChannel | null {
  const blind = (list: Buffer[]): Buffer[] => list.slice(0, MAX_HELLO_TOPICS).map((t) => blindTopic(handshakeHash, t))
  const channel = mux.createChannel({
    protocol: HELLO_PROTOCOL,
    id: null,
    unique: true,
    handshake: helloEncoding,
    messages: [{ encoding: topicsEncoding, onmessage: (m) => handlers.ontopics(m) }],
    onopen: (hello) => handlers.onhello(hello)
  })
  if (channel === null) return null
  channel.open({ version: HELLO_VERSION, topics: blind(topics) })
  return {
    sendTopics (list) {
      if (channel.closed) return
      const msg = channel.messages[0]
      if (msg !== undefined) msg.send(blind(list))
    },
    close () {
      if (!channel.closed) channel.close()
    }
  }
}
