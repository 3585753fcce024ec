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
    APPROVALS_FILE,
    CARD_FILES,
    MANIFEST,
    REQUIRED_FILES,
    TRUSTED_TYPES,
    Release,
    add_approval,
    approve,
    load_release,
)


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
    assert names == {*REQUIRED_FILES, *CARD_FILES, MANIFEST, APPROVALS_FILE}
    m = _manifest(bundle)
    assert set(m["files"]) == names - {MANIFEST, APPROVALS_FILE}
    for name, digest in m["files"].items():
        assert sha256_file(bundle / name) == digest
    a = m["approval"]
    assert (a["reviewer"], a["author"]) == ("R. Reviewer", "A. Author")
    start = dt.datetime.fromisoformat(a["approved_at"])
    assert abs(dt.datetime.now(dt.UTC) - start) < dt.timedelta(hours=1)  # the system clock
    assert dt.datetime.fromisoformat(a["valid_until"]) - start == dt.timedelta(days=90)
    assert (a["environment"], a["approvals_required"]) == ("production", 2)
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
    release = load_release(bundle)
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
        load_release(bundle_copy)
    assert info.value.reason == "tampered"


def test_hashes_are_checked_before_anything_is_deserialised(bundle_copy):
    # garbage that skops could not even open: the refusal is the hash, not a parse error
    (bundle_copy / "model.skops").write_bytes(b"not a zip file")
    (bundle_copy / "evidence.json").write_text("{", encoding="utf-8")
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy)
    assert info.value.reason == "tampered"
    assert "evidence.json" in str(info.value) and "model.skops" in str(info.value)


@pytest.mark.parametrize("name", ["card.md", "card.html", "card.json", "policy.yaml"])
def test_an_edited_card_or_policy_is_tampered(bundle_copy, name):
    with open(bundle_copy / name, "a", encoding="utf-8") as fh:
        fh.write("\nedited after approval\n")
    with pytest.raises(ReleaseError, match=name.replace(".", r"\.")) as info:
        load_release(bundle_copy)
    assert info.value.reason == "tampered"


def test_a_removed_file_is_tampered(bundle_copy):
    (bundle_copy / "profile.json").unlink()
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy)
    assert info.value.reason == "tampered"


def test_an_unlisted_or_strange_file_name_in_the_manifest_is_tampered(bundle_copy):
    _rewrite_manifest(bundle_copy, lambda m: m["files"].update({"../evil.py": "0" * 64}))
    with pytest.raises(ReleaseError) as info:
        load_release(bundle_copy)
    assert info.value.reason == "tampered"


def _clock_at(monkeypatch, when):
    # the testing hook for the system clock (not public API, unreachable from the CLI)
    monkeypatch.setattr("riskmodels._clock.now", lambda: when)


def test_an_expired_release_is_refused(bundle, monkeypatch):
    until = dt.datetime.fromisoformat(_manifest(bundle)["approval"]["valid_until"])
    _clock_at(monkeypatch, until - dt.timedelta(seconds=1))
    load_release(bundle)
    for now in (until, until + dt.timedelta(days=1)):
        _clock_at(monkeypatch, now)
        with pytest.raises(ReleaseError, match="expired") as info:
            load_release(bundle)
        assert info.value.reason == "expired"
    start = dt.datetime.fromisoformat(_manifest(bundle)["approval"]["valid_from"])
    _clock_at(monkeypatch, start - dt.timedelta(days=1))  # a clock set back
    with pytest.raises(ReleaseError, match="check the clock"):
        load_release(bundle)


def test_no_public_function_accepts_a_claimed_time():
    import inspect

    for fn in (rm.score, load_release, approve, add_approval, Release.verify):
        assert "now" not in inspect.signature(fn).parameters, fn


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
        load_release(bundle_copy)
    assert info.value.reason == "unapproved"


def test_not_a_bundle(tmp_path):
    with pytest.raises(ReleaseError) as info:
        load_release(tmp_path)
    assert info.value.reason == "unreadable"


def test_verify_sees_changes_made_after_loading(bundle_copy):
    release = load_release(bundle_copy)
    release.verify()
    (bundle_copy / "card.md").write_text("# different card\n", encoding="utf-8")
    with pytest.raises(ReleaseError) as info:
        release.verify()
    assert info.value.reason == "tampered"


# ---------------------------------------------------------------------- approve refusals
def _approve(fitted, card, waivers, out, *, evidence=None, policy=None, **kw):
    model, default_evidence, _, _ = fitted
    args = dict(reviewer="R. Reviewer", author="A. Author", waivers=waivers, out=out)
    args.setdefault("signing_key", SITE_KEYS["reviewer"])
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
    report = Policy.default().check(evidence, model=model, context=card.context)
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
            signing_key=SITE_KEYS["reviewer"],
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


# ---------------------------------------------------------------------- approvals
SITE_KEYS: dict = {}


@pytest.fixture(autouse=True)
def _site_keys(site):
    SITE_KEYS.update({k: site.key(k) for k in ("reviewer", "second", "author", "mallory")})


