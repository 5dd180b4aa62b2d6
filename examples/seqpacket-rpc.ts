/**
 * Request/response over Unix SOCK_SEQPACKET — each message is one record, so
 * no framing is needed (Node's core has no SOCK_SEQPACKET at all). Server and
 * client in one process, on an abstract-namespace name: prints the results, exits 0.
 * The `note` call passes an open file to the server with the request
 * (SCM_RIGHTS): the server writes into the client's file through its own copy.
 *
 *   node examples/dist/seqpacket-rpc.js
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { filter, firstValueFrom, map, share } from 'rxjs'
import { receivedFds, seqpacket, type SeqpacketChannel } from '@ringio/net'

interface Request { id: number; method: 'add' | 'upper' | 'note'; params: unknown[] }
interface Response { id: number; result?: unknown; error?: string }

const path = `\0ringio-rpc-${process.pid}`
const methods: Record<Request['method'], (fds: readonly number[], ...p: never[]) => unknown> = {
  add: (_fds, a: number, b: number) => a + b,
  upper: (_fds, s: string) => s.toUpperCase(),
  // The descriptor came with the request; it is ours to close.
  note: ([fd], text: string) => {
    if (fd === undefined) throw new Error('note needs a file descriptor')
    try {
      return writeSync(fd, `${text}\n`)
    } finally {
      closeSync(fd)
    }
  },
}

// maxFds: a request may carry one descriptor.
const server = seqpacket.listen({ path, maxFds: 1 }).subscribe((ch) =>
  ch.messages$.subscribe({
    next: (m) => {
      const req = JSON.parse(m.toString()) as Request
      const fn = methods[req.method]
      let res: Response
      try {
        res = fn === undefined ? { id: req.id, error: `no method ${req.method}` } : { id: req.id, result: fn(receivedFds(m), ...(req.params as never[])) }
      } catch (err) {
        res = { id: req.id, error: (err as Error).message }
      }
      void ch.send(JSON.stringify(res))
    },
    complete: () => ch.close(),
  }),
)

/** A tiny RPC client: requests in flight are matched to responses by id. */
function client(ch: SeqpacketChannel) {
  let next = 1
  // share(): one subscription to the channel however many calls are in flight.
  const responses$ = ch.messages$.pipe(map((m) => JSON.parse(m.toString()) as Response), share())
  return (method: string, params: unknown[], fds?: number[]): Promise<unknown> => {
    const id = next++
    const reply = firstValueFrom(responses$.pipe(filter((r) => r.id === id)))
    void ch.send(JSON.stringify({ id, method, params }), fds === undefined ? undefined : { fds })
    return reply.then((r) => (r.error !== undefined ? Promise.reject(new Error(r.error)) : r.result))
  }
}

const ch = await seqpacket.connect({ path })
const call = client(ch)
const [sum, upper, nope] = await Promise.all([call('add', [2, 40]), call('upper', ['seqpacket']), call('nope', []).catch((e: Error) => e.message)])
console.log('add(2, 40) =', sum)
console.log("upper('seqpacket') =", upper)
console.log('nope() ->', nope)

const dir = mkdtempSync(join(tmpdir(), 'ringio-rpc-'))
const file = join(dir, 'notes.txt')
const fd = openSync(file, 'w')
const written = await call('note', ['written by the server through a descriptor the client passed'], [fd])
closeSync(fd) // the server had its own copy
console.log(`note(fd) wrote ${String(written)} bytes: ${readFileSync(file, 'utf8').trim()}`)
rmSync(dir, { recursive: true })
ch.close()
await ch.closed
server.unsubscribe()
