/**
 * Request/response over Unix SOCK_SEQPACKET — each message is one record, so
 * no framing is needed (Node's core has no SOCK_SEQPACKET at all). Server and
 * client in one process, on an abstract-namespace name: prints the results, exits 0.
 *
 *   node examples/dist/seqpacket-rpc.js
 */
import { filter, firstValueFrom, map, share } from 'rxjs'
import { seqpacket, type SeqpacketChannel } from '@ringio/net'

interface Request { id: number; method: 'add' | 'upper'; params: unknown[] }
interface Response { id: number; result?: unknown; error?: string }

const path = `\0ringio-rpc-${process.pid}`
const methods: Record<Request['method'], (...p: never[]) => unknown> = {
  add: (a: number, b: number) => a + b,
  upper: (s: string) => s.toUpperCase(),
}

const server = seqpacket.listen({ path }).subscribe((ch) =>
  ch.messages$.subscribe({
    next: (m) => {
      const req = JSON.parse(m.toString()) as Request
      const fn = methods[req.method]
      const res: Response = fn === undefined ? { id: req.id, error: `no method ${req.method}` } : { id: req.id, result: fn(...(req.params as never[])) }
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
  return (method: string, ...params: unknown[]): Promise<unknown> => {
    const id = next++
    const reply = firstValueFrom(responses$.pipe(filter((r) => r.id === id)))
    void ch.send(JSON.stringify({ id, method, params }))
    return reply.then((r) => (r.error !== undefined ? Promise.reject(new Error(r.error)) : r.result))
  }
}

const ch = await seqpacket.connect({ path })
const call = client(ch)
const [sum, upper, nope] = await Promise.all([call('add', 2, 40), call('upper', 'seqpacket'), call('nope').catch((e: Error) => e.message)])
console.log('add(2, 40) =', sum)
console.log("upper('seqpacket') =", upper)
console.log('nope() ->', nope)
ch.close()
await ch.closed
server.unsubscribe()
