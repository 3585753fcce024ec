"""Reading user data files with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from riskmodels.errors import Problem, SchemaError

__all__ = ["read_frame"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.pq`` file.

    Raises
    ------
    SchemaError
        If the file is missing, has an unsupported extension, or cannot be parsed
        (the message names the file and what to do).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "x.csv").write_text("id,y\\n1,0\\n2,1\\n")
    >>> read_frame(d / "x.csv").shape
    (2, 2)
    """
    p = Path(path)
    ctx = f"Cannot read {p}"
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise SchemaError(
            Problem(None, f"unsupported file type {p.suffix!r}", "use .csv or .parquet"),
            context=ctx,
        )
    if not p.exists():
        raise SchemaError(Problem(None, "file does not exist", "check the path"), context=ctx)
    if p.is_dir() and fmt == "csv":
        raise SchemaError(Problem(None, "is a directory", "pass a file"), context=ctx)
    try:
        if fmt == "csv":
            return pd.read_csv(p)
        return pd.read_parquet(p)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise SchemaError(
            Problem(
                None,
                f"could not be parsed as {fmt}: {err}",
                f"check the file is really {fmt} and not truncated",
            ),
            context=ctx,
        ) from None
    except Exception as err:  # pyarrow raises its own error types for corrupt files
        raise SchemaError(
            Problem(
                None,
                f"could not be parsed as {fmt}: {type(err).__name__}: {err}",
                f"check the file is really {fmt} and not truncated",
            ),
            context=ctx,
        ) from None
