import type { BackendName, Proactor } from './proactor.js'
import { IoError } from './errors.js'
import { UringProactor } from './uring/uring-proactor.js'
import type { RingOptions } from './uring/ring.js'
import { createPollProactor } from './poll/poll-proactor.js'
import { environmentSingleton } from './environment.js'

/** Options for the environment's proactor; set them with {@link configure} before the first operation. */
export interface ProactorOptions extends RingOptions {
  /** `'uring'`, `'poll'`, or `'auto'` (the default; also read from `RINGIO_BACKEND`). */
  backend?: BackendName | 'auto'
}

/** The environment's proactor and its options, one per Node environment whichever builds are loaded. */
interface BackendState {
  options: ProactorOptions
  current: Proactor | null
  exitHooked: boolean
  /** Why io_uring was not used, when the poll backend runs in auto mode. */
  fallbackReason: string | undefined
}

const state = environmentSingleton<BackendState>('core.backend', () => ({ options: {}, current: null, exitHooked: false, fallbackReason: undefined }))

/**
 * Sets the proactor's options. Must run before the first operation of this
 * Node environment (main thread or Worker); throws once a proactor exists.
 */
export function configure(opts: ProactorOptions): void {
  if (state.current !== null && !state.current.closed) throw new Error('ringio: configure() must run before the first operation')
  state.options = { ...opts }
}

/**
 * The environment's proactor, created on first use: io_uring when the kernel
 * lets us set up a ring, the readiness reactor otherwise. `RINGIO_BACKEND=uring`
 * makes a missing io_uring a hard error; `RINGIO_BACKEND=poll` skips it.
 */
export function getProactor(): Proactor {
  if (state.current !== null && !state.current.closed) return state.current
  state.current = createProactor(chosenBackend())
  if (!state.exitHooked) {
    state.exitHooked = true
    // Release the ring and its mappings at exit; the kernel would too, but a
    // clean close also cancels in-flight operations in order.
    process.once('exit', () => state.current?.shutdown())
  }
  return state.current
}

/** Which backend runs (creating the proactor if needed): `'uring'` or `'poll'`. */
export function backend(): BackendName {
  return getProactor().backend
}

/** Why the automatic choice fell back to the poll backend, if it did. */
export function backendFallbackReason(): string | undefined {
  return state.fallbackReason
}

/**
 * Closes the environment's proactor now (it is also closed at exit): pending
 * operations complete with `ECANCELED`. The next operation creates a new one.
 */
export function closeProactor(): void {
  state.current?.shutdown()
  state.current = null
}

function chosenBackend(): BackendName | 'auto' {
  const env = process.env['RINGIO_BACKEND']
  const pick = state.options.backend ?? (env === 'uring' || env === 'poll' ? env : 'auto')
  if (env !== undefined && env !== '' && env !== 'uring' && env !== 'poll' && env !== 'auto') {
    throw new TypeError(`RINGIO_BACKEND must be 'uring', 'poll' or 'auto', got '${env}'`)
  }
  return pick
}

/** The candidates in order: io_uring where the platform has it, then the reactor. */
function createProactor(pick: BackendName | 'auto'): Proactor {
  if (pick === 'poll') return createPollProactor()
  if (process.platform !== 'linux') {
    if (pick === 'uring') throw new Error(`ringio: io_uring needs Linux, this is ${process.platform}`)
    state.fallbackReason = `io_uring needs Linux (${process.platform})`
    return createPollProactor()
  }
  try {
    return new UringProactor(state.options)
  } catch (err) {
    if (pick === 'uring' || !IoError.is(err)) throw err
    // ENOSYS (old kernel), EPERM (seccomp, io_uring_disabled=2), EACCES (group restriction).
    state.fallbackReason = `io_uring unavailable: ${err.message}`
    return createPollProactor()
  }
}
