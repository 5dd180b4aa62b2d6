/**
 * The raw libuv route behind `koffi.node.poll`: a `uv_poll_t` on Node's own
 * loop, driven through the node binary's exported `uv_*` and `napi_*`
 * symbols, which `koffi.load(null)` reaches (DESIGN.md, "Measured facts").
 *
 * @packageDocumentation
 */
import koffi from 'koffi'
import type { FdCallback, FdEvents, FdWatcher } from './watcher.js'

// libuv 1.x uv_handle_type: UNKNOWN, ASYNC, CHECK, FS_EVENT, FS_POLL, HANDLE, IDLE, NAMED_PIPE, POLL.
const UV_POLL = 8
const UV_READABLE = 1
const UV_WRITABLE = 2
// 64-bit unix uv_handle_t: `loop`, `type` (UV_HANDLE_FIELDS), `flags` (UV_HANDLE_PRIVATE_FIELDS);
// flag bits from libuv's src/uv-common.h.
const OFF_LOOP = 8
const OFF_TYPE = 16
const OFF_FLAGS = 88
const UV_HANDLE_REF = 0x8
const UV_HANDLE_INTERNAL = 0x10

interface Uv {
  env: number
  loop: number
  size: number
  /** Native addresses: `free` is the close callback, `uv_poll_stop` the teardown hook. */
  freeFn: number
  stopFn: number
  onPoll: bigint
  pollInit: (loop: number, handle: number, fd: number) => number
  pollStart: (handle: number, events: number, cb: bigint) => number
  pollStop: (handle: number) => number
  close: (handle: number, cb: number) => void
  ref: (handle: number) => void
  unref: (handle: number) => void
  calloc: (n: number, size: number) => number
  free: (ptr: number) => void
  addHook: (env: number, fn: number, arg: number) => number
  removeHook: (env: number, fn: number, arg: number) => number
  errName: (code: number) => string
}

// Open handles by address. One registered poll callback serves them all (koffi.register has
// 8192 slots per process). An entry leaves in close(): uv_close stops the poll at once, and
// the address cannot come back for another handle before libuv's close callback frees it.
const live = new Map<number, FdCallback>()
let uv: Uv | null | undefined

function load(): Uv | null {
  if (uv !== undefined) return uv
  uv = null
  try {
    const env = (koffi as unknown as { node?: { env?: unknown } }).node?.env
    if (typeof env !== 'bigint' && typeof env !== 'number') return null
    // `process.execPath` does not load; null is the running binary, which exports libuv and N-API.
    const lib = koffi.load(null as unknown as string)
    // uintptr_t everywhere: koffi hands back Numbers, not BigInts (addresses fit below 2^53).
    const getLoop = lib.func('int napi_get_uv_event_loop(uintptr_t env, _Out_ uintptr_t *loop)')
    const dlsym = lib.func('uintptr_t dlsym(uintptr_t handle, const char *name)')
    const size = Number(lib.func('size_t uv_handle_size(int type)')(UV_POLL))
    try {
      // A libuv that renumbered its handle types would make UV_POLL allocate the wrong size.
      if (lib.func('const char *uv_handle_type_name(int type)')(UV_POLL) !== 'poll') return null
    } catch {
      // uv_handle_type_name is libuv >= 1.19; older ones keep UV_POLL at 8.
    }
    // Always through N-API: uv_default_loop() is the main thread's loop, wrong inside a Worker.
    const out = [0]
    if (getLoop(env, out) !== 0 || !out[0] || !(size > 0)) return null
    // RTLD_DEFAULT (0) resolves in the same global scope as koffi.load(null), so this `free`
    // pairs with the `calloc` below.
    const freeFn = Number(dlsym(0, 'free'))
    const stopFn = Number(dlsym(0, 'uv_poll_stop'))
    if (!freeFn || !stopFn) return null
    const pollCb = koffi.pointer(koffi.proto('void', ['uintptr_t', 'int', 'int']))
    const errName = lib.func('const char *uv_err_name(int err)')
    uv = {
      env: Number(env),
      loop: Number(out[0]),
      size,
      freeFn,
      stopFn,
      pollInit: lib.func('int uv_poll_init(uintptr_t loop, uintptr_t handle, int fd)'),
      pollStart: lib.func('uv_poll_start', 'int', ['uintptr_t', 'int', pollCb]),
      pollStop: lib.func('int uv_poll_stop(uintptr_t handle)'),
      // The close callback is libc's free itself (same signature): no JS runs in it, so a
      // close still pending when a Worker tears down never enters a dead isolate.
      close: lib.func('void uv_close(uintptr_t handle, uintptr_t close_cb)'),
      ref: lib.func('void uv_ref(uintptr_t handle)'),
      unref: lib.func('void uv_unref(uintptr_t handle)'),
      calloc: lib.func('uintptr_t calloc(size_t n, size_t size)'),
      free: lib.func('void free(uintptr_t ptr)'),
      addHook: lib.func('int napi_add_env_cleanup_hook(uintptr_t env, uintptr_t fn, uintptr_t arg)'),
      removeHook: lib.func('int napi_remove_env_cleanup_hook(uintptr_t env, uintptr_t fn, uintptr_t arg)'),
      errName: (code) => String(errName(code)),
      // Once per thread (koffi instance), and only once the route is known to work.
      onPoll: koffi.register(onPoll, pollCb),
    }
  } catch {
    uv = null
  }
  return uv
}

