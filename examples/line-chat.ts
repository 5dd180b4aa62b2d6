/**
 * The libevent seed's line protocol over `delimited`: every line a client
 * sends is answered `You said <line>` — and, with `--room`, a chat room where
 * every line goes to every *other* client, in order.
 *
 *   node examples/dist/line-chat.js [--port 7000] [--room]
 *   nc 127.0.0.1 7000
 *
 * With `--self-test` it starts on a free port, runs a client against itself
 * (three clients with `--room`), prints what they saw and exits 0.
 */
import { firstValueFrom, take, toArray } from 'rxjs'
import { connect, delimited, listen, type FramedChannel } from '@ringio/net'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : (args[i + 1] ?? '')
}
const room = args.includes('--room')
const selfTest = args.includes('--self-test')
const port = Number(flag('--port') ?? (selfTest ? 0 : 7000))

type Lines = FramedChannel<string, string | Uint8Array>
const members = new Set<Lines>()
let bound = 0

const sub = listen({
  host: '127.0.0.1',
  port,
  onListening: (a) => (bound = a.port),
  // Out of fds (EMFILE) the listener pauses and retries by itself: just say so.
  onAcceptError: (err) => console.error(err.message),
}).subscribe((conn) => {
  const lines: Lines = delimited(conn, { maxFrame: 4096 })
  const who = `${conn.remoteAddress.address}:${conn.remoteAddress.port}`
  members.add(lines)
  lines.messages$.subscribe({
    next: (raw) => {
      const line = raw.replace(/\r$/, '') // telnet sends CRLF
      if (!room) return void lines.send(`You said ${line}`)
      // Each member's sends are ordered by its own write queue: everyone sees lines in order.
      for (const other of members) if (other !== lines) void other.send(`${who}: ${line}`)
    },
    complete: () => {
      members.delete(lines)
      lines.close()
    },
    error: (err: Error) => {
      members.delete(lines)
      lines.close() // else its fd stays open: a slow leak, fatal under a low fd limit
      console.error(`${who}: ${err.message}`)
    },
  })
})

if (!selfTest) {
  console.log(`line-chat on 127.0.0.1:${bound}${room ? ' (chat room)' : ''}`)
} else {
  const open = async (): Promise<Lines> => delimited(await connect({ port: bound }))
  if (room) {
    const [a, b, c] = await Promise.all([open(), open(), open()])
    await new Promise((r) => setTimeout(r, 20))
    const seenByB = firstValueFrom(b.messages$.pipe(take(4), toArray()))
    const seenByC = firstValueFrom(c.messages$.pipe(take(4), toArray()))
    for (const l of ['one', 'two', 'three', 'four']) void a.send(l)
    console.log('b saw', (await seenByB).map((l) => l.split(': ')[1]))
    console.log('c saw', (await seenByC).map((l) => l.split(': ')[1]))
    for (const ch of [a, b, c]) ch.close()
  } else {
    const a = await open()
    const replies = firstValueFrom(a.messages$.pipe(take(2), toArray()))
    void a.send('hello')
    void a.send('world')
    console.log(await replies)
    a.close()
  }
  sub.unsubscribe()
}
