#!/usr/bin/env python3
"""A voice agent for elkspipe's exec element, in plain Python 3 (no packages).

Serve it with:

    elkspipe 'exec "python3 examples/exec-agent/agent.py" | elks format=pcm_16000'

For every call elkspipe starts this program with the caller's audio on stdin
and plays what it writes to stdout, both raw 16-bit little-endian mono at
$ELKS_RATE Hz. It greets the caller with a short chime, asks elkspipe to say
when the chime has been heard (a mark), then echoes the caller back for
ECHO_SECONDS and exits, which ends the call. A "0" pressed interrupts, "#"
hangs up.
Protocol: docs/exec.md.
"""

import json
import math
import os
import struct
import sys
import threading

RATE = int(os.environ.get("ELKS_RATE", "16000"))
CALL = os.environ.get("ELKS_CALLID", "?")
ECHO_SECONDS = float(os.environ.get("ECHO_SECONDS", "3"))

events = os.fdopen(3, "r", buffering=1)  # elkspipe -> program, JSON lines
actions = os.fdopen(4, "w", buffering=1)  # program -> elkspipe, JSON lines
out = sys.stdout.buffer
lock = threading.Lock()


def log(*words):
    print(f"agent {CALL}:", *words, file=sys.stderr, flush=True)  # goes to elkspipe's log


def act(action, **fields):
    with lock:
        actions.write(json.dumps({"action": action, **fields}) + "\n")


def chime(freq=660.0, seconds=0.5):
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)
    samples = []
    for i in range(n):
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        samples.append(int(0.5 * 32767 * env * math.sin(2 * math.pi * freq * i / RATE)))
    return struct.pack("<%dh" % n, *samples)


def listen_events():
    for line in events:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "mark":
            log("mark", ev.get("name"), "cleared" if ev.get("cleared") else "played")
        elif ev.get("event") == "digit":
            log("digit", ev.get("digit"))
            if ev.get("digit") == "0":
                act("interrupt")
            elif ev.get("digit") == "#":
                act("hangup")


threading.Thread(target=listen_events, daemon=True).start()

log("call from", os.environ.get("ELKS_FROM"), "to", os.environ.get("ELKS_TO"), "at", RATE, "Hz")
out.write(chime())
out.flush()
act("mark", name="greeting")

# Echo the caller: whatever arrives on stdin goes back out, 20 ms at a time.
chunk = RATE // 50 * 2
echoed = 0
while echoed < ECHO_SECONDS * RATE * 2:
    data = sys.stdin.buffer.read1(chunk) if hasattr(sys.stdin.buffer, "read1") else sys.stdin.buffer.read(chunk)
    if not data:
        break  # the call ended
    out.write(data)
    out.flush()
    echoed += len(data)

# Exiting ends this side of the call: elkspipe hangs up once the caller has
# heard everything written. (The hangup action hangs up at once.)
log("done echoing: goodbye")
