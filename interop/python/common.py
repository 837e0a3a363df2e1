"""Shared fixtures for the Python peer scripts.

The node scripts (interop/node/common.js) and the Go tests build the same
values; keep them in step (see interop/README.md).
"""

import json

# UTF8_TEXT mixes 1-, 2-, 3- and 4-byte UTF-8 sequences.
UTF8_TEXT = "héllo wörld ✓ 𝄞"

# Big enough for the 16 MiB checks, with room to spare.
MAX_SIZE = 64 << 20

SIZES = [0, 125, 126, 65535, 65536, 16 << 20]
# With permessage-deflate: compressing 16 MiB several times per configuration
# would be slow.
DEFLATE_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]

# COMPRESSIBLE_RECORD repeated and cut to COMPRESSIBLE_SIZE characters is the
# compressible text message of the deflate checks: JSON-like ASCII text that
# DEFLATE shrinks far below its size with any window.
COMPRESSIBLE_RECORD = '{"id":42,"name":"hybi","tags":["websocket","deflate"],"ok":true},'
COMPRESSIBLE_SIZE = 1 << 20


def compressible_text():
    n = -(-COMPRESSIBLE_SIZE // len(COMPRESSIBLE_RECORD))
    return (COMPRESSIBLE_RECORD * n)[:COMPRESSIBLE_SIZE]


def deflate_config(argv, i):
    """Parse the optional permessage-deflate argument argv[i] of the scripts.

    It is JSON: true or {} for websockets' default compression, or an object
    of keyword arguments for its {Server,Client}PerMessageDeflateFactory, e.g.
    {"server_max_window_bits": 10}. Absent or empty: None, which keeps the
    scripts' behaviour without it.
    """
    if len(argv) <= i or argv[i] == "":
        return None
    cfg = json.loads(argv[i])
    if cfg is True:
        return {}
    if not isinstance(cfg, dict):
        raise ValueError(f"deflate config must be true or an object, got {argv[i]}")
    return cfg


def fragment_text():
    """Return the fragmented text message and its pieces.

    websockets sends a str fragment as encoded UTF-8, so pieces split between
    characters (3 characters each), never inside one.
    """
    whole = UTF8_TEXT * 20
    return whole, [whole[i : i + 3] for i in range(0, len(whole), 3)]


def fragment_binary():
    """Return a 1000-byte binary message (byte i is i%256) and its 100-byte pieces."""
    whole = bytes(i % 256 for i in range(1000))
    return whole, [whole[i : i + 100] for i in range(0, len(whole), 100)]


def payload(n, binary):
    """Return the n-byte test message: bytes if binary, else an ASCII str."""
    if binary:
        return bytes((i * 31 + 7) & 0xFF for i in range(n))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (alphabet * (n // len(alphabet) + 1))[:n]
