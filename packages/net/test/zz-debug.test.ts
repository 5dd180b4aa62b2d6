import { it, expect } from 'vitest'
import { connect, type Connection } from '@ringio/net'
import { collect, pair, pattern, peekQueued, until, sleep } from './helpers.js'

it('peek debug', async () => {
    const { client, server, stop } = await pair()
      const first: Buffer[] = []
      const sub = server.data$.subscribe((b) => first.push(b))
      await client.write('hello')
      console.log('written hello')
      await until(() => Buffer.concat(first).toString() === 'hello', 2000, 'the first bytes')
      sub.unsubscribe()
      console.log('unsubscribed')
      await sleep(20) // the cancel lands in the kernel
      const more = pattern(64 * 1024, 5)
      await client.write(more)
      console.log('written more')
      await sleep(50)
      const pq = peekQueued(server.fd)
      console.log('peek started')
      console.log('peek', await pq)
      stop()
})
