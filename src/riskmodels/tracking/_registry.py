"""The MLflow model registry, gated: a version is a signed release bundle, the alias
``approved`` is set only after the stored copy verifies, and every load verifies again.

MLflow's registry alone cannot enforce a gate (anyone with write access can move an
alias), so riskmodels checks the bundle itself when promoting, when scoring from a
``models:/`` URI and when MLflow loads the pyfunc.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodels._io import atomic_write_text
from riskmodels._progress import step
from riskmodels.errors import Problem, ReleaseError, SchemaError
from riskmodels.tracking._store import (
    DEFAULT_EXPERIMENT,
    STEP_TAG,
    client,
    find_run,
    quiet_mlflow,
    resolve_tracking_uri,
    write_run,
)

if TYPE_CHECKING:
    from riskmodels.release import Release

__all__ = [
    "APPROVED_ALIAS",
    "REGISTRY_PREFIX",
    "RELEASE_TAG",
    "RegisteredRelease",
    "is_registry_uri",
    "load_registered_release",
    "register",
]

#: The alias a version gets once its stored bundle has verified.
APPROVED_ALIAS = "approved"
REGISTRY_PREFIX = "models:/"
#: Tag naming the release a run or model version is about (sha256 of its release.json).
RELEASE_TAG = "riskmodels.release_id"
#: Model-version tag: ``true`` once the stored bundle verified, ``refused`` if it did not.
VERIFIED_TAG = "riskmodels.verified"
#: Where the bundle sits inside a registered model's folder (MLflow copies each pyfunc
#: artifact to ``artifacts/<folder name>``; the bundle is staged as a folder "release").
_BUNDLE_IN_MODEL = ("artifacts", "release")

#: The model code stored with each version (MLflow "models from code"): the class is
#: named, not pickled, so loading unpickles nothing.
_MODEL_CODE = '''"""A riskmodels release as an MLflow pyfunc (riskmodels.tracking.register)."""

import mlflow.models

from riskmodels.tracking._pyfunc import RiskListModel

mlflow.models.set_model(RiskListModel())
'''


@dataclass(frozen=True)
class RegisteredRelease:
    """A model version registered by :func:`register`, with the alias ``approved``.

    Attributes
    ----------
    name, version : str
        The registered model and its version.
    run_id : str
        The run that holds the model (tag ``riskmodels.step`` = ``register``).
    release_id : str
        sha256 of the bundle's ``release.json`` (binds every file and the approvals).
    tracking_uri : str
        The store it was registered in.
    """

    name: str
    version: str
    run_id: str
    release_id: str
    tracking_uri: str

    @property
    def model_uri(self) -> str:
        """``models:/NAME@approved``: for ``rm.score`` and ``mlflow.pyfunc.load_model``."""
        return f"{REGISTRY_PREFIX}{self.name}@{APPROVED_ALIAS}"


def is_registry_uri(release: Any) -> bool:
    """True for a ``models:/...`` URI (scoring resolves it through the registry).

    >>> is_registry_uri("models:/self-harm@approved"), is_registry_uri("releases/v1")
    (True, False)
    """
    return isinstance(release, str) and release.startswith(REGISTRY_PREFIX)


# ---------------------------------------------------------------------- signature
def _signature(release: Release) -> Any:
    """Input: the columns scoring reads; output: the risk list's columns; params: purpose
    (no default: a call without one is refused) and explain.

    Input types are left to riskmodels (``Any``): MLflow's enforcement refuses an integer
    column for ``double`` and a categorical for ``string``, where the dataset spec's own
    validation accepts both and names any real problem with its column and a hint.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    from riskmodels.scoring import DECISION_COLUMNS
    from riskmodels.scoring._score import _display_columns

    spec = release.spec
    shown = _display_columns(spec)
    # the columns score() reads (scoring/_score.py, _validated_source)
    read = [*spec.columns(target=False, protected=False), *release.model.features_, *shown]
    inputs = Schema([ColSpec(AnyType(), c) for c in dict.fromkeys(read)])
    out = [ColSpec(AnyType(), "id"), *(ColSpec(AnyType(), c) for c in shown)]
    if spec.time:
        out.append(ColSpec("datetime", "as_of"))
    out += [
        ColSpec("double", "score", required=False),  # missing: insufficient_basis
        ColSpec("double", "score_low", required=False),
        ColSpec("double", "score_high", required=False),
        ColSpec("string", "band", required=False),
        ColSpec("long", "rank", required=False),
        ColSpec("string", "status"),
        ColSpec("string", "reasons", required=False),
        *(ColSpec("string", c, required=False) for c in DECISION_COLUMNS),
    ]
    params = ParamSchema(
        [ParamSpec("purpose", "string", None), ParamSpec("explain", "string", "flagged")]
    )
    return ModelSignature(inputs=inputs, outputs=Schema(out), params=params)


