"""zswap_conc: simulated CPUs hammering a shared-memory compressed swap pool (a model of Linux
zswap), to measure lock contention and hunt races in its designs.

Importing the package loads nothing heavy: the compiled modules set up numba (``jit.py``) when they
are imported, so commands that only read results files (plot, compare) never start a compiler.
"""

__version__ = "0.1.0"
