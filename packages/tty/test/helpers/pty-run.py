#!/usr/bin/env python3
"""Runs a program on a fresh pseudo-terminal and drives it like a person at a keyboard.

Usage: pty-run.py SPEC_JSON   (prints one JSON object on stdout when done)

SPEC:
  argv       the program and its arguments
  stdin      "pty" (default) | "null": what fd 0 is
  stdout     "pty" (default) | "null": what fd 1 is
  raw        true: put the pty in raw mode before the child starts (for byte-exact output)
  stderr     "pty" (default) | "null": what fd 2 is
  winsize    [rows, cols]: the terminal's size at start
  read_delay seconds to sleep between reads of the master (a slow reader), default 0
  read_size  bytes per read of the master, default 65536
  watch      list of the child's fds whose /proc/<pid>/fdinfo "flags:" are sampled the whole time;
             the terminal's shared description itself is sampled too, as "shared"
  steps      list of actions, in order:
               {"write": "text"}            type text (\\u0004 is Ctrl-D, \\u0003 Ctrl-C)
               {"write_file": "path"}       type the bytes of a file (large input)
               {"sleep": seconds}
               {"wait_for": "text", "count": n}  until the output so far contains text (n times, default 1)
               {"termios": "label"}         record the terminal's attributes (from outside the child)
               {"signal": "TERM"}           send a signal to the child
               {"close_master": true}       hang the terminal up
               {"resize": [rows, cols]}     resize the terminal (the kernel sends SIGWINCH)
  timeout    seconds for the whole run (default 10)

RESULT: {"output": base64, "rc": int | null, "signal": name | null, "termios": {label: [i, o, c, l]},
         "nonblock_seen": {fd: bool}, "samples": int, "error": str | null}
"""
import base64, fcntl, json, os, pty, select, signal, struct, subprocess, sys, termios, threading, time, tty

spec = json.loads(sys.argv[1])
timeout = spec.get("timeout", 10)
deadline = time.time() + timeout
master, slave = pty.openpty()
if spec.get("raw"):
    tty.setraw(slave)

def winsize(rows, cols):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

if "winsize" in spec:
    winsize(*spec["winsize"])
attrs = {}
out = bytearray()
out_lock = threading.Condition()
error = None

def attr(label):
    try:
        attrs[label] = termios.tcgetattr(slave)[:4]
    except termios.error as e:
        attrs[label] = str(e)

attr("before")

def setup():
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

null = os.open(os.devnull, os.O_RDWR)
child = subprocess.Popen(
    spec["argv"],
    stdin=null if spec.get("stdin") == "null" else slave,
    stdout=null if spec.get("stdout") == "null" else slave,
    stderr=null if spec.get("stderr") == "null" else slave,
    preexec_fn=setup,
    env=dict(os.environ, **spec.get("env", {})),
)
os.close(null)

stop_reader = threading.Event()

def reader():
    delay = spec.get("read_delay", 0)
    size = spec.get("read_size", 65536)
    while not stop_reader.is_set():
        # Poll with a timeout: a thread blocked in read() would keep the master
        # open after close() (the kernel holds the file until read returns).
        if not select.select([master], [], [], 0.02)[0]:
            continue
        try:
            b = os.read(master, size)
        except OSError:
            break  # EIO: the slave side is gone
        if not b:
            break
        with out_lock:
            out.extend(b)
            out_lock.notify_all()
        if delay:
            time.sleep(delay)

watched = spec.get("watch", [])
nonblock = {str(fd): False for fd in watched}
if watched:
    nonblock["shared"] = False  # the description itself, through this driver's own fd of the slave
samples = 0
stop_watch = False

def watcher():
    global samples
    paths = [(str(fd), f"/proc/{child.pid}/fdinfo/{fd}") for fd in watched]
    paths.append(("shared", f"/proc/self/fdinfo/{slave}"))
    while not stop_watch:
        for key, path in paths:
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("flags:"):
                            if int(line.split()[1], 8) & os.O_NONBLOCK:
                                nonblock[key] = True
            except OSError:
                pass
        samples += 1
        time.sleep(0.0005)

threads = [threading.Thread(target=reader, daemon=True)]
if watched:
    threads.append(threading.Thread(target=watcher, daemon=True))
for t in threads:
    t.start()

try:
    for step in spec.get("steps", []):
        if "write" in step:
            os.write(master, step["write"].encode())
        elif "write_file" in step:
            with open(step["write_file"], "rb") as f:
                data = memoryview(f.read())
            while data:
                data = data[os.write(master, data):]
        elif "sleep" in step:
            time.sleep(step["sleep"])
        elif "wait_for" in step:
            want = step["wait_for"].encode()
            count = step.get("count", 1)
            with out_lock:
                while out.count(want) < count:
                    left = deadline - time.time()
                    if left <= 0:
                        raise TimeoutError(f"waiting for {step['wait_for']!r}")
                    out_lock.wait(left)
        elif "termios" in step:
            attr(step["termios"])
        elif "signal" in step:
            child.send_signal(getattr(signal, "SIG" + step["signal"]))
        elif "close_master" in step:
            stop_reader.set()
            threads[0].join()
            os.close(master)
        elif "resize" in step:
            winsize(*step["resize"])
    child.wait(timeout=max(0.1, deadline - time.time()))
except Exception as e:  # a timeout or a failed wait: report, kill, carry on
    error = f"{type(e).__name__}: {e}"
    child.kill()
    child.wait()

attr("after")
stop_watch = True
time.sleep(0.05)  # let the reader collect the last output
rc = child.returncode
print(json.dumps({
    "output": base64.b64encode(bytes(out)).decode(),
    "rc": rc if rc is not None and rc >= 0 else None,
    "signal": signal.Signals(-rc).name if rc is not None and rc < 0 else None,
    "termios": attrs,
    "nonblock_seen": nonblock,
    "samples": samples,
    "error": error,
}))
