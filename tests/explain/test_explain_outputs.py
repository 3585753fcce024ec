"""Serialisation, figures, notebook display and progress of explanations."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from riskmodels.errors import SchemaError
from riskmodels.explain import Explanations, explain
from riskmodels.explain._example import make_example


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    # HistGradientBoosting's OpenMP barriers stall when other processes share the cores;
    # one thread keeps these small fits quick on a busy machine. No test measures time.
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def explained():
    pipeline, frame, spec = make_example(n=300, estimator="hgb", seed=11)
    frame = frame.assign(person_id=[f"id-{i}" for i in range(len(frame))])
    return explain(pipeline, frame, spec, proxies=["establishment"], rows=np.arange(0, 300, 3))


def test_json_round_trip_is_exact(explained):
    data = json.loads(json.dumps(explained.to_dict()))
    back = Explanations.from_dict(data)
    pd.testing.assert_frame_equal(back.contributions, explained.contributions, check_exact=True)
    pd.testing.assert_frame_equal(back.values, explained.values, check_exact=True)
    np.testing.assert_array_equal(back.base_values, explained.base_values)
    np.testing.assert_array_equal(back.margin, explained.margin)
    np.testing.assert_array_equal(back.rows, explained.rows)
    assert back.proxies == explained.proxies and back.method == explained.method
    assert back.spec == explained.spec
    assert back.to_dict() == data
    assert explained.values["segregation_days"].isna().any()  # NaN survives the trip
    pd.testing.assert_frame_equal(back.reasons(), explained.reasons())


def test_round_trip_keeps_integer_ids_and_nullable_dtypes():
    pipeline, frame, spec = make_example(n=120, seed=12)
    frame = frame.astype({"ideation": "Int64"})
    frame.loc[3, "ideation"] = pd.NA
    ex = explain(pipeline, frame, spec, rows=[1, 3, 7])
    back = Explanations.from_dict(json.loads(json.dumps(ex.to_dict())))
    assert back.ids.dtype == ex.ids.dtype == np.int64
    pd.testing.assert_frame_equal(back.values, ex.values, check_exact=True)
    assert str(back.values["ideation"].dtype) == "Int64"


def test_from_dict_refuses_other_documents():
    with pytest.raises(SchemaError, match="format"):
        Explanations.from_dict({"format": "something-else"})


def test_inconsistent_parts_are_refused(explained):
    with pytest.raises(SchemaError, match="margin"):
        Explanations(
            contributions=explained.contributions,
            base_values=explained.base_values,
            margin=explained.margin[:-1],
            values=explained.values,
            spec=explained.spec,
        )


def test_bar_and_beeswarm_draw_labelled_axes(explained):
    fig, (left, right) = plt.subplots(1, 2)
    try:
        ax = explained.plot_bar(ax=left)
        assert ax is left
        assert "log-odds" in ax.get_xlabel() and ax.get_title()
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert "Establishment †" in labels and "Current suicidal ideation" in labels
        ax = explained.plot_beeswarm(ax=right)
        assert "log-odds" in ax.get_xlabel() and "100 people" in ax.get_title()
        assert len(ax.get_yticklabels()) == len(explained.features)
    finally:
        plt.close(fig)


def test_png_bytes_for_cards(explained):
    for kind in ("bar", "beeswarm"):
        png = explained.to_png(kind)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    with pytest.raises(ValueError, match="kind"):
        explained.to_png("pie")


def test_html_summary_for_notebooks(explained):
    text = explained._repr_html_()
    assert "log-odds of the uncalibrated model" in text
    assert "Current suicidal ideation" in text and "†" in text
    assert "100 rows" in text
    assert "Explanations(100 rows x 5 features" in repr(explained)


def test_progress_bar_can_be_forced_or_disabled(capsys):
    pipeline, frame, spec = make_example(n=200, estimator="hgb", seed=13)
    shown = explain(pipeline, frame, spec, progress=True, chunk_size=50, n_jobs=1)
    hidden = explain(pipeline, frame, spec, progress=False, chunk_size=50, n_jobs=1)
    pd.testing.assert_frame_equal(shown.contributions, hidden.contributions)
    out = capsys.readouterr()
    assert "Explaining 200 rows" in out.out + out.err


def test_notebooks_get_a_tqdm_bar(capsys, monkeypatch):
    from riskmodels.explain import _progress

    monkeypatch.setattr(_progress, "_in_notebook", lambda: True)
    pipeline, frame, spec = make_example(n=100, estimator="hgb", seed=14)
    explain(pipeline, frame, spec, progress=True, chunk_size=25, n_jobs=1)
    err = capsys.readouterr().err
    assert "Explaining 100 rows" in err and "100%" in err
