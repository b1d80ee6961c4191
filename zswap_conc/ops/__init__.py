"""store / load / invalidate / writeback as step machines: the one definition that is both measured
and checked.

An operation is a frame on its CPU's frame stack (``frame.py``).  ``step.op_step`` executes one
atomic step of the top frame -- one lock attempt, one critical section ending in its unlock, or one
lock-free phase such as compressing -- and returns PROGRESS, BLOCKED (a lock is busy) or DONE.
Worker processes call it back to back (``cpu.py``); the race hunter picks which CPU steps next.

One module per operation (``store``, ``load``, ``invalidate``, ``writeback``), each opening with
its step diagram and its LOCKING block; ``entry`` holds the entry helpers and the free steps every
operation shares, ``locking`` the lock helpers and the lock order, ``counters`` zswap's outcome
counters, and ``step`` the short dispatcher.
"""
