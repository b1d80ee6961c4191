"""Checked mode: the race hunter.  One process owns a private arena and a scheduler decides which
simulated CPU takes the next step of the very step machines the workers run (ops.py), so the code
that is measured is the code that is checked.  See execution.py for the invariants checked after
every step, variants.py for the known-buggy protocols, and hunt.py for the search."""
