"""server.py [PORT [DEFLATE]] - the Python websockets peer server for hybi interop tests.

Run with /usr/bin/python3 (Debian's python3-websockets). Listens on
127.0.0.1:PORT (0 or absent: any free port) and prints the port as the first
line of stdout. DEFLATE (see common.deflate_config) enables permessage-deflate,
{} with websockets' defaults; absent or empty, it is declined. Per connection,
chosen by the request URL:

  /?close=CODE&reason=R  close at once with CODE and R
  /fragments             send a fragmented text and a fragmented binary
                         message (common.py), then echo
  anything else          echo every message with the same type

When a connection ends it prints "close CODE REASON" with the code and reason
the client sent. websockets answers a close frame by echoing it, and a ping
with a pong of the same payload.
"""

import asyncio
import signal
import sys
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

import common


async def handler(ws):
    url = urlsplit(ws.path)
    query = parse_qs(url.query)
    if "close" in query:
        await ws.close(int(query["close"][0]), query.get("reason", [""])[0])
    else:
        if url.path == "/fragments":
            await ws.send(common.fragment_text()[1])
            await ws.send(common.fragment_binary()[1])
        try:
            async for message in ws:
                # str for text, bytes for binary: send keeps the type.
                await ws.send(message)
        except websockets.ConnectionClosed:
            pass
    await ws.wait_closed()
    # close_rcvd is what the client sent, None when it sent no close frame:
    # print 1006 then, as node's ws does (RFC 6455, Section 7.1.5).
    rcvd = ws.close_rcvd
    code, reason = (1006, "") if rcvd is None else (rcvd.code, rcvd.reason)
    print(f"close {code} {reason}", flush=True)


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else 0
    deflate = common.deflate_config(sys.argv, 2)
    compression = {"compression": None}
    if deflate is not None:
        # compression="deflate" adds the default factory unless one is given.
        compression = {"compression": "deflate"}
        if deflate:
            compression["extensions"] = [ServerPerMessageDeflateFactory(**deflate)]
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(
        handler, "127.0.0.1", port, max_size=common.MAX_SIZE, **compression
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