def _save_pyfunc(release: Release, bundle: Path, out: Path) -> None:
    """The MLflow model folder: model code, the bundle as its one artifact, signature,
    and an environment pinning riskmodels (and MLflow)."""
    import mlflow

    code = out.parent / "riskmodels_model.py"
    atomic_write_text(code, _MODEL_CODE)
    with warnings.catch_warnings():
        # An input example would be people's records stored in the registry: never.
        warnings.filterwarnings("ignore", message=".*An input example was not provided")
        _save(mlflow, release, bundle, code, out)


def _save(mlflow: Any, release: Release, bundle: Path, code: Path, out: Path) -> None:
    from riskmodels._version import __version__
    from riskmodels.tracking._pyfunc import RELEASE_ARTIFACT

    mlflow.pyfunc.save_model(
        str(out),
        python_model=str(code),
        artifacts={RELEASE_ARTIFACT: str(bundle)},
        signature=_signature(release),
        # explicit, so MLflow does not load the model in a subprocess to infer them
        pip_requirements=[f"riskmodels=={__version__}", f"mlflow=={mlflow.__version__}"],
        metadata={
            "riskmodels_release_id": release.release_id,
            "riskmodels_version": __version__,
            "decision_support_only": True,
        },
    )


# ---------------------------------------------------------------------- register
def _bundle_path(release: Release | str | os.PathLike[str]) -> Path:
    from riskmodels.release import Release

    return release.path if isinstance(release, Release) else Path(release)


def _check_not_suspended(release: Release, trust_store: Any, audit_log: Any, store: Any) -> None:
    """Refuse a release monitoring has suspended, exactly as scoring does (the suspension
    is read from the site's verified audit log; a site without a log has suspended
    nothing)."""
    from riskmodels.scoring import verify_audit_log
    from riskmodels.scoring._audit_log import resolve_audit_log
    from riskmodels.scoring._store import check_not_suspended, resolve_store

    log = resolve_audit_log(audit_log)
    if log.exists():
        check_not_suspended(release, verify_audit_log(log), resolve_store(store, log), trust_store)


def _stage(source: Path, staged: Path, trust_store: Any) -> Release:
    """Copy the bundle and verify the copy: what is registered is exactly what verified."""
    from riskmodels.release import load_release

    if not source.is_dir() or source.is_symlink():
        raise ReleaseError(
            f"{source} is not a release bundle folder", reason="unreadable", path=str(source)
        )
    # symlinks stay symlinks, so the copy is refused exactly as the original would be
    shutil.copytree(source, staged, symlinks=True)
    verified = load_release(staged, trust_store=trust_store)
    if verified.development:
        raise ReleaseError(
            f"{source} is a development release: it is not approved for operational use, so "
            f"it is not registered with the alias {APPROVED_ALIAS!r}. Approve a production "
            "release (signed by the policy's approvers) to register it.",
            reason="unapproved",
            path=str(source),
        )
    return verified


def _version_tags(release: Release) -> dict[str, str]:
    return {
        RELEASE_TAG: release.release_id,
        "riskmodels.model_name": release.name,
        "riskmodels.model_version": release.version,
        "riskmodels.approved_by": ", ".join(release.signed_by),
        "riskmodels.valid_until": release.valid_until.isoformat(timespec="seconds"),
        "riskmodels.gates": release.gates.summary(),
        "riskmodels.waived": ", ".join(sorted(release.waivers)) or "none",
        "riskmodels.permitted_purposes": ", ".join(release.policy.permitted_purposes),
        "riskmodels.decision_support_only": "true",
    }


def _create_version(mlflow_client: Any, name: str, run_id: str, release: Release) -> str:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    try:
        mlflow_client.create_registered_model(
            name,
            description=(
                "riskmodels release bundles (decision support only). Each version holds a "
                "signed bundle; the alias 'approved' is set by riskmodels.tracking.register "
                "only after the stored copy verified, and every load verifies it again."
            ),
        )
    except MlflowException as err:
        if err.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
    version = mlflow_client.create_model_version(
        name, f"runs:/{run_id}/model", run_id=run_id, tags=_version_tags(release)
    )
    return str(version.version)


