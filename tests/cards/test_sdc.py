"""Statistical disclosure control: small cells never reach a published card."""

from __future__ import annotations

import json
import re
from itertools import combinations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodels._json import round_floats
from riskmodels.cards import ModelCard
from riskmodels.cards._sdc import COUNT_COLUMNS, rate_cells, withheld_counts

THRESHOLD = 10


def _rows(card):
    data = json.loads(card.to_json())
    for table in data["fairness"]["tables"]:
        for row in table["rows"]:
            yield table, row


def test_no_published_count_is_below_the_threshold(card, fitted):
    _, evidence, _ = fitted
    bg = evidence.fairness.by_group
    assert (bg[list(COUNT_COLUMNS)] < THRESHOLD).any().any()  # the data has small cells
    for _, row in _rows(card):
        for c in COUNT_COLUMNS:
            assert row[c] is None or row[c] >= THRESHOLD
            assert (row[c] is None) == (c in row["withheld"])


def test_small_cells_show_as_less_than_ten_and_their_rates_are_suppressed(card, fitted):
    _, evidence, _ = fitted
    bg = evidence.fairness.by_group
    other = bg[(bg["attribute"] == "ethnicity") & (bg["group"] == "Other")].iloc[0]
    assert other["n_pos"] < THRESHOLD <= other["n"]
    table = next(t for t in card.data["fairness"]["tables"] if t["attribute"] == "ethnicity")
    row = next(r for r in table["rows"] if r["group"] == "Other")
    assert row["withheld"] == {"n_pos": "below_threshold", "n_neg": "secondary"}
    assert row["n"] == other["n"]
    for m in ("tpr", "fnr", "auc", "base_rate"):
        assert row["metrics"][m] is None, m
    fp_cells = rate_cells("fpr", other)  # n_neg >= 10: shown unless fp or tn is small
    assert (row["metrics"]["fpr"] is None) == (min(fp_cells) < THRESHOLD)
    md_row = next(line for line in card.to_markdown().splitlines() if line.startswith("| Other |"))
    cells = [c.strip() for c in md_row.strip("|").split("|")]
    assert cells[1] == f"{other['n']:,}" and cells[2] == "<10"
    assert cells[3] == "suppressed" and cells[5] == "suppressed"  # base rate, TPR
    html = card.to_html()
    assert "&lt;10" in html and "suppressed" in html and "withheld" in html
    assert f"Counts below {THRESHOLD} are shown as" in card.to_markdown()


def test_every_rate_computed_from_a_small_count_is_suppressed(card, fitted):
    _, evidence, _ = fitted
    truth = {(r["attribute"], r["group"]): r for r in evidence.fairness.by_group.to_dict("records")}
    shown = 0
    for table, row in _rows(card):
        true = truth[(table["attribute"], row["group"])]
        for m, est in row["metrics"].items():
            if min(rate_cells(m, true)) < THRESHOLD:
                assert est is None, (table["attribute"], row["group"], m)
            elif not row["withheld"] or m != "base_rate":
                assert est is not None and est["value"] == round_floats(true[m])
                shown += 1
    assert shown > 0
    # the denominators named in the issue: rows, incidents and non-incidents
    for table, row in _rows(card):
        true = truth[(table["attribute"], row["group"])]
        if true["n_pos"] < THRESHOLD:
            assert row["metrics"]["tpr"] is None and row["metrics"]["fnr"] is None
        if true["n_neg"] < THRESHOLD:
            assert row["metrics"]["fpr"] is None and row["metrics"]["tnr"] is None
        if true["n"] < THRESHOLD:
            assert all(v is None for v in row["metrics"].values())


def test_threshold_is_configurable_and_stated(fitted, fixed_time):
    model, evidence, _ = fitted
    off = ModelCard.build(model, evidence, None, sdc_threshold=0, generated_at=fixed_time)
    assert all(not row["withheld"] for _, row in _rows(off))
    strict = ModelCard.build(model, evidence, None, sdc_threshold=200, generated_at=fixed_time)
    assert strict.data["sdc_threshold"] == 200
    assert "Counts below 200 are shown as" in strict.to_markdown()
    assert all(row["n"] is None or row["n"] >= 200 for _, row in _rows(strict))


def _lines(table):
    """Every set of rows whose count sum a reader can see (as the module documents)."""
    lines = [list(range(len(table)))]
    parts = [g.split(" x ") for g in table["group"]]
    k = len(parts[0])
    for size in range(1, k):
        for fixed in combinations(range(k), size):
            groups = {}
            for i, p in enumerate(parts):
                groups.setdefault(tuple(p[j] for j in fixed), []).append(i)
            lines += list(groups.values())
    return lines


