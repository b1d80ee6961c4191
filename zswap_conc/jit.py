"""Compilation flags for the measured path.

``HOT`` turns off numba's reference counting (NRT) for functions that only read and write arrays
they are given.  With it on, every use of the arena's two dozen arrays costs an atomic increment
and decrement each, about half a microsecond per step on the machines we measured: more than
most steps' real work, and it would drown the locking we want to see.  Functions that allocate
(the checkers, the verifier) keep NRT and plain ``cache=True``.
"""

HOT = {"cache": True, "_nrt": False}


def _make_bytes_copy():
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def bytes_copy(typingctx, dst, doff, src, soff, n):
        """memcpy(dst + doff, src + soff, n) on uint8 arrays: numba's slice assignment may
        allocate a temporary (it guards against overlap), which needs NRT; this is llvm.memcpy."""
        if not (isinstance(dst, types.Array) and isinstance(src, types.Array)):
            raise TypeError("bytes_copy takes two arrays")
        sig = types.void(dst, types.intp, src, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            d, do, s, so, cnt = args
            dptr = context.make_array(signature.args[0])(context, builder, d).data
            sptr = context.make_array(signature.args[2])(context, builder, s).data
            dptr = builder.gep(dptr, [do])
            sptr = builder.gep(sptr, [so])
            cgutils.raw_memcpy(builder, dptr, sptr, cnt, 1)
            return context.get_dummy_value()

        return sig, codegen

    return bytes_copy


bytes_copy = _make_bytes_copy()
