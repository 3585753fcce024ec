"""Data quality: too few events is said as such."""

from __future__ import annotations

import pytest


def test_too_few_events_is_said_as_such_not_as_leakage():
    import riskmodels as rm
    from riskmodels.data import check_quality
    from riskmodels.errors import DataQualityError

    frame, spec = rm.datasets.make_prison_incidents(n_people=300, months=2, seed=0)
    small = frame.head(200)
    assert 0 < small[spec.target].sum() < 10
    with pytest.raises(DataQualityError, match="too few to fit a model") as info:
        check_quality(small, spec)
    kinds = {i["kind"] for i in info.value.report.serious}
    assert kinds == {"too_few_events"}  # no spurious "suspected leakage" on a handful