@st.composite
def _intersection(draw):
    a = draw(st.integers(1, 4))
    b = draw(st.integers(1, 4))
    labels = [f"a{i} x b{j}" for i in range(a) for j in range(b)]
    n_pos = draw(st.lists(st.integers(0, 60), min_size=len(labels), max_size=len(labels)))
    n_neg = draw(st.lists(st.integers(0, 60), min_size=len(labels), max_size=len(labels)))
    return pd.DataFrame(
        {
            "attribute": "a x b",
            "group": labels,
            "n_pos": n_pos,
            "n_neg": n_neg,
            "n": [p + q for p, q in zip(n_pos, n_neg, strict=True)],
        }
    )


@settings(max_examples=150, deadline=None)
@given(_intersection())
def test_no_withheld_count_can_be_recovered_by_subtraction(table):
    withheld = withheld_counts(table, THRESHOLD)
    for i, row in table.iterrows():
        for c in COUNT_COLUMNS:
            if row[c] < THRESHOLD:
                assert withheld.get((i, c)) == "below_threshold"
        hidden = [c for c in COUNT_COLUMNS if (i, c) in withheld]
        assert len(hidden) != 1  # n = n_pos + n_neg cannot reveal one unknown
    for line in _lines(table):
        if len(line) < 2:
            continue
        for c in COUNT_COLUMNS:
            assert sum((i, c) in withheld for i in line) != 1, (line, c)


def test_gate_reasons_do_not_quote_small_counts(fitted, full_context, fixed_time):
    from riskmodels.policy import Policy

    model, evidence, _ = fitted
    policy = Policy.default()
    gate = policy.check(evidence, model=model)
    raw = " ".join(g.reason for g in gate)
    small = re.compile(r"\b(\d+) (?:events?|non-events?|rows?)\b")
    assert any(int(n) < THRESHOLD for n in small.findall(raw))  # the policy quotes them
    card = ModelCard.build(model, evidence, full_context, generated_at=fixed_time).with_gates(gate)
    published = " ".join(g["reason"] for g in card.data["gate"]["gates"])
    assert all(int(n) >= THRESHOLD for n in small.findall(published))
    assert f"<{THRESHOLD} events" in published
    assert "report" not in card.data["gate"]  # the raw report stays in the release bundle


def test_gate_reasons_publish_no_small_count_however_it_is_worded(card, fitted):
    # Gates record the counts their reasons quote, so a card hides "6 events" and
    # "6 observed" alike; the regex this replaced knew no "observed" and leaked it.
    from riskmodels.policy import Policy
    from riskmodels.policy._gates import redact_counts

    model, evidence, _ = fitted
    report = Policy.default().check(evidence, model=model, context=card.context)
    small = {(text, n) for g in report for text, n in g.counts if n < THRESHOLD}
    assert small, "the data has a group with fewer than 10 events; a reason should name it"
    published = card.with_gates(report)
    for g in published.data["gate"]["gates"]:
        for text, _ in small:
            assert not re.search(rf"(?<![\w.,]){re.escape(text)}(?!\w)", g["reason"]), (
                g["name"],
                text,
            )
    md, html = published.to_markdown(), published.to_html()
    for text, _ in small:
        assert f"| {text}" not in md and f" {text})" not in md and f" {text})" not in html
    assert "<10 events" in md
    said = "Black: 8 observed, 40.6 expected; White: 118 observed, 120.2 expected"
    shown = redact_counts(said, (("8 observed", 8), ("118 observed", 118)), THRESHOLD)
    assert shown == "Black: <10 observed, 40.6 expected; White: 118 observed, 120.2 expected"
    assert redact_counts(said, (("8 observed", 8),), 0) == said  # threshold 0: published as is


def test_a_data_quality_finding_records_the_counts_it_quotes():
    # the card redacts a finding's counts from its record, not by reading its words
    import numpy as np

    import riskmodels as rm
    from riskmodels.data import check_quality
    from riskmodels.policy._gates import redact_counts

    frame, spec = rm.datasets.make_prison_incidents(n_people=300, months=2, seed=3)
    y = np.zeros(len(frame), dtype=int)
    y[:7] = 1  # 7 events: a serious finding, allowed here so that it is reported
    frame[spec.target] = y
    report = check_quality(frame, spec, allow=("too_few_events",))
    (issue,) = [i for i in report.issues if i["kind"] == "too_few_events"]
    assert ["7 events", 7] in issue["counts"] and "7 events" in issue["detail"]
    shown = redact_counts(issue["detail"], tuple(map(tuple, issue["counts"])), THRESHOLD)
    assert "<10 events" in shown and "7 events" not in shown
    assert f"{len(frame) - 7:,} non-events" in shown  # large counts stay