def register(
    release: Release | str | os.PathLike[str],
    name: str,
    *,
    trust_store: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    monitoring_store: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> RegisteredRelease:
    """Register a signed release as a model version and point the alias ``approved`` at it.

    In order: the bundle is copied and the copy verified with
    :func:`riskmodels.load_release` and the site's trust store (strict file set, every
    sha256, enough trusted approvals, every gate passed or waived, expiry) and, when the
    site has an audit log, checked not to be suspended by monitoring; it is saved
    as an MLflow pyfunc (:class:`~riskmodels.tracking._pyfunc.RiskListModel`, whose
    artifact is the bundle) in a run tagged ``riskmodels.step=register`` (linked to the
    ``approve`` run of the same release when the store has one), and registered as a new
    version of ``name``. The version's stored copy is then downloaded from the store and
    verified again; only then is ``approved`` set on it. A version whose stored copy
    fails is tagged ``riskmodels.verified=refused`` and gets no alias.

    The registry cannot stop someone with write access from moving the alias to another
    version: that is why :func:`riskmodels.score` and the pyfunc verify whatever version
    they are given, every time, and refuse one that fails.

    Parameters
    ----------
    release : Release or path
        An approved production release bundle (a development release is refused).
    name : str
        The registered model's name (created if new).
    trust_store : path, optional
        The site's trust store (default ``$RISKMODELS_TRUST_STORE``, else the per-user one).
    audit_log : path, optional
        The site's audit log, where monitoring records suspensions (default
        ``$RISKMODELS_AUDIT_LOG``, else the per-user one; ``docs/sites.md``).
    monitoring_store : URL or path, optional
        The site's monitoring store, which holds signed reinstatements (default
        ``$RISKMODELS_MONITORING_URL``, else ``monitoring.db`` beside the audit log).
    tracking_uri : str, optional
        Default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the working folder.
    experiment : str, default "riskmodels"
        The experiment of the registering run.

    Returns
    -------
    RegisteredRelease
        Name, version, run id and release id; ``model_uri`` is ``models:/NAME@approved``.

    Raises
    ------
    ReleaseError
        The bundle does not verify: ``"unapproved"`` (a signature not in the trust store,
        too few approvals, a gate neither passed nor waived, a development release),
        ``"tampered"``, ``"expired"``, ``"unreadable"``, ``"suspended"`` (by monitoring,
        not reinstated); or the copy in the store does not verify (nothing is aliased).

    Examples
    --------
    >>> registered = register("releases/self-harm-v1", "self-harm")  # doctest: +SKIP
    >>> purpose = "prioritise_welfare_review"  # doctest: +SKIP
    >>> rm.score(registered.model_uri, people, purpose=purpose)  # doctest: +SKIP

    (Skipped in the doctests: it needs an approved release and an MLflow store;
    ``tests/tracking/test_registry.py`` runs it against a real one.)
    """
    uri = resolve_tracking_uri(tracking_uri)
    with step(f"Registering {name}") as progress, tempfile.TemporaryDirectory() as tmp:
        progress.stage("verifying the release")
        staged = Path(tmp) / "release"
        verified = _stage(_bundle_path(release), staged, trust_store)
        _check_not_suspended(verified, trust_store, audit_log, monitoring_store)
        progress.stage("starting MLflow")
        with quiet_mlflow():
            mlflow_client = client(uri)
            progress.stage("saving the model")
            _save_pyfunc(verified, staged, Path(tmp) / "run" / "model")
            run_id = write_run(
                mlflow_client,
                experiment,
                uri,
                run_name=f"register {name} ({verified.name} {verified.version})",
                params={"registered_model": name, "model_version": verified.version},
                tags={
                    STEP_TAG: "register",
                    RELEASE_TAG: verified.release_id,
                    "riskmodels.model_name": verified.name,
                    "riskmodels.gates": verified.gates.summary(),
                },
                artifacts=Path(tmp) / "run",
                parent_run_id=find_run(
                    mlflow_client, experiment, "approve", RELEASE_TAG, verified.release_id
                ),
            )
            version = _create_version(mlflow_client, name, run_id, verified)
            progress.stage("verifying the stored copy")
            try:
                stored = _download_verified(mlflow_client, uri, name, version, trust_store)
            except ReleaseError:
                mlflow_client.set_model_version_tag(name, version, VERIFIED_TAG, "refused")
                raise
            if stored.release_id != verified.release_id:
                mlflow_client.set_model_version_tag(name, version, VERIFIED_TAG, "refused")
                raise ReleaseError(
                    f"Version {version} of {name} holds another release than the one registered",
                    reason="tampered",
                    path=f"{REGISTRY_PREFIX}{name}/{version}",
                )
            mlflow_client.set_model_version_tag(name, version, VERIFIED_TAG, "true")
            mlflow_client.set_registered_model_alias(name, APPROVED_ALIAS, version)
    return RegisteredRelease(name, version, run_id, verified.release_id, uri)


# ---------------------------------------------------------------------- load
def _parse(uri: str) -> tuple[str, str, bool]:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` -> (name, ref, is_alias)."""
    body = uri[len(REGISTRY_PREFIX) :]
    name, at, alias = body.rpartition("@")
    if at and name and alias:
        return name, alias, True
    name, slash, version = body.rpartition("/")
    if slash and name and version.isdigit():
        return name, version, False
    raise SchemaError(
        Problem("release", f"{uri!r} is not a registry URI riskmodels reads", "use "
                f"models:/NAME@{APPROVED_ALIAS} or models:/NAME/VERSION"),
        context="Invalid registry URI",
    )  # fmt: skip


def _download_verified(
    mlflow_client: Any, uri: str, name: str, version: str, trust_store: Any
) -> Release:
    """Download one version's files to a new temporary folder and verify the bundle in
    it exactly as a folder is verified. The folder lives as long as the Release."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from riskmodels.release import load_release

    where = f"{REGISTRY_PREFIX}{name}/{version}"
    tmp = tempfile.mkdtemp(prefix="riskmodels-registry-")
    try:
        try:
            source = mlflow_client.get_model_version_download_uri(name, version)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=tmp, tracking_uri=uri
            )
        except MlflowException as err:
            raise ReleaseError(
                f"{where} cannot be downloaded from {uri}: {err.message}",
                reason="unreadable",
                path=where,
            ) from None
        bundle = Path(local).joinpath(*_BUNDLE_IN_MODEL)
        if not bundle.is_dir():
            raise ReleaseError(
                f"{where} holds no riskmodels release bundle (no {'/'.join(_BUNDLE_IN_MODEL)}): "
                "only versions registered with riskmodels.tracking.register score",
                reason="unreadable",
                path=where,
            )
        release = load_release(bundle, trust_store=trust_store)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    weakref.finalize(release, shutil.rmtree, tmp, True)
    release.notes.append(f"verified from the registry: {where} in {uri}")
    return release


def load_registered_release(
    model_uri: str,
    *,
    trust_store: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> Release:
    """Resolve ``models:/NAME@ALIAS`` (or ``/VERSION``), download that version's bundle to
    a temporary folder and verify it exactly as :func:`riskmodels.load_release` verifies
    a folder. Whatever its alias, a version whose bundle fails is never loaded.

    Parameters
    ----------
    model_uri : str
        ``models:/NAME@approved`` or ``models:/NAME/VERSION``.
    trust_store : path, optional
        The site's trust store.
    tracking_uri : str, optional
        Default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.

    Returns
    -------
    Release
        Its ``path`` is the temporary folder, removed when the Release is garbage
        collected; ``notes`` names the version it came from.

    Raises
    ------
    ReleaseError
        The version cannot be found or downloaded (``"unreadable"``), or its bundle does
        not verify (``"tampered"``, ``"unapproved"``, ``"expired"``, ...).
    SchemaError
        ``model_uri`` is not a registry URI riskmodels reads.
    """
    from mlflow.exceptions import MlflowException

    name, ref, is_alias = _parse(model_uri)
    uri = resolve_tracking_uri(tracking_uri)
    with quiet_mlflow():
        mlflow_client = client(uri)
        version = ref
        if is_alias:
            try:
                version = str(mlflow_client.get_model_version_by_alias(name, ref).version)
            except MlflowException as err:
                raise ReleaseError(
                    f"{model_uri} cannot be resolved in {uri}: {err.message}",
                    reason="unreadable",
                    path=model_uri,
                ) from None
        return _download_verified(mlflow_client, uri, name, version, trust_store)
