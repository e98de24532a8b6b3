// Bootstrap parsing and the DHT host rule (pure), and option validation of Network (no sockets).
import test from 'brittle'
import Corestore from 'corestore'
import { parseBootstrap, resolveDhtOptions, isLoopback } from '../dist/net/bootstrap.js'
import { Network } from '../dist/net/network.js'
import { tmpdir, createLoopbackTestnet } from './helpers/net.js'

function code (fn) {
  try {
    fn()
  } catch (e) {
    return e.code
  }
  return null
}

test('parseBootstrap: valid forms', (t) => {
  t.alike(parseBootstrap('127.0.0.1:49737'), [{ host: '127.0.0.1', port: 49737 }])
  t.alike(parseBootstrap(' 127.0.0.1:1 , localhost:65535 '), [{ host: '127.0.0.1', port: 1 }, { host: 'localhost', port: 65535 }])
  t.alike(parseBootstrap(['10.0.0.2:4000', { host: 'node1.example.org', port: 49737 }]), [{ host: '10.0.0.2', port: 4000 }, { host: 'node1.example.org', port: 49737 }])
  t.alike(parseBootstrap('88.99.3.86@node1.hyperdht.org:49737'), [{ host: '88.99.3.86@node1.hyperdht.org', port: 49737 }], 'HyperDHT ip@host form')
})

test('parseBootstrap: malformed input is INVALID_ARGUMENT', (t) => {
  const bad = [
    '', ' ', ',', 'a:b', '127.0.0.1', '127.0.0.1:', ':49737', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:-1',
    '127.0.0.1:49737,', '127.0.0.1:49737,,localhost:1', '127.0.0.1:12ab', '300.1.1.1:1', '1.2.3:5',
    'bad host:1', 'a..b:1', '[::1]:49737', '::1:49737', '[::1]', 'x@y:1', '1.2.3.4@@y:1'
  ]
  for (const input of bad) t.is(code(() => parseBootstrap(input)), 'INVALID_ARGUMENT', JSON.stringify(input))
  t.is(code(() => parseBootstrap([])), 'INVALID_ARGUMENT', 'empty array')
  t.is(code(() => parseBootstrap([{ host: '127.0.0.1', port: '1' }])), 'INVALID_ARGUMENT', 'port as a string in an object')
  t.is(code(() => parseBootstrap([{ host: '127.0.0.1', port: 1.5 }])), 'INVALID_ARGUMENT', 'fractional port')
  t.is(code(() => parseBootstrap([null])), 'INVALID_ARGUMENT', 'null item')
  try {
    parseBootstrap('[::1]:49737')
  } catch (e) {
    t.ok(/IPv6/.test(e.message), 'IPv6 in brackets is recognized and refused with a reason: ' + e.message)
  }
  try {
    parseBootstrap('a:b')
  } catch (e) {
    t.ok(e.message.includes('"a:b"') && !e.message.includes('\n'), 'one-line message names the item: ' + e.message)
  }
})

test('isLoopback and the host rule', (t) => {
  t.ok(isLoopback('127.0.0.1'))
  t.ok(isLoopback('127.5.6.7'))
  t.ok(isLoopback('localhost'))
  t.ok(isLoopback('127.0.0.1@example.org'))
  t.absent(isLoopback('10.0.0.1'))
  t.absent(isLoopback('128.0.0.1'))
  t.absent(isLoopback('node1.hyperdht.org'))

  t.alike(resolveDhtOptions({ bootstrap: '127.0.0.1:49737' }), { bootstrap: [{ host: '127.0.0.1', port: 49737 }], host: '127.0.0.1' }, 'all loopback → bind 127.0.0.1')
  t.alike(resolveDhtOptions({ bootstrap: '127.0.0.1:1,localhost:2' }), { bootstrap: [{ host: '127.0.0.1', port: 1 }, { host: 'localhost', port: 2 }], host: '127.0.0.1' })
  t.alike(resolveDhtOptions({ bootstrap: '127.0.0.1:1,10.0.0.1:2' }), { bootstrap: [{ host: '127.0.0.1', port: 1 }, { host: '10.0.0.1', port: 2 }] }, 'one non-loopback node → default bind')
  t.alike(resolveDhtOptions({ bootstrap: '10.0.0.1:2', host: '127.0.0.1' }), { bootstrap: [{ host: '10.0.0.1', port: 2 }], host: '127.0.0.1' }, 'explicit host wins')
  t.alike(resolveDhtOptions({ host: '127.0.0.1' }), { host: '127.0.0.1' })
  t.alike(resolveDhtOptions({}), {}, 'neither: public HyperDHT defaults (product only)')
  t.is(code(() => resolveDhtOptions({ host: 'localhost' })), 'INVALID_ARGUMENT', 'host must be an IPv4 address')
  t.is(code(() => resolveDhtOptions({ bootstrap: 'a:b' })), 'INVALID_ARGUMENT')
})

test('Network: bad options fail in the constructor, before any socket exists', async (t) => {
  const store = new Corestore(tmpdir(t))
  t.teardown(() => store.close(), { order: 10 })
  t.is(code(() => new Network(store, { bootstrap: 'a:b' })), 'INVALID_ARGUMENT')
  t.is(code(() => new Network(store, { bootstrap: '' })), 'INVALID_ARGUMENT')
  t.is(code(() => new Network(store, { bootstrap: '127.0.0.1:1', refreshMin: -1 })), 'INVALID_ARGUMENT')
  t.is(code(() => new Network(store, { bootstrap: '127.0.0.1:1', maxStrikes: 0 })), 'INVALID_ARGUMENT')
  const n = new Network(store, { bootstrap: '127.0.0.1:1' })
  t.is(code(() => n.ban('not a key')), 'INVALID_ARGUMENT')
  await t.exception(() => n.join(Buffer.alloc(31)), /32-byte/)
  await n.close() // never opened: nothing to leak
  t.ok(n.closed)
})

test('local testnet: bootstrap on 127.0.0.1, networks bound to 127.0.0.1', async (t) => {
  const testnet = await createLoopbackTestnet(t, 2)
  t.ok(testnet.bootstrap.length >= 1 && testnet.bootstrap.every((n) => n.host === '127.0.0.1'), testnet.bootstrapString)
  t.alike(parseBootstrap(testnet.bootstrapString), testnet.bootstrap, 'bootstrapString round-trips through parseBootstrap')
  const store = new Corestore(tmpdir(t))
  t.teardown(() => store.close(), { order: 10 })
  // a caller trying to point the node elsewhere is ignored (the decoys are loopback too, so
  // even a broken helper could not leave 127.0.0.0/8)
  const network = testnet.createNetwork(store, { bootstrap: '127.0.0.2:9', host: '127.0.0.3' })
  t.teardown(() => network.close(), { order: 0 })
  await network.ready()
  const dht = network.swarm.dht
  await dht.ready()
  t.is(dht.address().host, '127.0.0.1', 'DHT socket bound to 127.0.0.1')
  t.alike(dht.bootstrapNodes.map((n) => n.host), testnet.bootstrap.map((n) => n.host), 'bootstraps only from the testnet')
})
