"""client.py URL [DEFLATE] - the Python websockets peer client for hybi interop tests.

Run with /usr/bin/python3 (Debian's python3-websockets). Runs the interop
checks against the echo server at URL (see interop/README.md for what the
server must do), one connection per check, and prints one "PASS name" or
"FAIL name: why" line per check. Exits 0 only if every check passed.

DEFLATE (see common.deflate_config), {} for websockets' default compression,
makes every connection require permessage-deflate, the largest echo 1 MiB
instead of 16 MiB, and adds a check that echoes a compressible 1 MiB text at
URL + ?measure=1.
"""

import asyncio
import contextlib
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

import common

CHECK_TIMEOUT = 60

# DEFLATE is the parsed DEFLATE argument, None when absent.
DEFLATE = None
# The first connection prints the server's extension response, for the log.
printed_extensions = False


@contextlib.asynccontextmanager
async def connect(url):
    global printed_extensions
    # Even without DEFLATE the default compression="deflate" offers
    # permessage-deflate; a server without it must decline the offer (RFC
    # 6455, Section 9.1).
    kwargs = {}
    if DEFLATE:
        kwargs["extensions"] = [ClientPerMessageDeflateFactory(**DEFLATE)]
    async with websockets.connect(url, max_size=common.MAX_SIZE, **kwargs) as ws:
        if not printed_extensions:
            printed_extensions = True
            ext = ws.response_headers.get("Sec-WebSocket-Extensions", "(none)")
            print(f"extensions: {ext}", flush=True)
        if DEFLATE is not None and not any(e.name == "permessage-deflate" for e in ws.extensions):
            raise AssertionError(f"permessage-deflate not agreed (extensions {ws.extensions})")
        yield ws


def expect_message(got, want):
    if type(got) is not type(want):
        raise AssertionError(f"got {kind(got)} message, want {kind(want)}")
    if got != want:
        raise AssertionError(f"payload mismatch: got {len(got)} items, want {len(want)}")


def kind(m):
    return "text" if isinstance(m, str) else "binary"


async def expect_normal_close(ws):
    await ws.close(1000, "")
    if ws.close_code != 1000:
        raise AssertionError(f"server answered close with {ws.close_code}, want 1000")


def echo_check(want):
    async def check(url):
        async with connect(url) as ws:
            await ws.send(want)
            expect_message(await ws.recv(), want)
            await expect_normal_close(ws)

    return check


async def check_compressible(url):
    # The hybi server counts this connection's bytes on the wire.
    u = urlsplit(url)
    query = parse_qsl(u.query) + [("measure", "1")]
    async with connect(urlunsplit(u._replace(query=urlencode(query)))) as ws:
        want = common.compressible_text()
        await ws.send(want)
        got = await ws.recv()
        if got != want:
            raise AssertionError(f"got a {kind(got)} message of {len(got)} items, want the {len(want)}-character text")
        await expect_normal_close(ws)


def pipelined_count():
    # Each message is compressed on its own with DEFLATE: fewer then.
    return 1000 if DEFLATE is None else 100


async def check_pipelined(url):
    async with connect(url) as ws:
        n = pipelined_count()
        msgs = [f"msg {i}" if i % 2 == 0 else f"msg {i}".encode() for i in range(n)]
        # Every message is written before the first echo is read.
        for m in msgs:
            await ws.send(m)
        for m in msgs:
            expect_message(await ws.recv(), m)
        await expect_normal_close(ws)


async def check_ping(url):
    async with connect(url) as ws:
        # websockets completes the waiter only for a pong whose payload
        # matches this ping's, so completion is the check.
        waiter = await ws.ping(b"hybi-ping-42")
        await waiter
        await expect_normal_close(ws)


def fragment_check(whole, pieces):
    async def check(url):
        async with connect(url) as ws:
            # An iterable is sent as one fragmented message, ending with an
            # empty final continuation frame.
            await ws.send(pieces)
            expect_message(await ws.recv(), whole)
            await expect_normal_close(ws)

    return check


async def check_client_close(url):
    async with connect(url) as ws:
        await ws.close(1000, "done")
        if ws.close_code != 1000:
            raise AssertionError(
                f"server answered close with {ws.close_code} {ws.close_reason!r}, want 1000"
            )


async def check_server_close(url):
    u = urlsplit(url)
    query = parse_qsl(u.query) + [("close", "1000"), ("reason", "bye")]
    async with connect(urlunsplit(u._replace(query=urlencode(query)))) as ws:
        await ws.wait_closed()
        if (ws.close_code, ws.close_reason) != (1000, "bye"):
            raise AssertionError(
                f"got close {ws.close_code} {ws.close_reason!r}, want 1000 'bye'"
            )


def checks():
    sizes = common.SIZES if DEFLATE is None else common.DEFLATE_SIZES
    for binary in (False, True):
        for n in sizes:
            name = f"echo {'binary' if binary else 'text'} {n}"
            yield name, echo_check(common.payload(n, binary))
    yield "echo utf8", echo_check(common.UTF8_TEXT)
    if DEFLATE is not None:
        yield f"echo compressible {common.COMPRESSIBLE_SIZE}", check_compressible
    yield f"pipelined {pipelined_count()}", check_pipelined
    yield "ping pong", check_ping
    yield "fragmented text", fragment_check(*common.fragment_text())
    yield "fragmented binary", fragment_check(*common.fragment_binary())
    yield "client close 1000 done", check_client_close
    yield "server close 1000 bye", check_server_close


async def main(url):
    total = failed = 0
    for name, check in checks():
        total += 1
        try:
            await asyncio.wait_for(check(url), CHECK_TIMEOUT)
            print(f"PASS {name}", flush=True)
        except Exception as e:  # every failure is reported, none stops the run
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    if failed:
        print(f"{failed} of {total} checks failed", flush=True)
    else:
        print(f"all {total} checks passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: /usr/bin/python3 client.py ws://HOST:PORT/PATH [DEFLATE]", file=sys.stderr)
        sys.exit(2)
    DEFLATE = common.deflate_config(sys.argv, 2)
    sys.exit(asyncio.run(main(sys.argv[1])))
