# SPDX-License-Identifier: MIT
"""Deterministic guest-memory patterns for tests.

A pattern is a whole number of 4 KiB pages; each page is, by a seeded draw,
random bytes (40%), all zero (30%) or one repeated non-zero byte (30%) --
the mix the shared vectors were made with, which gives a mapped-ram file
holes, runs of set and clear bitmap bits, and pages that compress well.
The same (size, seed) always gives the same bytes, on any Python >= 3.9.

    data = pattern.generate(4 << 20, seed=1)
    pattern.write(path, 4 << 20, seed=1)
    pattern.nonzero_pages(data)      # how many pages hold data
"""
import random

PAGE = 4096


def generate(size, seed, random_pct=40, zero_pct=30):
    """Return `size` bytes (a multiple of 4096) of the seeded page mix."""
    if size % PAGE:
        raise ValueError("pattern size %d is not a multiple of %d" % (size, PAGE))
    rng = random.Random(seed)
    out = bytearray()
    for _ in range(size // PAGE):
        draw = rng.randrange(100)
        if draw < random_pct:
            out += rng.randbytes(PAGE)
        elif draw < random_pct + zero_pct:
            out += bytes(PAGE)
        else:
            out += bytes([rng.randrange(1, 256)]) * PAGE
    return bytes(out)


def write(path, size, seed, **kw):
    """Write generate(size, seed) to `path`; returns the bytes."""
    data = generate(size, seed, **kw)
    with open(path, "wb") as f:
        f.write(data)
    return data


def nonzero_pages(data):
    """Number of 4 KiB pages of `data` that are not all zero."""
    zero = bytes(PAGE)
    return sum(1 for i in range(0, len(data), PAGE) if data[i:i + PAGE] != zero)
