"""The gated registry and the pyfunc model, against a real MLflow store in a temp folder:
promotion verifies the bundle (and the copy in the store), every load verifies again,
and the pyfunc scores exactly as rm.score does, only for a permitted purpose."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import riskmodels as rm
from riskmodels._io import sha256_bytes
from riskmodels.errors import PolicyViolation, ReleaseError
from riskmodels.policy import Policy
from riskmodels.release import add_approval, approve, load_private_key
from riskmodels.release._bundle import _approvals_bytes
from riskmodels.release._signing import sign_approval
from riskmodels.tracking import APPROVED_ALIAS, register

PURPOSE = "prioritise_welfare_review"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of this module's own; $MLFLOW_TRACKING_URI points at it, as a user's would
    (mlflow.pyfunc.load_model reads it from there)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        yield uri


@pytest.fixture(scope="module")
def registered(bundle, store):
    return register(bundle, "sim-risk")


@pytest.fixture(scope="module")
def people(fitted):
    _, _, _, test = fitted
    latest = test[test["snapshot_date"] == test["snapshot_date"].max()]
    return latest.drop(columns=["incident"]).reset_index(drop=True)


def _client(uri):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri)


def _versions(uri, name):
    return _client(uri).search_model_versions(f"name = '{name}'")


def test_approved_points_at_the_verified_version(registered, store, bundle):
    client = _client(store)
    version = client.get_model_version_by_alias("sim-risk", APPROVED_ALIAS)
    assert str(version.version) == registered.version
    release_id = sha256_bytes((bundle / "release.json").read_bytes())
    assert registered.release_id == release_id
    assert version.tags["riskmodels.verified"] == "true"
    assert version.tags["riskmodels.release_id"] == release_id
    run = client.get_run(registered.run_id)
    assert run.data.tags["riskmodels.step"] == "register"
    # the version's artifacts are the signed bundle, byte for byte
    stored = rm.tracking.load_registered_release(registered.model_uri)
    for f in bundle.iterdir():
        assert (stored.path / f.name).read_bytes() == f.read_bytes()


def test_scores_from_the_registry_and_the_pyfunc_equal_rm_score(registered, bundle, people):
    import mlflow

    direct = rm.score(bundle, people, purpose=PURPOSE, explain="none").frame
    via_registry = rm.score(registered.model_uri, people, purpose=PURPOSE, explain="none")
    pd.testing.assert_frame_equal(via_registry.frame, direct)
    assert via_registry.metadata["release_id"] == direct_release_id(bundle)

    model = mlflow.pyfunc.load_model(f"models:/sim-risk@{APPROVED_ALIAS}")
    predicted = model.predict(people, params={"purpose": PURPOSE, "explain": "none"})
    assert list(predicted.columns) == list(direct.columns)
    assert predicted["id"].tolist() == direct["id"].tolist()
    np.testing.assert_array_equal(predicted["score"].to_numpy(), direct["score"].to_numpy())
    assert predicted["status"].astype(str).tolist() == direct["status"].astype(str).tolist()

    # the signature: the columns scoring reads in, the risk list's columns out, a purpose
    signature = model.metadata.signature
    assert "sex" not in signature.inputs.input_names()  # protected: never read
    assert {"age", "wing", "record_id"} <= set(signature.inputs.input_names())
    assert signature.outputs.input_names() == list(direct.columns)
    assert "purpose" in [p.name for p in signature.params.params]


def direct_release_id(bundle):
    return sha256_bytes((bundle / "release.json").read_bytes())


def test_the_pyfunc_refuses_without_a_permitted_purpose(registered, people, site):
    import mlflow

    model = mlflow.pyfunc.load_model(registered.model_uri)
    before = len(rm.verify_audit_log(site.audit_log))
    with pytest.raises(PolicyViolation, match="Name the purpose"):
        model.predict(people)
    with pytest.raises(PolicyViolation, match="prohibited"):
        model.predict(people, params={"purpose": "sentencing"})
    entries = rm.verify_audit_log(site.audit_log)[before:]
    assert [e["event"] for e in entries] == ["refused", "refused"]


def test_the_environment_pins_riskmodels(registered):
    import mlflow

    local = mlflow.artifacts.download_artifacts(f"runs:/{registered.run_id}/model")
    with open(f"{local}/requirements.txt", encoding="utf-8") as fh:
        assert f"riskmodels=={rm.__version__}" in fh.read().split()


def test_an_untrusted_signature_is_refused_and_nothing_registered(
    fitted, card, waivers, site, store, tmp_path
):
    model, evidence, _, _ = fitted
    out = tmp_path / "mallory"
    approve(model, evidence, card, Policy.default(), reviewer="M. Mallory", author="A. Author",
            waivers=waivers, out=out, signing_key=site.key("mallory"))  # fmt: skip
    add_approval(out, signing_key=site.key("second"), reviewer="S. Second")
    with pytest.raises(ReleaseError) as err:
        register(out, "sim-untrusted")
    assert err.value.reason == "unapproved"
    assert _versions(store, "sim-untrusted") == []


def test_a_release_whose_gate_fails_is_refused_even_if_re_signed(bundle_copy, site, store):
    # insiders mark a gate failed, fix the hash and sign again with trusted keys: the
    # approval record no longer covers every gate, so the bundle is not validly approved
    manifest = json.loads((bundle_copy / "release.json").read_text(encoding="utf-8"))
    gates = json.loads((bundle_copy / "gates.json").read_text(encoding="utf-8"))
    passing = next(g for g in gates["gates"] if g["status"] == "pass")
    passing["status"] = "fail"
    raw = json.dumps(gates, indent=1).encode("utf-8")
    (bundle_copy / "gates.json").write_bytes(raw)
    manifest["files"]["gates.json"] = sha256_bytes(raw)
    manifest_bytes = json.dumps(manifest, indent=1, allow_nan=False).encode("utf-8")
    (bundle_copy / "release.json").write_bytes(manifest_bytes)
    release_id = sha256_bytes(manifest_bytes)
    entries = [
        sign_approval(release_id, load_private_key(site.key(who)), name, None, "2026-01-01")
        for who, name in (("reviewer", "R. Reviewer"), ("second", "S. Second"))
    ]
    (bundle_copy / "approvals.json").write_bytes(_approvals_bytes(entries))
    with pytest.raises(ReleaseError, match="gates neither passed nor waived") as err:
        register(bundle_copy, "sim-failed-gate")
    assert err.value.reason == "unapproved"
    assert _versions(store, "sim-failed-gate") == []


def test_an_artifact_changed_in_the_store_makes_loading_refuse(bundle, store, people):
    import mlflow

    registered = register(bundle, "sim-tampered")
    run = _client(store).get_run(registered.run_id)
    stored = run.info.artifact_uri.removeprefix("file://") + "/model/artifacts/release"
    policy = f"{stored}/policy.yaml"
    with open(policy, "a", encoding="utf-8") as fh:
        fh.write("\n# permitted_purposes: [sentencing]\n")
    with pytest.raises(ReleaseError) as err:
        mlflow.pyfunc.load_model(registered.model_uri)
    assert err.value.reason == "tampered"
    # whatever its alias, a version that fails verification is never scored
    with pytest.raises(ReleaseError) as err:
        rm.score(registered.model_uri, people, purpose=PURPOSE, explain="none")
    assert err.value.reason == "tampered"


def test_a_release_monitoring_suspended_is_refused(bundle, store, tmp_path):
    from riskmodels.scoring import append_entry

    log = tmp_path / "audit_log.jsonl"
    release_id = sha256_bytes((bundle / "release.json").read_bytes())
    append_entry(log, {"event": "suspended", "at": "2026-01-01T00:00:00+00:00",
                       "release_id": release_id, "indicator": "calibration.oe_by_group",
                       "reason": "observed/expected incidents out of bounds (test)."})  # fmt: skip
    with pytest.raises(ReleaseError) as err:
        register(bundle, "sim-suspended", audit_log=log)
    assert err.value.reason == "suspended"
    assert _versions(store, "sim-suspended") == []


def test_registry_uris_resolve_by_alias_or_version_and_anything_else_is_refused(
    registered, store, people, tmp_path
):
    import mlflow

    from riskmodels.errors import SchemaError
    from riskmodels.tracking import load_registered_release

    by_version = load_registered_release(f"models:/sim-risk/{registered.version}")
    assert by_version.release_id == registered.release_id
    with pytest.raises(SchemaError, match="models:/NAME@approved"):
        load_registered_release("models:/sim-risk")
    with pytest.raises(ReleaseError) as err:
        load_registered_release("models:/no-such-model@approved")
    assert err.value.reason == "unreadable"

    # someone points 'approved' at a version that is no riskmodels release: never scored
    client = _client(store)
    run = client.create_run(client.get_experiment_by_name("riskmodels").experiment_id)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
    client.log_artifacts(run.info.run_id, str(tmp_path / "model"), "model")
    client.create_registered_model("sim-other")
    v = client.create_model_version("sim-other", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias("sim-other", APPROVED_ALIAS, v.version)
    with pytest.raises(ReleaseError, match="no riskmodels release bundle") as err:
        rm.score("models:/sim-other@approved", people, purpose=PURPOSE, explain="none")
    assert err.value.reason == "unreadable"
    assert mlflow.get_tracking_uri() == store
