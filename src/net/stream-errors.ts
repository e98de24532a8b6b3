/**
 * Which errors that end a connection are the remote's fault (it sent bytes that do not decode)
 * rather than the network's. Only these count as strikes; an unknown error never does, so an
 * honest peer on a bad link is never banned.
 *
 * Sources, read in node_modules (hypercore 11.37.1, protomux 3.12, secret-stream 6.9,
 * compact-encoding 3.x): garbage inside the encrypted stream reaches Protomux, which destroys
 * the connection with the decoder's plain `Error` ('Out of bounds', 'uint must be between …',
 * 'Invalid open message', 'Remote exceeded backlog'); garbage below the encryption makes
 * secret-stream fail ('Invalid message received', 'Invalid header received', or libsodium's
 * decrypt error); a hypercore message that decodes but is invalid raises a HypercoreError such
 * as INVALID_CAPABILITY or DECODING_ERROR.
 */

const PROTOCOL_MESSAGES: RegExp[] = [
  /^Out of bounds$/, // compact-encoding: a field runs past the message
  /^uint must be between/, // compact-encoding: 64-bit varint out of range
  /^Array is too big$/, // compact-encoding
  /^Unknown type/, // compact-encoding `any`
  /^Incorrect buffer size$/, // compact-encoding fixed
  /^Invalid (open|reject) message$/, // protomux control session
  /^Remote exceeded backlog$/, // protomux: too many unanswered channel opens
  /^Invalid (header |header message |)received$/, // secret-stream framing
  /^Invalid message received$/,
  /^pull failed$/, // sodium-native: secretstream decrypt (tampered or injected ciphertext)
]

const PROTOCOL_CODES = new Set(['INVALID_CAPABILITY', 'DECODING_ERROR', 'ERR_OUT_OF_RANGE', 'ERR_BUFFER_OUT_OF_BOUNDS'])

/** True if `e` ended a connection because the remote sent data that does not decode. */
export function isProtocolError (e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false
  const code = (e as { code?: unknown }).code
  if (typeof code === 'string' && PROTOCOL_CODES.has(code)) return true
  const message = (e as { message?: unknown }).message
  return typeof message === 'string' && PROTOCOL_MESSAGES.some((re) => re.test(message))
}

/** A short one-line description of an error for peer tables and logs. */
export function describeError (e: unknown): string {
  if (e === null || typeof e !== 'object') return String(e)
  const code = (e as { code?: unknown }).code
  const message = String((e as { message?: unknown }).message ?? e).split('\n')[0] ?? ''
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message
}
