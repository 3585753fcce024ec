"""approve() and load_release(): what a bundle holds, and every refusal writing nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import riskmodels as rm
import riskmodels.fairness
from riskmodels._io import sha256_file
from riskmodels.errors import GateFailed, PolicyError, PolicyViolation, ReleaseError
from riskmodels.policy import Policy
from riskmodels.release import (
    CARD_FILES,
    MANIFEST,
    REQUIRED_FILES,
    SIGNATURE_FILE,
    TRUST_STORE_ENV,
    TRUSTED_TYPES,
    Release,
    approve,
    generate_signing_key,
    load_release,
)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def _nothing_written(parent, out):
    assert not out.exists()
    assert [p.name for p in parent.iterdir() if p.name.startswith(".")] == []


def _manifest(path):
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def _rewrite_manifest(path, edit):
    m = _manifest(path)
    edit(m)
    (path / MANIFEST).write_text(json.dumps(m, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------- the bundle
def test_bundle_holds_every_file_bound_by_its_hash(bundle, fitted, waivers):
    model, evidence, _, _ = fitted
    names = {p.name for p in bundle.iterdir()}
    assert names == {*REQUIRED_FILES, *CARD_FILES, MANIFEST}
    m = _manifest(bundle)
    assert set(m["files"]) == names - {MANIFEST}
    for name, digest in m["files"].items():
        assert sha256_file(bundle / name) == digest
    a = m["approval"]
    assert (a["reviewer"], a["author"]) == ("R. Reviewer", "A. Author")
    assert a["approved_at"] == "2025-06-01T12:00:00+00:00"
    assert a["valid_until"] == "2025-08-30T12:00:00+00:00"  # 90 days
    assert a["waivers"] == waivers and a["decision_support_only"] is True
    assert m["model"]["name"] == model.display_name
    assert m["model"]["version"] == model.version_
    assert m["model"]["threshold"] == evidence.threshold
    assert m["purposes"]["permitted"] == Policy.default().permitted_purposes
    assert "sentencing" in m["purposes"]["prohibited"]
    assert m["policy"]["sha256"] == sha256_file(bundle / "policy.yaml")
    assert m["card"]["file"] == "card.md" and m["card"]["complete"] is True
    assert (bundle / "policy.yaml").read_text() == Policy.default().to_yaml()


def test_model_file_is_skops_with_only_trusted_types(bundle):
    data = (bundle / "model.skops").read_bytes()
    assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    assert isinstance(TRUSTED_TYPES, tuple)


def test_reloaded_release_scores_to_the_last_bit(bundle, fitted):
    model, evidence, train, test = fitted
    release = load_release(bundle, now=NOW)
    assert isinstance(release, Release)
    loaded = release.model
    assert isinstance(loaded, rm.RiskModel)
    for frame in (train, test):
        np.testing.assert_array_equal(loaded._predict_proba(frame), model._predict_proba(frame))
    np.testing.assert_array_equal(loaded._baseline_proba(test), model._baseline_proba(test))
    assert loaded.version_ == model.version_ and loaded.features_ == model.features_
    assert loaded.threshold_ == model.threshold_
    assert loaded.training_window_ == model.training_window_
    assert loaded.profile_.to_dict() == model.profile_.to_dict()
    assert loaded.spec == model.spec and loaded.display_name == model.display_name
    assert loaded.base_estimator_ is loaded.estimator_.calibrated_classifiers_[0].estimator
    assert release.evidence == evidence
    assert release.policy == Policy.default()
    assert release.gates.names[0] == "evidence.model_match"
    assert release.reviewer == "R. Reviewer" and release.threshold == evidence.threshold
    assert "R. Reviewer" in release._repr_html_() and "sim" in repr(release)


# ---------------------------------------------------------------------- load refusals
def test_one_byte_changed_in_the_model_is_tampered(bundle_copy):
    path = bundle_copy / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match=r"model\.skops") as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "tampered"


def test_hashes_are_checked_before_anything_is_deserialised(bundle_copy):
    # garbage that skops could not even open: the refusal is the hash, not a parse error
    (bundle_copy / "model.skops").write_bytes(b"not a zip file")
    (bundle_copy / "evidence.json").write_text("{", encoding="utf-8")
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "tampered"
    assert "evidence.json" in str(info.value) and "model.skops" in str(info.value)


@pytest.mark.parametrize("name", ["card.md", "card.html", "card.json", "policy.yaml"])
def test_an_edited_card_or_policy_is_tampered(bundle_copy, name):
    with open(bundle_copy / name, "a", encoding="utf-8") as fh:
        fh.write("\nedited after approval\n")
    with pytest.raises(ReleaseError, match=name.replace(".", r"\.")) as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "tampered"


def test_a_removed_file_is_tampered(bundle_copy):
    (bundle_copy / "profile.json").unlink()
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "tampered"


def test_an_unlisted_or_strange_file_name_in_the_manifest_is_tampered(bundle_copy):
    _rewrite_manifest(bundle_copy, lambda m: m["files"].update({"../evil.py": "0" * 64}))
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "tampered"


def test_an_expired_release_is_refused(bundle):
    until = dt.datetime(2025, 8, 30, 12, 0, tzinfo=dt.UTC)
    load_release(bundle, now=until - dt.timedelta(seconds=1))
    for now in (until, until + dt.timedelta(days=1)):
        with pytest.raises(ReleaseError, match="expired") as info:
            load_release(bundle, now=now)
        assert info.value.reason == "expired"


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["approval"].update(author="R. Reviewer"),
        lambda m: m["approval"].update(reviewer=""),
        lambda m: m["approval"].update(waivers={}),
        lambda m: m["approval"].update(decision_support_only=False),
        lambda m: m["approval"].update(valid_until="2025-01-01T00:00:00+00:00"),
    ],
)
def test_an_edited_approval_record_is_unapproved(bundle_copy, edit):
    _rewrite_manifest(bundle_copy, edit)
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy, now=NOW)
    assert info.value.reason == "unapproved"


def test_not_a_bundle(tmp_path):
    with pytest.raises(ReleaseError) as info:
        load_release(tmp_path, now=NOW)
    assert info.value.reason == "unreadable"


def test_verify_sees_changes_made_after_loading(bundle_copy):
    release = load_release(bundle_copy, now=NOW)
    release.verify(now=NOW)
    (bundle_copy / "card.md").write_text("# different card\n", encoding="utf-8")
    with pytest.raises(ReleaseError) as info:
        release.verify(now=NOW)
    assert info.value.reason == "tampered"


# ---------------------------------------------------------------------- approve refusals
def _approve(fitted, card, waivers, out, *, evidence=None, policy=None, **kw):
    model, default_evidence, _, _ = fitted
    args = dict(reviewer="R. Reviewer", author="A. Author", waivers=waivers, out=out, now=NOW)
    args.update(kw)
    return approve(model, evidence or default_evidence, card, policy or Policy.default(), **args)


def test_reviewer_must_not_be_the_author(fitted, card, waivers, tmp_path):
    out = tmp_path / "rel"
    for reviewer, author in [
        ("A. Author", "A. Author"),
        ("a. author ", "A. Author"),
        ("", "A. Author"),
        ("R. Reviewer", None),
    ]:
        with pytest.raises(PolicyViolation):
            _approve(fitted, card, waivers, out, reviewer=reviewer, author=author)
        _nothing_written(tmp_path, out)


def test_an_unwaived_failing_gate_is_refused_with_the_report(fitted, card, waivers, tmp_path):
    out = tmp_path / "rel"
    with pytest.raises(GateFailed, match=r"documentation\.card") as info:
        _approve(fitted, None, {k: v for k, v in waivers.items() if k != "documentation.card"}, out)
    assert info.value.report["documentation.card"].status == "insufficient_evidence"
    _nothing_written(tmp_path, out)
    policy = Policy.default().to_dict()
    policy["reliability"]["min_auc"] = 0.99
    policy["reliability"]["min_auc_lower"] = 0.99
    with pytest.raises(GateFailed, match=r"reliability\.auc") as info:
        _approve(fitted, card, waivers, out, policy=Policy.from_dict(policy))
    assert info.value.report["reliability.auc"].status == "fail"
    _nothing_written(tmp_path, out)


def test_a_warn_gate_needs_a_waiver(fitted, card, waivers, tmp_path):
    _, evidence, _, test = fitted
    frame = test.head(600).copy()
    frame["looks_like_sex"] = frame["sex"]
    scan = rm.fairness.proxy_scan(frame, ["age", "looks_like_sex"], "sex")
    warned = dataclasses.replace(evidence, proxies=scan)
    out = tmp_path / "rel"
    with pytest.raises(GateFailed, match=r"features\.proxies: warn"):
        _approve(
            fitted,
            card,
            {k: v for k, v in waivers.items() if k != "features.proxies"},
            out,
            evidence=warned,
        )
    _nothing_written(tmp_path, out)


def test_a_waiver_needs_a_reason(fitted, card, waivers, tmp_path):
    out = tmp_path / "rel"
    gate = next(iter(waivers))
    with pytest.raises(PolicyError) as info:
        _approve(fitted, card, {**waivers, gate: " "}, out)
    assert info.value.key == f"waivers.{gate}"
    _nothing_written(tmp_path, out)


def test_an_existing_bundle_is_never_overwritten(fitted, card, waivers, bundle):
    before = {p.name: sha256_file(p) for p in bundle.iterdir()}
    with pytest.raises(ReleaseError) as info:
        _approve(fitted, card, waivers, bundle)
    assert info.value.reason == "exists"
    assert {p.name: sha256_file(p) for p in bundle.iterdir()} == before


class HomeMadeClassifier(LogisticRegression):
    """A classifier skops does not know: it must not get into a release."""


def test_an_untrusted_type_is_refused_at_save_time(fitted, card, tmp_path):
    _, _, train, test = fitted
    model = rm.RiskModel(
        fitted[0].spec, estimator=HomeMadeClassifier(max_iter=500), calibration=None
    ).fit(train)
    evidence = model.assess(test, n_boot=20, fairness=False, explain=False)
    report = Policy.default().check(evidence, card=card, model=model)
    waive = {g.name: "test" for g in report if g.status != "pass"}
    out = tmp_path / "rel"
    with pytest.raises(ReleaseError, match="HomeMadeClassifier") as info:
        approve(
            model,
            evidence,
            card,
            Policy.default(),
            reviewer="R",
            author="A",
            waivers=waive,
            out=out,
            now=NOW,
        )
    assert info.value.reason == "untrusted_type"
    _nothing_written(tmp_path, out)


def test_a_failure_while_writing_leaves_nothing(fitted, card, waivers, tmp_path, monkeypatch):
    import riskmodels.release._bundle as bundle_module

    def broken_rename(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module.os, "rename", broken_rename)
    out = tmp_path / "rel"
    with pytest.raises(OSError, match="disk full"):
        _approve(fitted, card, waivers, out)
    _nothing_written(tmp_path, out)


# ---------------------------------------------------------------------- signatures
@pytest.fixture(scope="module")
def signed(fitted, card, waivers, tmp_path_factory):
    """A release signed by the reviewer, and a trust store holding their public key."""
    root = tmp_path_factory.mktemp("signed")
    store = root / "trust"
    store.mkdir()
    generate_signing_key(root / "reviewer.key", store / "r-reviewer.pem")
    out = root / "rel"
    _approve(fitted, card, waivers, out, signing_key=root / "reviewer.key", valid_for_days=10_000)
    return out, store


def test_validity_is_capped_by_the_policy(signed):
    m = _manifest(signed[0])
    assert m["approval"]["valid_for_days"] == Policy.default().validity.max_days
    assert m["approval"]["signed"] is True


def test_a_signed_release_verifies_against_the_trust_store(signed, monkeypatch):
    out, store = signed
    assert load_release(out, now=NOW, trust_store=store).signed_by == "r-reviewer"
    assert load_release(out, now=NOW).signed_by is None  # no store: not checked
    monkeypatch.setenv(TRUST_STORE_ENV, str(store))
    assert load_release(out, now=NOW).signed_by == "r-reviewer"


def test_an_edited_manifest_breaks_the_signature(signed, tmp_path):
    import shutil

    out, store = signed
    copy = tmp_path / "rel"
    shutil.copytree(out, copy)
    # extending the validity by hand passes every hash; only the signature catches it
    _rewrite_manifest(copy, lambda m: m["approval"].update(valid_until="2099-01-01T00:00:00+00:00"))
    load_release(copy, now=NOW)
    with pytest.raises(ReleaseError, match="signature") as info:
        load_release(copy, now=NOW, trust_store=store)
    assert info.value.reason == "tampered"


def test_unsigned_or_untrusted_signatures_are_unapproved(signed, bundle, tmp_path):
    out, store = signed
    with pytest.raises(ReleaseError, match="not signed") as info:
        load_release(bundle, now=NOW, trust_store=store)
    assert info.value.reason == "unapproved"
    other = tmp_path / "other-store"
    other.mkdir()
    generate_signing_key(tmp_path / "x.key", other / "someone-else.pem")
    with pytest.raises(ReleaseError, match="not in the trust store") as info:
        load_release(out, now=NOW, trust_store=other)
    assert info.value.reason == "unapproved"
    assert (out / SIGNATURE_FILE).is_file()
    assert oct(os.stat(tmp_path / "x.key").st_mode & 0o777) == "0o600"
