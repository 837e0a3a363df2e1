"""Shared fixtures for the Python peer scripts.

The node scripts (interop/node/common.js) and the Go tests build the same
values; keep them in step (see interop/README.md).
"""

# UTF8_TEXT mixes 1-, 2-, 3- and 4-byte UTF-8 sequences.
UTF8_TEXT = "héllo wörld ✓ 𝄞"

# Big enough for the 16 MiB checks, with room to spare.
MAX_SIZE = 64 << 20

SIZES = [0, 125, 126, 65535, 65536, 16 << 20]


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
