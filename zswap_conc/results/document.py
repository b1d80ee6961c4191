"""The versioned JSON envelope of every results document: its schema, its format version, an atomic
write and a checked read.

A document is built once and never edited afterwards; ``load`` refuses a file whose schema or
version it does not know, or whose fields a reader uses have other types or ranges than
``schema.RESULTS`` says, naming the file and the field.  Everything is written as strict JSON: no
NaN or Infinity (an unknown figure is null, see ``schema``).
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
    from zswap_conc.schema import shown

    if rec.get("schema") != SCHEMA:
        raise ResultsError(f"{source}: field 'schema' is {shown(rec.get('schema'))}, expected {SCHEMA!r}")
    v = rec.get("format_version")
    if not isinstance(v, int) or isinstance(v, bool):
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


def json_text(obj: Any, indent: int | None = 1) -> str:
    """Strict JSON (RFC 8259): a NaN or an infinity is a bug in whatever produced it, never written."""
    return json.dumps(obj, indent=indent, sort_keys=False, allow_nan=False)


def dump(rec: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader never sees half a file, and a crash never truncates one (a failed
    write leaves the previous file, and no temporary, behind)."""
    path = Path(path)
    text = json_text(rec) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _strict_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def load(path: str | os.PathLike) -> dict:
    """A results document, its envelope and every field a reader uses checked (``schema``)."""
    from zswap_conc.schema import SchemaError, results_spec

    try:
        with open(path) as fh:
            rec = json.load(fh, parse_constant=_strict_constant)
    except IsADirectoryError:
        raise ResultsError(f"{path}: is a folder, not a results file") from None
    except OSError as e:
        raise ResultsError(f"{path}: cannot read ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ResultsError(f"{path}: not valid JSON ({str(e)[:120]})") from None
    record_check(rec, str(path))
    spec = results_spec(rec)
    if spec is not None:
        try:
            rec = spec.check(rec, "")
        except SchemaError as e:
            raise ResultsError(f"{path}: {e}") from None
    return rec
