"""One module per command of ``zswap-conc``.  Each defines ``HELP``, ``add_arguments(parser)`` and
``main(ns) -> exit status``, and keeps its work and the rendering of its report together; what
measures or compiles is imported inside ``main``, so parsing the command line stays light.
"""

COMMANDS = ("run", "sweep", "soak", "reclaim", "lockbench", "predict", "plot", "compare", "hunt", "replay", "clean")
