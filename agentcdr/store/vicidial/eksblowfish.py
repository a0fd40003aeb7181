"""EksBlowfish, bcrypt's core, for the low costs bcrypt libraries refuse.

VICIdial's ``bp.pl`` hashes passwords with Perl's Crypt::Eksblowfish at ``pass_cost`` 2 by
default; bcrypt libraries start at cost 4. This is the algorithm of Provos and Mazières
(the key schedule expanded ``2**cost`` times with the password and the salt, then
"OrpheanBeholderScryDoubt" enciphered 64 times), checked in the tests against the published
crypt_blowfish known-answer vectors and against the ``bcrypt`` package at costs 4 and 5.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Final

_STD_B64: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64: Final = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT: Final = bytes.maketrans(_STD_B64, _BCRYPT_B64)


def bcrypt_base64(data: bytes) -> bytes:
    """bcrypt's base64: the standard bit layout, its own alphabet, no padding."""
    return base64.b64encode(data).rstrip(b"=").translate(_TO_BCRYPT)


@cache
def _pi_words() -> tuple[int, ...]:
    """Blowfish's initial P-array and S-boxes: the first 1042 words of pi's fraction."""
    count = 18 + 4 * 256
    guard = 64
    bits = count * 32 + guard
    one = 1 << bits

    def arctan_inv(x: int) -> int:
        total = term = one // x
        square, n, sign = x * x, 1, -1
        while term:
            term //= square
            n += 2
            total += sign * (term // n)
            sign = -sign
        return total

    pi = 16 * arctan_inv(5) - 4 * arctan_inv(239)  # Machin's formula
    fraction = (pi - (3 << bits)) >> guard
    return tuple((fraction >> (32 * (count - 1 - i))) & 0xFFFFFFFF for i in range(count))


def _expand(p: list[int], s: list[list[int]], key: list[int], salt: list[int] | None) -> None:
    for i in range(18):
        p[i] ^= key[i]
    left = right = 0
    j = 0
    for box in (p, *s):
        for i in range(0, len(box), 2):
            if salt is not None:
                left ^= salt[j % 4]
                right ^= salt[(j + 1) % 4]
                j += 2
            left, right = _encipher(p, s, left, right)
            box[i], box[i + 1] = left, right


def _encipher(p: list[int], s: list[list[int]], left: int, right: int) -> tuple[int, int]:
    s0, s1, s2, s3 = s
    left ^= p[0]
    for i in range(1, 17, 2):
        f = ((s0[left >> 24] + s1[(left >> 16) & 0xFF]) ^ s2[(left >> 8) & 0xFF]) + s3[left & 0xFF]
        right ^= (f & 0xFFFFFFFF) ^ p[i]
        f = ((s0[right >> 24] + s1[(right >> 16) & 0xFF]) ^ s2[(right >> 8) & 0xFF]) + s3[
            right & 0xFF
        ]
        left ^= (f & 0xFFFFFFFF) ^ p[i + 1]
    return right ^ p[17], left


def _words(data: bytes, count: int) -> list[int]:
    """``count`` big-endian words from ``data`` repeated cyclically (bcrypt's stream2word)."""
    size = len(data)
    return [
        int.from_bytes(bytes(data[(4 * i + k) % size] for k in range(4)), "big")
        for i in range(count)
    ]


def eksblowfish(password: bytes, salt: bytes, cost: int) -> bytes:
    """The 23 hash bytes of bcrypt ``$2a$`` (password NUL-terminated, at most 72 bytes)."""
    if len(salt) != 16 or not 0 <= cost <= 31:
        raise ValueError("bcrypt needs a 16-byte salt and a cost of 0 to 31")
    words = _pi_words()
    p = list(words[:18])
    s = [list(words[18 + 256 * i : 18 + 256 * (i + 1)]) for i in range(4)]
    key = _words((password + b"\0")[:72], 18)
    salt_words = _words(salt, 4)
    salt_key = _words(salt, 18)
    _expand(p, s, key, salt_words)
    for _ in range(1 << cost):
        _expand(p, s, key, None)
        _expand(p, s, salt_key, None)
    text = _words(b"OrpheanBeholderScryDoubt", 6)
    for _ in range(64):
        for i in (0, 2, 4):
            text[i], text[i + 1] = _encipher(p, s, text[i], text[i + 1])
    return b"".join(w.to_bytes(4, "big") for w in text)[:23]
