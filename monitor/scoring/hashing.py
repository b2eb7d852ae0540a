"""Vectorised hashing of character n-grams: the hashed model's hot loop in numpy.

Hashing each Chinese character 1-3-gram with ``zlib.crc32`` costs a Python call,
a slice and an ``encode`` per gram: ~330 grams for a 110-character hotel review,
most of the model's time per post. Here a text's code points go into one uint64
array and every n-gram of it is hashed at once (up to three code points packed
exactly into one uint64, then murmur3's 64-bit finaliser so the low bits the mask
keeps are well mixed): about fifteen numpy calls a post whatever its length.

Plain uint64 arithmetic (wrapping mod 2**64), no salted ``hash()``: a gram has the
same hash in every process and on every machine, as a saved model needs.
"""

from __future__ import annotations

import numpy as np

_PRIME = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)  # murmur3 fmix64 constants
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT = np.uint64(33)
_SPACE = np.uint64(32)
_BITS = np.uint64(21)  # every Unicode code point is below 2**21


def seed(kind: str) -> np.uint64:
    """A per-kind start value (FNV offset basis run over the kind's name), so a
    character bigram and a word bigram never share a hash by construction."""
    h = 0xCBF29CE484222325
    for byte in kind.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(h)


def code_points(text: str) -> np.ndarray:
    """The text's Unicode code points as uint64 (UTF-32 has one unit per character)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"),
                         dtype=np.uint32).astype(np.uint64)


def _finish(h: np.ndarray) -> np.ndarray:
    h ^= h >> _SHIFT
    h *= _FMIX1
    h ^= h >> _SHIFT
    h *= _FMIX2
    h ^= h >> _SHIFT
    return h


def char_gram_hashes(points: np.ndarray, sizes: tuple[int, ...], start: np.uint64
                     ) -> np.ndarray:
    """uint64 hashes of every ``n``-gram of ``points`` for each ``n`` in ``sizes``,
    size by size in text order; unigrams of a space are left out, as a space alone
    says nothing (grams spanning one are kept: they mark an edge).

    A code point fits in 21 bits, so up to three of them pack into one uint64
    exactly (a gram of n >= 1 code points above 0 is at least 2**(21 * (n - 1)):
    sizes never collide); longer grams fold further characters in by multiply-xor.
    One finaliser pass over all the keys then spreads them over 64 bits."""
    keys = []
    length = len(points)
    for n in sizes:
        count = length - n + 1
        if count <= 0:
            continue
        key = points[:count].copy()
        for k in range(1, n):
            if k < 3:
                key <<= _BITS
                key |= points[k:k + count]
            else:
                key *= _PRIME
                key ^= points[k:k + count]
        keys.append(key[points != _SPACE] if n == 1 else key)
    if not keys:
        return np.zeros(0, dtype=np.uint64)
    h = np.concatenate(keys) if len(keys) > 1 else keys[0]
    h ^= start
    return _finish(h)


def pair_hashes(hashes: np.ndarray, start: np.uint64) -> np.ndarray:
    """One hash per neighbouring pair of ``hashes`` (word bigrams from word hashes)."""
    if len(hashes) < 2:
        return np.zeros(0, dtype=np.uint64)
    h = (np.full(len(hashes) - 1, start, dtype=np.uint64) ^ hashes[:-1]) * _PRIME
    h ^= hashes[1:]
    h *= _PRIME
    return _finish(h)


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values: ``np.unique`` for the few hundred buckets of one
    post, at a quarter of its cost (it hashes; a small sort is cheaper)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]