function onPoll(handle: number, status: number, events: number): void {
  const cb = live.get(handle)
  if (cb === undefined) return
  try {
    cb(status, (events & UV_READABLE) !== 0, (events & UV_WRITABLE) !== 0)
  } catch (err) {
    // No JS frame sits below this call: an exception left pending in koffi's N-API env
    // silences every later callback and resurfaces in some unrelated koffi call (measured).
    // A fresh macrotask reports it to 'uncaughtException'; libuv never sees it.
    setImmediate(() => {
      throw err
    })
  }
}

/**
 * A Worker whose loop still holds a handle aborts the whole process ("uv_loop_close() while
 * having open handles"), and no JS runs at teardown to close it (terminate() included). So a
 * native cleanup hook calls uv_poll_stop(handle) — it takes exactly the one argument a hook
 * gets — before the isolate and koffi's trampolines go; and the handle carries libuv's INTERNAL
 * flag, which uv_loop_close ignores (the handle's bytes then leak). The flag is private layout:
 * it is written only when the bytes read back as this fresh poll handle. False: not guarded.
 */
function guardTeardown(u: Uv, handle: number): boolean {
  try {
    // decode/encode, not a view: no ArrayBuffer backing store per handle.
    const at = BigInt(handle)
    const fresh =
      Number(koffi.decode(at, OFF_LOOP, 'uintptr_t')) === u.loop &&
      koffi.decode(at, OFF_TYPE, 'int') === UV_POLL &&
      koffi.decode(at, OFF_FLAGS, 'uint32') === UV_HANDLE_REF
    if (!fresh || u.addHook(u.env, u.stopFn, handle) !== 0) return false
    koffi.encode(at, OFF_FLAGS, 'uint32', UV_HANDLE_REF | UV_HANDLE_INTERNAL)
    return true
  } catch {
    return false
  }
}

function uvError(call: string, code: number, fd: number): Error {
  const name = uv!.errName(code)
  return Object.assign(new Error(`ringio: ${call}(fd ${fd}) failed: ${name}`), { code: name, errno: code })
}

/**
 * Whether the raw route works in this thread: `koffi.load(null)` resolves
 * the `uv_poll_*`, `uv_close`, `uv_ref`/`uv_unref`, `uv_handle_size` and
 * N-API symbols, and N-API hands out the loop. Cached per thread; never
 * throws. The first `true` registers this module's one koffi callback.
 */
export function rawUvPollAvailable(): boolean {
  return load() !== null
}

/**
 * Watches `fd` with a `uv_poll_t` on this thread's Node loop through raw
 * libuv calls; same contract as the `koffi.node.poll` route of `watchFd`:
 * level-triggered, `cb(status, readable, writable)` on the loop thread,
 * starts referenced. Like any `uv_poll_init`, it makes `fd` non-blocking and
 * fails (EEXIST) when this loop already watches `fd`.
 *
 * Differences from the koffi route: a dropped watcher is not closed by GC,
 * it keeps calling `cb` until `close()` (like a timer); an exception from
 * `cb` reaches `process.on('uncaughtException')` from a `setImmediate`, and
 * the watch goes on. A watcher left open when its Worker ends is stopped by
 * a cleanup hook and its ~160 bytes leak; the process survives (64-bit unix
 * libuv layout, checked per handle; elsewhere, close watchers first).
 *
 * @throws when the route is unavailable or libuv refuses the fd.
 */
export function createRawUvPoll(fd: number, events: FdEvents, cb: FdCallback): FdWatcher {
  const u = load()
  if (u === null) throw new Error('ringio: raw libuv poll route unavailable')
  const handle = u.calloc(1, u.size)
  if (!handle) throw new Error('ringio: out of memory for a uv_poll_t')
  const rc = u.pollInit(u.loop, handle, fd)
  if (rc !== 0) {
    u.free(handle) // not on the loop yet: no uv_close
    throw uvError('uv_poll_init', rc, fd)
  }
  const hooked = guardTeardown(u, handle)
  live.set(handle, cb)
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    live.delete(handle)
    // Before uv_close: once freed, the address may come back with its own hook.
    if (hooked) u.removeHook(u.env, u.stopFn, handle)
    u.close(handle, u.freeFn)
  }
  const start = (ev: FdEvents): void => {
    if (closed) return
    const err = u.pollStart(handle, (ev.readable ? UV_READABLE : 0) | (ev.writable ? UV_WRITABLE : 0), u.onPoll)
    if (err !== 0) throw uvError('uv_poll_start', err, fd)
  }
  try {
    start(events)
  } catch (err) {
    close()
    throw err
  }
  return {
    start,
    stop: () => void (closed || u.pollStop(handle)),
    close,
    ref: () => void (closed || u.ref(handle)),
    unref: () => void (closed || u.unref(handle)),
  }
}

/** Raw watchers created and not yet closed in this thread (tests, diagnostics). */
export function rawUvPollLiveCount(): number {
  return live.size
}
