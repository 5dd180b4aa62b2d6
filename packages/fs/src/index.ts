/**
 * @ringio/fs: positional file I/O over the ringio proactor — reads and
 * writes at explicit offsets (never the kernel's file position), an append
 * cursor that keeps concurrent appends in call order, O_DIRECT with aligned
 * buffers, and chunk streams.
 *
 * ## Example
 * ```ts
 * import { open, readChunks } from '@ringio/fs'
 * const f = await open('/var/tmp/data.bin', 'w+')
 * await Promise.all([f.append('a'), f.append('b'), f.append('c')])   // "abc", always
 * readChunks(f, { chunkSize: 4096 }).subscribe((chunk) => hash.update(chunk))
 * ```
 * @packageDocumentation
 */

// Files
export { open, type OpenOptions } from './open.js'
export { File, type FileOpOptions } from './file.js'
export type { OpenFlags } from './flags.js'
export { stat, type FileStat, type FileType, type StatOptions } from './stat.js'

// O_DIRECT memory
export { allocAligned, PAGE_SIZE } from './aligned.js'
export { AlignedPool, type AlignedPoolOptions } from './aligned-pool.js'
export type { DirectAlignment } from './direct.js'

// Streams and copies
export { readChunks, type ReadChunksOptions } from './read-chunks.js'
export { writeFrom, type WriteFromOptions } from './write-from.js'
export { copy, type CopyOptions } from './copy.js'

// Errors (re-exported from @ringio/core, for matching without a second import)
export { IoError } from '@ringio/core/transport'
