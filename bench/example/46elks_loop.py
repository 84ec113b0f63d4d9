#!/usr/bin/env python3
"""46elks' own way of looping a WAV file into a call, as a server for a benchmark.

This is the working example of 46elks' documentation page "Using sync to avoid
exhausting the audio buffer" (https://46elks.se/docs/realtime-voice-sync), made
into a server that can be run: the loop of that page, body and all, with the
websocket server around it that the page leaves out. The page's loop, for every
repetition of the file:

  - sends {"t": "sending", "format": "wav"},
  - reads the file in 32 KiB pieces (f.read(32 * 1024)) and sends each as
    {"t": "audio", "data": base64}, one json.dumps per message,
  - sends {"t": "sync"} and waits for the API's sync reply (which comes once
    everything sent before it has been played), then starts again.

The copy of the page this was checked against shows its first listing (the
same loop without sync, which overflows the API's buffer) verbatim and then
describes the fix: send sync after the file and wait for the API's sync before
queueing the next. The wait for the reply is written from that description
(the listing of the working example itself was cut from the copy). Where the page
is silent, this script does what a plain asyncio program with the websockets
library does: one handler per connection, the library's defaults (its own
keepalive pings every 20 s, no compression unless the client asks, and the
simulator does not), messages other than sync and bye ignored while waiting.

The line is silent between repetitions for one round trip: the API has played
everything before it answers the sync, and only then does the next file go out.
That is the gap at every joint that bench/example.sh counts.

Usage: 46elks_loop.py PORT FILE.wav  (listens on 127.0.0.1:PORT until killed)
Needs the websockets library (Debian: python3-websockets; tested with 10.4).
"""

import asyncio
import base64
import json
import sys

import websockets


async def loop_file(elks_ws, path):
    """The loop of 46elks' example, until the call ends."""
    while True:
        with open(path, "rb") as f:
            await elks_ws.send(json.dumps({
                "t": "sending",
                "format": "wav"
            }))
            for chunk in iter(lambda: f.read(32 * 1024), b""):
                await elks_ws.send(json.dumps({
                    "t": "audio",
                    "data": base64.b64encode(chunk).decode()
                }))
        await elks_ws.send(json.dumps({"t": "sync"}))
        # Wait for the API's sync: everything sent so far has been played.
        while True:
            msg = json.loads(await elks_ws.recv())
            if msg.get("t") == "sync":
                break
            if msg.get("t") == "bye":
                return


async def handle(elks_ws, path=None):
    """One call: hello first, then the loop, until bye or the connection ends."""
    try:
        hello = json.loads(await elks_ws.recv())
        if hello.get("t") != "hello":
            print(f"46elks_loop: expected hello, got {hello.get('t')!r}", file=sys.stderr)
            return
        await loop_file(elks_ws, handle.file)
    except websockets.ConnectionClosed:
        pass  # the call ended without a bye: a hangup


async def main(port, file):
    handle.file = file
    async with websockets.serve(handle, "127.0.0.1", port):
        await asyncio.Future()  # until killed


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: 46elks_loop.py PORT FILE.wav", file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2], "rb") as probe:
        if probe.read(4) != b"RIFF":
            print(f"46elks_loop: {sys.argv[2]}: not a WAV file", file=sys.stderr)
            sys.exit(2)
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
    except KeyboardInterrupt:
        pass
