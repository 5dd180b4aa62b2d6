#!/usr/bin/env python3
"""Samples the `flags:` of open file descriptions from outside, as fast as it can.

Usage: watch-flags.py PID:FD [PID:FD ...]
  stdin: more lines "PID:FD" to watch from then on; end of stdin stops the watch.
  stdout: "ready" once sampling runs, then at the end one JSON object:
    {"nonblock_seen": {"PID:FD": bool}, "seen": {"PID:FD": samples that found it open}, "samples": int}

A description's flags are shared by every fd that refers to it, so watching the
parent's own fd of a pipe shows what the child does to its copy from the very
first instruction, with no start-up race.
"""
import json, os, sys, threading, time

specs = list(sys.argv[1:])
lock = threading.Lock()
nonblock = {s: False for s in specs}
seen = {s: 0 for s in specs}
done = threading.Event()

def commands():
    for line in sys.stdin:
        s = line.strip()
        if s:
            with lock:
                specs.append(s)
                nonblock.setdefault(s, False)
                seen.setdefault(s, 0)
    done.set()

threading.Thread(target=commands, daemon=True).start()
print("ready", flush=True)
samples = 0
while not done.is_set():
    with lock:
        current = list(specs)
    for s in current:
        pid, fd = s.split(":")
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("flags:"):
                        seen[s] += 1
                        if int(line.split()[1], 8) & os.O_NONBLOCK:
                            nonblock[s] = True
                        break
        except OSError:
            pass
    samples += 1
    time.sleep(0.0002)
print(json.dumps({"nonblock_seen": nonblock, "seen": seen, "samples": samples}), flush=True)
