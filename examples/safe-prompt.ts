/**
 * A prompt that is safe inside a pipeline: asks for a name (line mode), then
 * a secret in raw mode without echo, and prints what it read as one JSON line
 * on stdout.
 *
 *   node examples/dist/safe-prompt.js
 *   producer | node examples/dist/safe-prompt.js | less
 *
 * Questions go to the terminal (`/dev/tty`, a description this program opens
 * and owns), so stdin and stdout stay free for the pipeline; without a
 * terminal it reads lines from stdin and asks on stderr. Ctrl-C restores the
 * terminal and exits 130; Ctrl-D on an empty answer cancels (exit 1), on a
 * non-empty one submits it. However the program ends — Ctrl-C, `kill`, an
 * exception — the terminal gets its previous settings back.
 */
import { openSync } from 'node:fs'
import { exit, input, isTTY, output, stderr, stdin, stdout, type InputEvent, type Writer } from '@ringio/tty'
import type { Observable, Subscription } from 'rxjs'

interface Terminal {
  /** Where answers come from. */
  open(raw: boolean): Observable<InputEvent>
  /** Where questions go. */
  out: Writer
}

function terminal(): Terminal {
  try {
    const fd = openSync('/dev/tty', 'r+') // ours: a private description of the controlling terminal
    return { open: (raw) => input(fd, { shared: false, raw }), out: output(fd, { shared: false }) }
  } catch {
    // No controlling terminal (a service, CI): answers from stdin, questions on stderr.
    return { open: (raw) => stdin({ raw: raw && isTTY(0) }), out: stderr() }
  }
}

const CTRL_C = 0x03
const CTRL_D = 0x04
const CTRL_U = 0x15
const BACKSPACE = [0x08, 0x7f]

/** Bytes typed ahead of the current question (a pasted "name\nsecret\n"). */
let typedAhead: Buffer = Buffer.alloc(0)

class Cancelled extends Error {
  constructor(readonly code: number) {
    super(code === 130 ? 'interrupted' : 'cancelled')
  }
}

/** Reads one answer. Line mode: the terminal edits and echoes; raw mode: we do, without echo. */
function ask(term: Terminal, question: string, raw: boolean): Promise<string> {
  void term.out.write(question)
  return new Promise<string>((resolve, reject) => {
    let answer: number[] = []
    const submit = (): void => resolve(Buffer.from(answer).toString('utf8'))
    // Ctrl-D (or the end of input) on an empty answer cancels; on a non-empty one it submits.
    const endOfInput = (): true => finish(() => (answer.length === 0 ? reject(new Cancelled(1)) : submit()))
    const take = (byte: number): boolean => {
      if (byte === 0x0a || byte === 0x0d) return finish(submit)
      if (!raw) return (answer.push(byte), false)
      if (byte === CTRL_C) return finish(() => reject(new Cancelled(130)))
      if (byte === CTRL_D) return endOfInput()
      if (byte === CTRL_U) answer = []
      else if (BACKSPACE.includes(byte)) answer.pop()
      else answer.push(byte)
      return false
    }
    let done = false
    let sub: Subscription | undefined
    const finish = (settle: () => void): true => {
      done = true
      sub?.unsubscribe() // restores the terminal when it was raw
      if (raw) void term.out.write('\n') // the Enter we did not echo
      settle()
      return true
    }
    const feed = (bytes: Buffer): void => {
      for (let i = 0; i < bytes.length && !done; i++) {
        if (take(bytes[i]!)) typedAhead = bytes.subarray(i + 1)
      }
    }
    const pending = typedAhead
    typedAhead = Buffer.alloc(0)
    feed(pending)
    if (done) return
    sub = term.open(raw).subscribe({
      next(ev) {
        // In line mode Ctrl-D is an EOF marker ('eof'); piped input ends with 'end'.
        if (ev.type === 'data') feed(ev.data)
        else endOfInput()
      },
      error: (e: unknown) => finish(() => reject(e)),
    })
    if (done) sub.unsubscribe() // answered from input that was already waiting
  })
}

async function main(): Promise<void> {
  const term = terminal()
  // Line mode: the terminal turns Ctrl-C into SIGINT. Raw mode restores itself before this runs.
  process.on('SIGINT', () => {
    void term.out.write('\n') // the terminal already echoed ^C
    void exit(130)
  })
  try {
    const name = await ask(term, 'Name: ', false)
    const secret = await ask(term, `Secret for ${name} (not echoed): `, true)
    await stdout().write(`${JSON.stringify({ name, secret })}\n`)
    await exit(0)
  } catch (e) {
    if (e instanceof Cancelled) {
      await term.out.write(e.code === 130 ? '^C\n' : 'cancelled\n')
      await exit(e.code)
    }
    await term.out.write(`safe-prompt: ${e instanceof Error ? e.message : String(e)}\n`)
    await exit(1)
  }
}

void main()
