#!/usr/bin/env python3
"""with-nonblock.py FD PROGRAM ARGS...: makes the description behind FD O_NONBLOCK
(as a sibling Node process touching process.stdout would), then execs PROGRAM.

Exec'ing matters: a process spawned by Node (libuv) gets fds 0-2 switched back to
blocking before its program starts, so the flag has to be set after that."""
import fcntl, os, sys

fd = int(sys.argv[1])
fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
os.execvp(sys.argv[2], sys.argv[2:])
