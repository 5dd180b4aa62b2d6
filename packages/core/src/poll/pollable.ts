/**
 * Can epoll watch this fd? libuv's poll handle fails on regular files and
 * directories (EPERM) and closed fds (EBADF) — and koffi's wrapper turns that
 * failure into a process abort — so the backend asks a private epoll instance
 * first: `EPOLL_CTL_ADD` then `EPOLL_CTL_DEL`, two cheap syscalls, only when
 * a watcher is about to be created.
 *
 * @packageDocumentation
 */
import * as sys from './sys.js'

const { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CLOEXEC } = sys

/** A lazily opened epoll fd used only as a pollability probe. */
export class PollableProbe {
  private epfd = -1
  // struct epoll_event: u32 events + u64 data (12 bytes packed on x86-64, 16 elsewhere): 16 covers both.
  private readonly ev = Buffer.alloc(16)

  /** 0 when `fd` can be watched, else `-errno`. */
  check(fd: number): number {
    if (this.epfd < 0) {
      this.epfd = sys.epollCreate1(EPOLL_CLOEXEC)
      if (this.epfd < 0) return -sys.errno()
    }
    this.ev.writeUInt32LE(sys.POLLIN, 0)
    if (sys.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, this.ev) < 0) return -sys.errno()
    sys.epollCtl(this.epfd, EPOLL_CTL_DEL, fd, this.ev)
    return 0
  }

  /** Closes the probe's epoll fd. Idempotent. */
  close(): void {
    if (this.epfd >= 0) sys.close(this.epfd)
    this.epfd = -1
  }
}
