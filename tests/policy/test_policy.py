"""Policy files: strict loading, errors that name the key, purposes, bands."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from riskmodels.errors import PolicyError, PolicyViolation
from riskmodels.policy import REQUIRED_PROHIBITED, Bands, Policy

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "fairness" / "policy.yaml"
PACKAGED = REPO / "src" / "riskmodels" / "policy" / "default_policy.yaml"


def test_published_and_packaged_default_are_identical():
    assert PUBLISHED.read_bytes() == PACKAGED.read_bytes()


def test_default_is_the_published_file(policy):
    assert policy == Policy.from_yaml(PUBLISHED)
    assert policy.to_yaml() == PUBLISHED.read_text(encoding="utf-8")
    assert policy.decision_support_only is True
    assert set(REQUIRED_PROHIBITED) <= set(policy.prohibited_purposes)


def test_every_threshold_in_the_default_has_a_comment():
    # each leaf key of a section sits under a comment (or carries one inline): the policy
    # gives the rationale and source of every number
    lines = PUBLISHED.read_text(encoding="utf-8").splitlines()
    uncommented = []
    for i, line in enumerate(lines):
        m = re.match(r"^  ([a-z_]+):", line)
        if not m:
            continue
        if "#" in line:
            continue
        j = i - 1
        while j >= 0 and re.match(r"^  [a-z_]+:|^    ", lines[j]):
            j -= 1  # skip sibling keys (and folded text) that share the comment above
        if not lines[j].strip().startswith("#"):
            uncommented.append(m.group(1))
    assert uncommented == []


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["reliability"].update(min_acu=0.7), "reliability.min_acu"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["reliability"].update(min_auc=1.5), "reliability.min_auc"),
        (lambda d: d["reliability"].update(min_events="many"), "reliability.min_events"),
        (
            lambda d: d["reliability"].update(calibration_slope=[1.2, 0.8]),
            "reliability.calibration_slope",
        ),
        (lambda d: d["reliability"].update(min_auc_lower=0.9), "reliability.min_auc_lower"),
        (lambda d: d["fairness"].update(criterion="demographic_parity"), "fairness.criterion"),
        (lambda d: d["fairness"].update(criterion_rationale="  "), "fairness.criterion_rationale"),
        (lambda d: d["drift"].update(on_drift="ignore"), "drift.on_drift"),
        (lambda d: d["drift"].update(psi_refuse=0.05), "drift.psi_refuse"),
        (lambda d: d["bands"].update(cuts=[0.2, 0.05]), "bands.cuts"),
        (lambda d: d["bands"].update(labels=["low", "high"]), "bands.labels"),
        (lambda d: d["validity"].pop("max_days"), "validity.max_days"),
        (
            lambda d: d.update(permitted_purposes=["research_evaluation", "sentencing"]),
            "permitted_purposes",
        ),
        (lambda d: d.update(prohibited_purposes=["sentencing"]), "prohibited_purposes"),
        (lambda d: d.update(permitted_purposes=["Bad Name"]), "permitted_purposes"),
        (lambda d: d.update(decision_support_only=False), "decision_support_only"),
        (lambda d: d.pop("decision_support_only"), "decision_support_only"),
    ],
)
def test_invalid_policy_raises_policy_error_naming_the_key(policy_dict, edit, key):
    data = copy.deepcopy(policy_dict)
    edit(data)
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(data)
    assert info.value.key == key
    assert key in str(info.value)


def test_every_problem_is_listed_at_once(policy_dict):
    data = copy.deepcopy(policy_dict)
    data["reliability"]["min_auc"] = 2
    data["drift"]["on_drift"] = "shrug"
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(data)
    assert "reliability.min_auc" in str(info.value) and "drift.on_drift" in str(info.value)


def test_decision_support_only_false_in_a_file(tmp_path):
    text = PUBLISHED.read_text(encoding="utf-8").replace(
        "decision_support_only: true", "decision_support_only: false"
    )
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="supports, and never replaces") as info:
        Policy.from_yaml(path)
    assert info.value.key == "decision_support_only"


def test_unreadable_files(tmp_path):
    with pytest.raises(PolicyError, match="Cannot read"):
        Policy.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        Policy.from_yaml(bad)
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="mapping"):
        Policy.from_yaml(bad)


def test_round_trips(policy, policy_dict, tmp_path):
    assert Policy.from_dict(policy_dict) == policy
    dumped = Policy.from_dict(policy_dict)  # no source text: plain YAML dump
    assert Policy.from_text(dumped.to_yaml()) == policy
    path = tmp_path / "copy.yaml"
    policy.to_yaml(path)
    assert Policy.from_yaml(path) == policy
    assert Policy.from_yaml(path).sha256 == policy.sha256
    assert yaml.safe_load(policy.to_yaml())["name"] == "default"


def test_permitted_purpose_passes(policy):
    for purpose in policy.permitted_purposes:
        policy.check_purpose(purpose)


@pytest.mark.parametrize("purpose", ["sentencing", "parole_decisions", "disciplinary_decisions"])
def test_prohibited_purpose_is_a_violation_listing_permitted(policy, purpose):
    with pytest.raises(PolicyViolation, match="prohibited") as info:
        policy.check_purpose(purpose)
    assert info.value.purpose == purpose
    for permitted in policy.permitted_purposes:
        assert permitted in str(info.value)


@pytest.mark.parametrize("purpose", ["marketing", "", "Prioritise_Welfare_Review"])
def test_unknown_purpose_is_a_violation_listing_permitted(policy, purpose):
    with pytest.raises(PolicyViolation, match="not a permitted purpose") as info:
        policy.check_purpose(purpose)
    for permitted in policy.permitted_purposes:
        assert permitted in str(info.value)


def test_bands_put_a_score_on_a_cut_in_the_higher_band():
    bands = Bands(cuts=[0.05, 0.2], labels=["low", "medium", "high"])
    assert bands.assign(np.array([0.0, 0.0499, 0.05, 0.1999, 0.2, 1.0])).tolist() == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert bands.assign(np.array([np.nan])).tolist() == [None]


BANDS = Policy.default().bands


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=50),
    st.floats(0.001, 0.999).filter(lambda t: t != 0.2),
)
def test_band_codes_are_monotone_and_no_flagged_score_is_in_the_lowest_band(scores, threshold):
    bands = BANDS
    s = np.sort(np.asarray(scores))
    codes = bands.codes(s, threshold)
    assert (np.diff(codes) >= 0).all()
    assert codes.min() >= 0 and codes.max() < len(bands.labels)
    assert (codes[s >= threshold] > 0).all()  # flagged: never the lowest band
    assert threshold in bands.resolve(threshold)  # the flag is a band edge


def test_bands_that_contradict_the_threshold_fail_a_gate_that_cannot_be_waived(fitted):
    model, evidence, _, _ = fitted
    d = Policy.default().to_dict()
    d["bands"] = {"cuts": [0.99], "labels": ["low", "high"]}  # the flag is far below 0.99
    report = Policy.from_dict(d).check(evidence, model=model)
    gate = report["policy.bands"]
    assert gate.status == "fail" and not gate.waivable
    assert "would be listed as 'low'" in gate.reason
    assert Policy.default().check(evidence, model=model)["policy.bands"].status == "pass"