def test_validity_is_capped_by_the_policy(fitted, card, waivers, tmp_path):
    _approve(fitted, card, waivers, tmp_path / "rel", valid_for_days=10_000)
    m = _manifest(tmp_path / "rel")
    assert m["approval"]["valid_for_days"] == Policy.default().validity.max_days


def test_a_two_approver_release_verifies_against_the_trust_store(bundle, site):
    release = load_release(bundle)
    assert release.signed_by == ["R. Reviewer", "S. Second"]
    assert all(f.startswith("SHA256:") for f in release.approval_fingerprints)
    assert load_release(bundle, trust_store=site.trust_store).signed_by == release.signed_by


def test_one_approval_where_two_are_required_is_unapproved(fitted, card, waivers, tmp_path):
    out = tmp_path / "rel"
    release = _approve(fitted, card, waivers, out)  # written, but only one approval
    assert release.approvals == []  # not verified for scoring yet
    with pytest.raises(ReleaseError, match="1 valid approval") as info:
        load_release(out)
    assert info.value.reason == "unapproved"
    with pytest.raises(PolicyViolation, match="already approved"):
        add_approval(out, signing_key=SITE_KEYS["reviewer"], reviewer="R. Reviewer")
    with pytest.raises(PolicyViolation, match="author"):
        add_approval(out, signing_key=SITE_KEYS["author"], reviewer="A. Author")
    add_approval(out, signing_key=SITE_KEYS["second"], reviewer="S. Second")
    assert load_release(out).signed_by == ["R. Reviewer", "S. Second"]


def _entries(path):
    return json.loads((path / APPROVALS_FILE).read_text(encoding="utf-8"))


def _write_entries(path, entries):
    # as riskmodels writes approvals.json (any other form is refused as tampered)
    (path / APPROVALS_FILE).write_bytes(
        json.dumps(entries, indent=1, ensure_ascii=False).encode("utf-8")
    )


def _refused(path, reason="unapproved", match=None):
    with pytest.raises(ReleaseError, match=match) as info:
        load_release(path)
    assert info.value.reason == reason, info.value
    return info.value


def _sign(who, release_id, signer, signed_at, role=None):
    from riskmodels.release._signing import load_private_key, sign_approval

    return sign_approval(release_id, load_private_key(SITE_KEYS[who]), signer, role, signed_at)


def test_approvals_json_must_be_exactly_as_written(bundle_copy):
    entries = _entries(bundle_copy)
    (bundle_copy / APPROVALS_FILE).write_text(json.dumps(entries), encoding="utf-8")
    _refused(bundle_copy, reason="tampered", match="as riskmodels writes it")
    _write_entries(bundle_copy, [{**entries[0], "note": "trust me"}, entries[1]])
    _refused(bundle_copy, reason="tampered", match="as riskmodels writes it")


def test_the_same_key_twice_counts_once(bundle_copy):
    first = _entries(bundle_copy)[0]
    _write_entries(bundle_copy, [first, first])
    _refused(bundle_copy, match="one key counts once")


def test_an_untrusted_key_does_not_count(bundle_copy):
    release_id = load_release(bundle_copy).release_id
    first = _entries(bundle_copy)[0]
    forged = _sign("mallory", release_id, "S. Second", first["signed_at"])
    _write_entries(bundle_copy, [first, forged])
    _refused(bundle_copy, match="not in the trust store")


def test_the_author_approving_does_not_count(bundle_copy):
    release_id = load_release(bundle_copy).release_id
    first = _entries(bundle_copy)[0]
    # the author's key is in the trust store (as "A. Author"), whatever name they sign as
    posing = _sign("author", release_id, "Someone Else", first["signed_at"])
    _write_entries(bundle_copy, [first, posing])
    _refused(bundle_copy, match="author")


def test_a_signature_over_another_manifest_does_not_count(bundle_copy):
    first = _entries(bundle_copy)[0]
    other = _sign("second", "0" * 64, "S. Second", first["signed_at"])
    _write_entries(bundle_copy, [first, other])
    _refused(bundle_copy, match="does not match this release")


def test_an_unsigned_release_is_refused_outside_development(bundle_copy):
    (bundle_copy / APPROVALS_FILE).unlink()
    _refused(bundle_copy, match="not signed")


