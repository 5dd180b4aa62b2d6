/**
 * The completion side of the proactor contract: the target an operation
 * completes, the id it is cancelled by, and the options of starting it.
 *
 * Results follow the kernel's convention everywhere: `res >= 0` is success,
 * `res < 0` is `-errno`. Flags are `IORING_CQE_F_*` on both backends (the poll
 * backend synthesises them), so the layers above have one code path.
 *
 * @packageDocumentation
 */

/** The target of a completion: called once per completion event (several times for a multishot operation). */
export interface Completion {
  /**
   * Called on the JS thread for each completion event of the operation this
   * target was started with; it must not throw (an exception reaches
   * `process.on('uncaughtException')`, the loop goes on).
   *
   * @param res `>= 0` on success (bytes, fd, revents…), `-errno` on failure
   * @param flags `IORING_CQE_F_*`: `MORE` while a multishot operation goes on;
   *   `BUFFER` with the buffer id in the upper 16 bits for buffer-select reads
   */
  complete(res: number, flags: number): void
}

/** The id of a started operation, for `Proactor.cancel`. Ids are never reused while the operation lives. */
export type OpId = number

/** Options common to starting an operation. */
export interface StartOptions {
  /** When false, this pending operation does not keep the process alive (like `handle.unref()`). Default true. */
  ref?: boolean
  /**
   * Hint: skip the non-blocking first try and run the operation in the
   * kernel's worker threads (io_uring `IOSQE_ASYNC`). For a terminal, whose
   * write may block even when tried non-blocking — stalling the JS thread
   * inside `io_uring_enter` — the worker blocks instead. For a pipe it changes
   * nothing (measured on 6.18: the worker also tries non-blocking and
   * poll-arms). The poll backend ignores it.
   */
  async?: boolean
}
