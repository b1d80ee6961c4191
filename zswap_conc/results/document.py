"""The versioned JSON envelope of every results document: its schema, its format version, an atomic
write and a checked read.

A document is built once and never edited afterwards; ``load`` refuses a file whose schema or
version it does not know, naming the file and the field.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SCHEMA = "zswap-conc"
FORMAT_VERSION = 1


class ResultsError(ValueError):
    """A results file that cannot be used; the message names the file and the field."""


def record_check(rec: Any, source: str) -> dict:
    """Validate the envelope of a results document; raises ResultsError naming the field."""
    if not isinstance(rec, dict):
        raise ResultsError(f"{source}: not a results document (top level is not an object)")
    if rec.get("schema") != SCHEMA:
        raise ResultsError(f"{source}: field 'schema' is {rec.get('schema')!r}, expected {SCHEMA!r}")
    v = rec.get("format_version")
    if not isinstance(v, int):
        raise ResultsError(f"{source}: field 'format_version' is missing or not an integer")
    if v > FORMAT_VERSION:
        raise ResultsError(f"{source}: field 'format_version' is {v}, newer than this tool reads "
                           f"({FORMAT_VERSION}); upgrade zswap-conc")
    if v < FORMAT_VERSION:
        raise ResultsError(f"{source}: field 'format_version' is {v}, older than {FORMAT_VERSION}, "
                           f"and no converter exists; rerun the experiment")
    for field in ("kind", "meta"):
        if field not in rec:
            raise ResultsError(f"{source}: field {field!r} is missing")
    return rec


def document_new(kind: str, complete: bool = True, **fields: Any) -> dict:
    """A results document of ``kind`` ("run", "sweep", "reclaim", ...): the envelope, then ``fields``
    in the order given (``meta`` first, by convention)."""
    return {"schema": SCHEMA, "format_version": FORMAT_VERSION, "kind": kind, "complete": complete, **fields}


def dump(rec: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader never sees half a file, and a crash never truncates one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(rec, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> dict:
    try:
        with open(path) as fh:
            rec = json.load(fh)
    except OSError as e:
        raise ResultsError(f"{path}: cannot read ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None
    return record_check(rec, str(path))
