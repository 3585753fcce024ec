"""The project's own list of types trusted when loading a model with skops.

skops refuses to construct any type that is neither on its default safe list nor
explicitly trusted. We never read a trust list from a bundle (a tampered bundle could
trust anything): this fixed list, reviewed with the code, is the only one used, at save
time (to refuse a model that would need more) and at load time.
"""

from __future__ import annotations

__all__ = ["TRUSTED_TYPES", "untrusted_types"]

#: Types beyond skops' defaults that the estimators riskmodels builds need: the calibrated
#: wrapper and its sigmoid calibrator, the tree structures of HistGradientBoosting and of
#: scikit-learn's trees and forests, and numpy dtypes. Adding a type here is a code change
#: that needs review: each one is code that a model file can make us construct.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # scikit-learn 1.6 only: a list subclass for ColumnTransformer's remainder columns
    # (it holds column names; gone from 1.7)
    "sklearn.compose._column_transformer._RemainderColsList",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)


def untrusted_types(data: bytes) -> list[str]:
    """Types in a skops payload that are neither skops defaults nor in ``TRUSTED_TYPES``.

    Inspects the payload's schema only; nothing is constructed. A payload skops cannot
    read at all raises :class:`~riskmodels.errors.ReleaseError` (``"unreadable"``).
    """
    import skops.io as sio

    from riskmodels.errors import ReleaseError

    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as err:  # not a zip, no schema, a malformed schema: skops' own errors
        raise ReleaseError(
            f"The model file cannot be read as skops ({type(err).__name__}: {err})",
            reason="unreadable",
        ) from None
    return sorted(set(found) - set(TRUSTED_TYPES))
