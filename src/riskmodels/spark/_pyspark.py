"""pyspark, imported on first use, with an error that says how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType

from riskmodels.errors import DependencyError

__all__ = ["require_pyspark"]


def require_pyspark() -> ModuleType:
    """``pyspark.sql.functions`` (importing pyspark), or ``DependencyError``.

    Examples
    --------
    >>> F = require_pyspark()  # doctest: +SKIP
    >>> F.__name__  # doctest: +SKIP
    'pyspark.sql.functions'
    """
    try:
        return importlib.import_module("pyspark.sql.functions")
    except ImportError as err:
        raise DependencyError(
            f"riskmodels.spark needs pyspark, which cannot be imported ({err}). "
            "Hint: pip install 'riskmodels[spark]' (pyspark >= 3.5, and Java 17 for Spark "
            "itself)."
        ) from None
