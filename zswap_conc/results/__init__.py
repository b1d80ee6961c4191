"""Results as data: the records every command writes and every presentation reads.

  document.py   the versioned JSON envelope: schema, format version, atomic dump, checked load
  meta.py       what the numbers depend on: machine, software, load
  run.py        the run record: built from the counters the workers left, lock_stat rows and tables,
                the writeback and soak figures
  sweep.py      the sweep document, its points (median and spread per variant and CPU count), labels
                and CSV export

Presentation (``plot``, ``compare``) imports this package and matplotlib only: nothing here starts
a compiler or touches shared memory.
"""
