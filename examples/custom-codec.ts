/**
 * Writing your own protocol as a `Codec`: a subset of RESP (the Redis
 * protocol) — simple strings, errors, integers, bulk strings, arrays and
 * inline commands — and a tiny key-value server speaking it. The codec is in
 * `examples/lib/resp.ts`: read it for the decoder contract.
 *
 *   node examples/dist/custom-codec.js              # server and client in one process: prints the replies, exits 0
 *   node examples/dist/custom-codec.js --port 6380  # only the server, until Ctrl-C (try `redis-cli -p 6380 ping`)
 *
 * The server is the plain reactive shape: every decoded command is answered
 * with `send()`. Replies to commands that arrived together (a pipelining
 * client such as `redis-benchmark -P 16`) leave in one writev: the connection's
 * write queue gathers every send of a turn.
 */
import { firstValueFrom, take, toArray } from 'rxjs'
import { connect, framed, listen } from '@ringio/net'
import { RespCodec, RespError, RespStore } from './lib/resp.js'

const portArg = process.argv.indexOf('--port')
const store = new RespStore()
let port = portArg === -1 ? 0 : Number(process.argv[portArg + 1])

const server = listen({ host: '127.0.0.1', port, onListening: (a) => (port = a.port) }).subscribe((conn) => {
  const ch = framed(conn, new RespCodec())
  ch.messages$.subscribe({
    next: (cmd) => void ch.send(store.execute(cmd)), // a failed send errors messages$ too: handled below
    complete: () => ch.close(),
    error: (err: Error) => {
      console.error(`server: ${err.message}`)
      ch.close()
    },
  })
})

if (portArg !== -1) {
  console.log(`RESP server on 127.0.0.1:${port}`)
  const stop = (): void => server.unsubscribe()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} else {
  // The client: commands are arrays of bulk strings; replies come back in order.
  const client = framed(await connect({ port }), new RespCodec())
  const commands = [['PING'], ['SET', 'greeting', 'hello, ringio'], ['GET', 'greeting'], ['INCR', 'hits'], ['INCR', 'hits'], ['GET', 'missing'], ['FLY']]
  const replies = firstValueFrom(client.messages$.pipe(take(commands.length), toArray()))
  for (const c of commands) void client.send(c.map((s) => Buffer.from(s)))
  const got = await replies
  commands.forEach((c, i) => {
    const r = got[i]
    console.log(`${c.join(' ').padEnd(28)} -> ${r instanceof RespError ? `(error) ${r.message}` : Buffer.isBuffer(r) ? JSON.stringify(r.toString()) : JSON.stringify(r)}`)
  })
  client.close()
  await client.closed
  server.unsubscribe()
}
