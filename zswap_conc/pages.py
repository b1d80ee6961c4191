"""The page corpus, and the rule that derives every stored page from (slot key, version).

Real-data pages come from the running interpreter's own library (text: ``*.py``; binary: the
extension modules), so every machine with Python has them; incompressible pages are seeded random
bytes; zero- and same-filled pages are generated.  The page stored for (key, version) is a pure
function of both, stamped with them in its first 16 bytes, so a load can prove it returned the
newest data for its slot and the end-of-run check can verify every live entry.
"""

from __future__ import annotations

import hashlib
import os
import sys
import sysconfig

import numpy as np
from numba import njit

from zswap_conc.config import PAGE_SIZE, Config
from zswap_conc.jit import HOT, bytes_copy
from zswap_conc.params import (
    P_CORPUS_RANDOM,
    P_CORPUS_REAL,
    P_PCT_RANDOM,
    P_PCT_SAME,
    P_PCT_ZERO,
    P_SEED,
)

KIND_ZERO = 0  # all bytes zero: stored as a same-filled word
KIND_SAME = 1  # one repeated non-zero 64-bit word
KIND_RANDOM = 2  # incompressible corpus page
KIND_REAL = 3  # real-data corpus page

CORPUS_REAL_PAGES = 1024  # 4 MiB of library text and code
CORPUS_RANDOM_PAGES = 64
STAMP_BYTES = 16  # (key, version) written over the start of corpus pages


def _library_files() -> tuple[list[str], list[str]]:
    stdlib = sysconfig.get_paths()["stdlib"]
    text, binary = [], []
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__"))
        for f in sorted(files):
            if f.endswith(".py"):
                text.append(os.path.join(root, f))
            elif f.endswith((".so", ".pyd", ".dll")):
                binary.append(os.path.join(root, f))
    if not binary:  # a static build: the interpreter itself is real machine code
        binary.append(sys.executable)
    return text, binary


def _pages_from(paths: list[str], want: int) -> list[bytes]:
    out: list[bytes] = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        for i in range(0, len(data) - PAGE_SIZE + 1, PAGE_SIZE):
            page = data[i : i + PAGE_SIZE]
            if page.count(page[:8]) * 8 == PAGE_SIZE:  # same-filled: not "real data"
                continue
            out.append(page)
            if len(out) >= want:
                return out
    return out


def corpus_build(real_pages: int = CORPUS_REAL_PAGES, random_pages: int = CORPUS_RANDOM_PAGES):
    """(corpus uint8[n, 4096], lz4 length of each page, sha256 of the corpus, description)."""
    import lz4.block

    text, binary = _library_files()
    half = real_pages // 2
    t = _pages_from(text, half)
    b = _pages_from(binary, real_pages - len(t))
    real = [p for pair in zip(t, b, strict=False) for p in pair] + t[len(b):] + b[len(t):]
    if not real:
        raise RuntimeError("no readable library files to build the page corpus from")
    rng = np.random.default_rng(0x5A5A)
    rand = [rng.integers(0, 256, PAGE_SIZE, dtype=np.uint8).tobytes() for _ in range(random_pages)]
    corpus = np.frombuffer(b"".join(real + rand), dtype=np.uint8).reshape(-1, PAGE_SIZE).copy()
    clen = np.array([len(lz4.block.compress(bytes(pg), store_size=False)) for pg in corpus], np.int64)
    digest = hashlib.sha256(corpus.tobytes()).hexdigest()[:16]
    desc = {
        "real_pages": len(real),
        "text_pages": len(t),
        "binary_pages": len(b),
        "random_pages": random_pages,
        "sha256_16": digest,
        "source": f"python {sys.version.split()[0]} standard library",
    }
    return corpus, clen, digest, desc


def params_fill(p: np.ndarray, cfg: Config, n_real: int, n_random: int) -> None:
    p[P_CORPUS_REAL] = n_real
    p[P_CORPUS_RANDOM] = n_random
    p[P_PCT_ZERO] = int(round(cfg.pages.zero * 100))
    p[P_PCT_SAME] = int(round(cfg.pages.same * 100))
    p[P_PCT_RANDOM] = int(round(cfg.pages.incompressible * 100))


@njit(**HOT, inline="always")
def mix64(x):
    """splitmix64's finaliser: a well-spread 62-bit hash of an int64."""
    z = np.uint64(x)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(2))


@njit(**HOT)
def page_choose(p, key, version):
    """(kind, corpus index or fill word) of the page stored for (key, version)."""
    h = mix64(mix64(key * 1000003 + p[P_SEED]) ^ version)
    u = h % 10000
    if u < p[P_PCT_ZERO]:
        return KIND_ZERO, 0
    u -= p[P_PCT_ZERO]
    if u < p[P_PCT_SAME]:
        return KIND_SAME, (h >> 14) | 1
    u -= p[P_PCT_SAME]
    h2 = h >> 14
    if u < p[P_PCT_RANDOM] and p[P_CORPUS_RANDOM] > 0:
        return KIND_RANDOM, p[P_CORPUS_REAL] + h2 % p[P_CORPUS_RANDOM]
    return KIND_REAL, h2 % p[P_CORPUS_REAL]


@njit(**HOT)
def page_build(corpus, p, key, version, out) -> int:
    """Write the page for (key, version) into ``out``; returns its corpus index or -1."""
    kind, v = page_choose(p, key, version)
    w = out.view(np.int64)
    if kind == KIND_ZERO or kind == KIND_SAME:
        w[:] = v
        return -1
    bytes_copy(out, 0, corpus[v], 0, out.shape[0])
    w[0] = key
    w[1] = version
    return v


@njit(**HOT)
def page_same_filled(page):
    """(True, word) if every 64-bit word of the page is the same (zswap's same-filled check)."""
    w = page.view(np.int64)
    first = w[0]
    for i in range(1, w.shape[0]):
        if w[i] != first:
            return False, 0
    return True, first


@njit(**HOT)
def page_verify(corpus, p, key, version, page) -> bool:
    """Does ``page`` hold exactly the data stored for (key, version)?"""
    kind, v = page_choose(p, key, version)
    w = page.view(np.int64)
    diff = 0
    if kind == KIND_ZERO or kind == KIND_SAME:
        for i in range(w.shape[0]):  # no early exit: the loop vectorises
            diff |= w[i] ^ v
        return diff == 0
    if w[0] != key or w[1] != version:
        return False
    src = corpus[v].view(np.int64)
    for i in range(STAMP_BYTES // 8, w.shape[0]):
        diff |= w[i] ^ src[i]
    return diff == 0