def test_no_trust_store_means_no_release(bundle, tmp_path, monkeypatch):
    from riskmodels.release import TRUST_STORE_ENV

    monkeypatch.setenv(TRUST_STORE_ENV, str(tmp_path / "nowhere"))
    _refused(bundle, match="No trust store")
    monkeypatch.delenv(TRUST_STORE_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the per-user default
    _refused(bundle, match="No trust store")


def test_an_edited_manifest_breaks_every_approval(bundle_copy):
    # extending the validity by hand: every signature was over the old manifest
    _rewrite_manifest(
        bundle_copy, lambda m: m["approval"].update(valid_until="2099-01-01T00:00:00+00:00")
    )
    _refused(bundle_copy, match="0 valid approval")


def test_production_needs_a_signing_key(fitted, card, waivers, tmp_path):
    out = tmp_path / "rel"
    with pytest.raises(PolicyViolation, match="must be signed"):
        _approve(fitted, card, waivers, out, signing_key=None)
    _nothing_written(tmp_path, out)


def test_a_development_release_loads_unsigned_only_for_development_use(
    fitted, card, waivers, tmp_path
):
    d = Policy.default().to_dict()
    d["environment"] = "development"
    with pytest.raises(PolicyError, match="development policy") as info:
        Policy.from_dict(d)  # still permits operational purposes
    assert info.value.key == "permitted_purposes"
    d["permitted_purposes"] = ["development_testing"]
    out = tmp_path / "rel"
    release = _approve(fitted, card, waivers, out, policy=Policy.from_dict(d), signing_key=None)
    assert release.development and not (out / APPROVALS_FILE).exists()
    assert load_release(out).development
    # making it claim production again breaks the policy's hash
    (out / "policy.yaml").write_text("environment: production\n", encoding="utf-8")
    _refused(out, reason="tampered")


def test_roles_must_each_be_claimed(fitted, card, waivers, tmp_path):
    d = Policy.default().to_dict()
    d["approvals"]["roles"] = ["model_owner", "ethics_reviewer"]
    policy = Policy.from_dict(d)
    out = tmp_path / "rel"
    _approve(fitted, card, waivers, out, policy=policy, role="model_owner")
    add_approval(out, signing_key=SITE_KEYS["second"], reviewer="S. Second")  # no role
    _refused(out, match="ethics_reviewer")
    out2 = tmp_path / "rel2"
    _approve(fitted, card, waivers, out2, policy=policy, role="model_owner")
    add_approval(
        out2, signing_key=SITE_KEYS["second"], reviewer="S. Second", role="ethics_reviewer"
    )
    assert len(load_release(out2).approvals) == 2


def test_keys_are_private_and_a_wrong_passphrase_is_one_clear_error(tmp_path):
    from riskmodels.release import generate_signing_key, load_private_key

    generate_signing_key(tmp_path / "k.key", tmp_path / "k.pem", password=b"correct horse")
    assert oct(os.stat(tmp_path / "k.key").st_mode & 0o777) == "0o600"
    with pytest.raises(ReleaseError, match="Wrong passphrase") as info:
        load_private_key(tmp_path / "k.key", b"wrong")
    assert info.value.reason == "unreadable"
    with pytest.raises(ReleaseError, match="protected by a passphrase"):
        load_private_key(tmp_path / "k.key")
    assert load_private_key(tmp_path / "k.key", "correct horse") is not None


# ---------------------------------------------------------------------- a strict bundle
def test_an_extra_file_is_tampered(bundle_copy):
    (bundle_copy / "loader.py").write_text("import os\n", encoding="utf-8")
    _refused(bundle_copy, reason="tampered", match="loader.py")


def test_a_symlinked_file_is_tampered(bundle_copy, tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_bytes((bundle_copy / "card.md").read_bytes())
    (bundle_copy / "card.md").unlink()
    (bundle_copy / "card.md").symlink_to(outside)
    _refused(bundle_copy, reason="tampered", match="not a regular file")


def test_a_folder_inside_the_bundle_is_tampered(bundle_copy):
    (bundle_copy / "extra").mkdir()
    _refused(bundle_copy, reason="tampered", match="not a regular file")


def test_an_oversized_file_is_tampered(bundle_copy, monkeypatch):
    import riskmodels.release._bundle as bundle_module

    monkeypatch.setattr(bundle_module, "MAX_FILE_BYTES", 1000)
    _refused(bundle_copy, reason="tampered", match="over the cap")


@pytest.mark.parametrize(
    "content",
    [b"not a zip file", b"PK\x03\x04 truncated", "zip-without-schema", "zip-bad-schema"],
)
def test_a_malformed_model_file_is_a_release_error(bundle_copy, content):
    # A model.skops that matches its (re-signed) hash but is not a valid skops file: what
    # an insider holding both approvers' keys could ship. Loading must still fail as a
    # ReleaseError, never as zipfile.BadZipFile, KeyError or TypeError.
    import zipfile

    path = bundle_copy / "model.skops"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as z:
            if content == "zip-bad-schema":
                z.writestr("schema.json", '{"__class__": "dict", "content": 3}')
            else:
                z.writestr("other.txt", "x")
    _resign(bundle_copy)
    _refused(bundle_copy, reason="unreadable", match="cannot be read")


def _resign(path):
    """Re-hash every file into release.json and re-sign it with the site's two approvers
    (an insider holding both keys): what matters here is what loading does with the
    content."""
    from riskmodels._io import sha256_bytes

    m = _manifest(path)
    m["files"] = {n: sha256_file(path / n) for n in m["files"]}
    raw = json.dumps(m, indent=1).encode("utf-8")
    (path / MANIFEST).write_bytes(raw)
    at = m["approval"]["approved_at"]
    rid = sha256_bytes(raw)
    _write_entries(
        path, [_sign("reviewer", rid, "R. Reviewer", at), _sign("second", rid, "S. Second", at)]
    )
