"""Reading an artifact's content as an Arrow table, for the gates that look at data.

The format comes from the file name the artifact was recorded with (``metadata.path`` or its name): CSV/TSV,
Parquet, JSON lines, or plain text (one ``text`` column, a row per line). PyArrow reads each in C without
pandas; the gates work on Arrow arrays.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    import pyarrow as pa

    from ..model import Artifact

TABULAR = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "text",
    ".text": "text",
}


def require_pyarrow() -> Any:
    from ..extras import require

    return require("pyarrow", "gates", "the data gates")


def format_of(artifact: Artifact) -> str | None:
    """The tabular format of an artifact by its recorded file name, or None (not tabular)."""
    for candidate in (artifact.metadata.get("path"), artifact.name):
        if isinstance(candidate, str):
            suffixes = PurePosixPath(candidate.lower()).suffixes
            for suffix in reversed(suffixes):
                if suffix in TABULAR:
                    return TABULAR[suffix]
    return None


def read_table(stream: IO[bytes], fmt: str, *, columns: list[str] | None = None) -> pa.Table:
    """The whole table from an open binary stream."""
    pa = require_pyarrow()
    try:
        if fmt in ("csv", "tsv"):
            from pyarrow import csv

            parse = csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            convert = csv.ConvertOptions(include_columns=columns) if columns else None
            table = csv.read_csv(stream, parse_options=parse, convert_options=convert)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(stream, columns=columns)
        elif fmt == "jsonl":
            from pyarrow import json as pajson

            table = pajson.read_json(stream)
        elif fmt == "text":
            lines = stream.read().decode("utf-8", "replace").splitlines()
            table = pa.table({"text": string_array(lines)})
        else:
            raise ValidationError("format", f"{fmt!r} is not a tabular format")
    except pa.ArrowException as exc:
        raise ValidationError("data", f"cannot read the data as {fmt}: {type(exc).__name__}") from None
    return table


# PyArrow builds an array or a scalar from Python values (``pa.array``, ``pa.scalar``, a Python value passed
# to a compute function or ``fill_null``) only after asking whether the value is a pandas object, which
# imports pandas: over half a second of ``mlineage check`` on a machine that has it, for nothing. The gates
# build the few arrays and scalars they need from raw buffers instead, and pass compute functions Arrow
# scalars.


def int_array(values: Any, dtype: str = "int64") -> pa.Array:
    """An integer Arrow array of ``values`` (a sequence of ints or a numpy array), without pandas."""
    import numpy as np

    pa = require_pyarrow()
    data = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), len(data), [None, pa.py_buffer(data)])


def number_scalar(value: float) -> pa.Scalar:
    """A float64 Arrow scalar (compute functions compare any numeric column with it)."""
    return int_array([value], "float64")[0]


def string_array(values: list[str], arrow_type: Any = None) -> pa.Array:
    """A string Arrow array of ``values`` (``arrow_type``: string, the default, or large_string)."""
    import numpy as np

    pa = require_pyarrow()
    arrow_type = arrow_type or pa.string()
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype="int64" if pa.types.is_large_string(arrow_type) else "int32")
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(arrow_type, len(encoded), [None, pa.py_buffer(offsets), data])


def false_scalar() -> pa.Scalar:
    """Arrow's ``false`` (to fill a mask's nulls)."""
    import pyarrow.compute as pc

    return pc.is_null(int_array([0]))[0]
