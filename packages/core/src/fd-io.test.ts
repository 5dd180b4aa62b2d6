/**
 * Positional file I/O (`read`, `write`, `readv`, `writev` at explicit offsets), beyond 4 GiB too.
 * On whichever backend the vitest project selects (`RINGIO_BACKEND`), through the public API, against the real kernel.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { read, readv, write, writev } from './transport.js'
import { BACKEND } from '../test/helpers/fds.js'

let dir = ''
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/ringio-core-')
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe(`fd-io on the ${BACKEND} backend`, () => {
  describe('positional file I/O', () => {
    it('read/write/readv/writev at explicit offsets round-trip; reads past EOF are short', async () => {
      const path = join(dir, 'rw.bin')
      const fd = openSync(path, 'w+')
      try {
        expect(await write(fd, Buffer.from('AAAA'), 0)).toBe(4)
        expect(await write(fd, Buffer.from('BBBB'), 8)).toBe(4)
        expect(readFileSync(path).toString('latin1')).toBe('AAAA\0\0\0\0BBBB')
        expect(await writev(fd, [Buffer.from('cc'), Buffer.from('dd')], 4)).toBe(4)
        expect(readFileSync(path).toString('latin1')).toBe('AAAAccddBBBB')

        const four = Buffer.alloc(4)
        expect(await read(fd, four, 4)).toBe(4)
        expect(four.toString('latin1')).toBe('ccdd')
        const x = Buffer.alloc(3)
        const y = Buffer.alloc(5)
        expect(await readv(fd, [x, y], 2)).toBe(8)
        expect(x.toString('latin1') + y.toString('latin1')).toBe('AAccddBB')

        // Past the end: short, then zero — not an error.
        const ten = Buffer.alloc(10, 0x2e)
        expect(await read(fd, ten, 8)).toBe(4)
        expect(ten.toString('latin1')).toBe('BBBB......')
        expect(await read(fd, ten, 12)).toBe(0)
        expect(await read(fd, ten, 1000)).toBe(0)
        expect(await readv(fd, [x, y], 10)).toBe(2)

        // None of it moved the fd's own position: a plain write lands at 0.
        writeSync(fd, 'Z')
        expect(readFileSync(path).toString('latin1')).toBe('ZAAAccddBBBB')
      } finally {
        closeSync(fd)
      }
    })

    it('concurrent writes land exactly at their offsets, including beyond 4 GiB', async () => {
      const path = join(dir, 'offsets.bin')
      const fd = openSync(path, 'w+')
      try {
        const BLOCK = 4096
        const blocks = Array.from({ length: 16 }, () => randomBytes(BLOCK))
        // Started together, in reverse order: each must still land at its own offset.
        const wrote = await Promise.all(blocks.map((b, i) => write(fd, b, (15 - i) * BLOCK)))
        expect(wrote).toEqual(blocks.map(() => BLOCK))
        const file = readFileSync(path)
        expect(file.length).toBe(16 * BLOCK)
        blocks.forEach((b, i) => expect(file.subarray((15 - i) * BLOCK, (16 - i) * BLOCK).equals(b)).toBe(true))

        // A 64-bit offset: the high word must reach the kernel (sparse file, no real 4 GiB written).
        const far = 2 ** 32 + 3
        expect(await write(fd, Buffer.from('far'), far)).toBe(3)
        expect(statSync(path).size).toBe(far + 3)
        const back = Buffer.alloc(8)
        expect(await read(fd, back, far - 2)).toBe(5)
        expect(back.toString('latin1', 0, 5)).toBe('\0\0far')
        // And nothing landed at the low word alone (offset 3).
        const head = Buffer.alloc(16)
        expect(readSync(fd, head, 0, 16, 0)).toBe(16)
        expect(head.equals(blocks[15]!.subarray(0, 16))).toBe(true)
      } finally {
        closeSync(fd)
      }
    })
  })

})
