/**
 * A UDP echo server: every datagram goes back to its sender, whole.
 *
 *   node examples/dist/udp-echo.js [--port 7001]
 *   echo hi | nc -u -w1 127.0.0.1 7001
 *
 * With `--self-test` it echoes 1000 datagrams to itself, prints a summary and exits 0.
 */
import { udp } from '@ringio/net'

const args = process.argv.slice(2)
const i = args.indexOf('--port')
const selfTest = args.includes('--self-test')
const server = udp({ host: '127.0.0.1', port: i === -1 ? (selfTest ? 0 : 7001) : Number(args[i + 1]) })
server.messages$.subscribe({
  next: (d) => void server.send(d), // a Datagram carries its sender: the reply goes back to it
  error: (err: Error) => console.error(err.message),
})
const { port } = server.localAddress

if (!selfTest) {
  console.log(`udp-echo on 127.0.0.1:${port}`)
} else {
  const client = udp({ host: '127.0.0.1' })
  await client.connect({ address: '127.0.0.1', port })
  let got = 0
  let bytes = 0
  await new Promise<void>((resolve) => {
    client.messages$.subscribe((d) => {
      bytes += d.data.length
      if (++got === 1000) resolve()
      else void client.send(Buffer.alloc(got % 100, got & 0xff)) // one in flight: loopback never drops it
    })
    void client.send(Buffer.alloc(0))
  })
  console.log(`echoed ${got} datagrams (${bytes} bytes), boundaries kept`)
  client.close()
  server.close()
}
