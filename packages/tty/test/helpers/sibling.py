#!/usr/bin/env python3
"""A sibling process on a shared pipe: `sibling.py write N` writes N bytes to fd 1,
`sibling.py read N` reads N bytes from fd 0 — plain blocking calls, as any
classic tool makes. Fails (exit 1) on EAGAIN or if the description is O_NONBLOCK."""
import fcntl, os, sys

mode, n = sys.argv[1], int(sys.argv[2])
fd = 1 if mode == "write" else 0
if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK:
    sys.exit("sibling: the shared description is O_NONBLOCK")
done = 0
try:
    if mode == "write":
        block = bytes(range(256)) * 256
        while done < n:
            done += os.write(fd, block[: min(len(block), n - done)])
    else:
        while done < n:
            b = os.read(fd, min(65536, n - done))
            if not b:
                break
            done += len(b)
except BlockingIOError as e:
    sys.exit(f"sibling: EAGAIN after {done} bytes: {e}")
sys.stderr.write(f"sibling {mode} {done}\n")
sys.exit(0 if done == n else 1)
