"""Compressor backends callable from nopython code: real LZ4 and zstd, and a synthetic one.

LZ4 is the C library that the ``lz4`` package links into its extension module; zstd is the
system's ``libzstd`` where present.  Their functions are declared by name in the generated LLVM IR
and their addresses registered with llvmlite, so compiled callers can be cached on disk (a ctypes
function pointer would bake a process-specific address into the cache).

The ``synthetic`` backend busy-waits a calibrated number of cycles and writes a small token that
names the page, so locking can be studied with a compression cost of the user's choosing while
loads are still verified.  Its decompression costs a quarter of its compression, about LZ4's ratio.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from zswap_conc.jit import HOT
from zswap_conc.params import P_COMPRESSOR, P_SYNTH_CYCLES, P_ZSTD_LEVEL
from zswap_conc.sync import spin_ns

COMP_LZ4 = 0
COMP_ZSTD = 1
COMP_SYNTHETIC = 2
COMPRESSORS = {"lz4": COMP_LZ4, "zstd": COMP_ZSTD, "synthetic": COMP_SYNTHETIC}

COMPRESS_FAIL = -1  # a backend error: counted as reject_compress_fail
SYNTH_TOKEN = 24  # bytes the synthetic backend really writes (key, version, corpus page)
DECOMPRESS_TOKEN = -2  # synthetic decompression: rebuild the page from the token

_PREFIX = "zswap_conc_"


def _lz4_library() -> ctypes.CDLL:
    import lz4.block._block as ext  # the extension module carries liblz4's symbols

    return ctypes.CDLL(ext.__file__)


def _zstd_library() -> ctypes.CDLL | None:
    path = ctypes.util.find_library("zstd")
    if not path:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for fn, res, args in (
        ("ZSTD_createCCtx", ctypes.c_void_p, []),
        ("ZSTD_createDCtx", ctypes.c_void_p, []),
        ("ZSTD_freeCCtx", ctypes.c_size_t, [ctypes.c_void_p]),
        ("ZSTD_freeDCtx", ctypes.c_size_t, [ctypes.c_void_p]),
        ("ZSTD_versionString", ctypes.c_char_p, []),
    ):
        getattr(lib, fn).restype = res
        getattr(lib, fn).argtypes = args
    return lib


_LZ4 = _lz4_library()
_ZSTD = _zstd_library()


def _register(lib: ctypes.CDLL, name: str) -> None:
    llvm.add_symbol(_PREFIX + name, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)


for _name in ("LZ4_compress_default", "LZ4_decompress_safe"):
    _register(_LZ4, _name)
if _ZSTD is not None:
    for _name in ("ZSTD_compressCCtx", "ZSTD_decompressDCtx", "ZSTD_isError"):
        _register(_ZSTD, _name)


def compressor_available(name: str) -> tuple[bool, str]:
    if name == "zstd" and _ZSTD is None:
        return False, "libzstd was not found"
    return True, ""


def library_versions() -> dict:
    import lz4

    v = {"lz4": lz4.library_version_string()}
    if _ZSTD is not None:
        v["zstd"] = _ZSTD.ZSTD_versionString().decode()
    return v


def zstd_contexts_create(n: int) -> list[tuple[int, int]]:
    """One (compression, decompression) context pair per CPU; fork copies them to each worker."""
    if _ZSTD is None:
        return [(0, 0)] * n
    return [(_ZSTD.ZSTD_createCCtx(), _ZSTD.ZSTD_createDCtx()) for _ in range(n)]


def zstd_contexts_free(pairs) -> None:
    if _ZSTD is None:
        return
    for c, d in pairs:
        if c:
            _ZSTD.ZSTD_freeCCtx(c)
        if d:
            _ZSTD.ZSTD_freeDCtx(d)


def _c_call(symbol: str, ret_bits: int, kinds: tuple[str, ...]):
    """An intrinsic calling C function ``symbol``; kinds: 'p' (array data or int address),
    'i32', 'i64' per argument."""
    ll = {"p": ir.IntType(8).as_pointer(), "i32": ir.IntType(32), "i64": ir.IntType(64)}
    fnty = ir.FunctionType(ir.IntType(ret_bits), [ll[k] for k in kinds])
    ret = types.int64

    def typer(typingctx, *args):
        if len(args) != len(kinds):
            raise TypeError(f"{symbol} takes {len(kinds)} arguments")

        def codegen(context, builder, signature, llargs):
            vals = []
            for kind, ty, v in zip(kinds, signature.args, llargs, strict=True):
                if kind == "p" and isinstance(ty, types.Array):
                    ptr = context.make_array(ty)(context, builder, v).data
                    vals.append(builder.bitcast(ptr, ll["p"]))
                elif kind == "p":
                    vals.append(builder.inttoptr(context.cast(builder, v, ty, types.int64), ll["p"]))
                else:
                    target = types.int32 if kind == "i32" else types.int64
                    vals.append(context.cast(builder, v, ty, target))
            fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFIX + symbol)
            r = builder.call(fn, vals)
            return builder.sext(r, ir.IntType(64)) if ret_bits < 64 else r

        return ret(*args), codegen

    # numba's intrinsic needs a fixed arity: wrap the variadic typer
    n = len(kinds)
    if n == 4:
        return intrinsic(lambda typingctx, a, b, c, d: typer(typingctx, a, b, c, d))
    if n == 5:
        return intrinsic(lambda typingctx, a, b, c, d, e: typer(typingctx, a, b, c, d, e))
    if n == 6:
        return intrinsic(lambda typingctx, a, b, c, d, e, f: typer(typingctx, a, b, c, d, e, f))
    return intrinsic(lambda typingctx, a: typer(typingctx, a))


lz4_compress_default = _c_call("LZ4_compress_default", 32, ("p", "p", "i32", "i32"))
lz4_decompress_safe = _c_call("LZ4_decompress_safe", 32, ("p", "p", "i32", "i32"))
zstd_compress_cctx = _c_call("ZSTD_compressCCtx", 64, ("p", "p", "i64", "p", "i64", "i32"))
zstd_decompress_dctx = _c_call("ZSTD_decompressDCtx", 64, ("p", "p", "i64", "p", "i64"))
zstd_is_error = _c_call("ZSTD_isError", 32, ("i64",))


@njit(**HOT)
def compress(p, cctx, src, dst, key, version, corpus_index, synth_len) -> int:
    """Compress the 4 KiB page ``src`` into ``dst``; the compressed length or COMPRESS_FAIL.

    The synthetic backend spins its calibrated cost, writes a token (key, version, corpus index:
    enough for a load to rebuild the page) and claims the length the real LZ4 output would have.
    """
    c = p[P_COMPRESSOR]
    if c == COMP_LZ4:
        n = lz4_compress_default(src, dst, 4096, dst.shape[0])
        return n if n > 0 else COMPRESS_FAIL
    if c == COMP_ZSTD:
        n = zstd_compress_cctx(cctx, dst, dst.shape[0], src, 4096, p[P_ZSTD_LEVEL])
        return COMPRESS_FAIL if zstd_is_error(n) != 0 else n
    spin_ns(p[P_SYNTH_CYCLES])
    w = dst[:SYNTH_TOKEN].view(np.int64)
    w[0] = key
    w[1] = version
    w[2] = corpus_index
    return max(synth_len, SYNTH_TOKEN)


@njit(**HOT)
def decompress(p, dctx, src, n, dst) -> int:
    """Decompress ``src[:n]`` into the 4 KiB ``dst``; the output length, COMPRESS_FAIL, or
    DECOMPRESS_TOKEN (synthetic: the caller rebuilds the page the token names)."""
    c = p[P_COMPRESSOR]
    if c == COMP_LZ4:
        r = lz4_decompress_safe(src, dst, n, 4096)
        return r if r >= 0 else COMPRESS_FAIL
    if c == COMP_ZSTD:
        r = zstd_decompress_dctx(dctx, dst, 4096, src, n)
        return COMPRESS_FAIL if zstd_is_error(r) != 0 else r
    spin_ns(p[P_SYNTH_CYCLES] // 4)
    return DECOMPRESS_TOKEN
