"""The registered model: an MLflow pyfunc that scores only through a verified release.

Importing this module imports MLflow; nothing in riskmodels imports it except the model
code :func:`riskmodels.tracking.register` stores with each model version (MLflow's
"models from code": the class is named in a short script, never pickled).
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

__all__ = ["RELEASE_ARTIFACT", "RiskListModel"]

#: The name of the model's artifact that holds the signed release bundle.
RELEASE_ARTIFACT = "release"


class RiskListModel(mlflow.pyfunc.PythonModel):
    """A release bundle as an MLflow pyfunc: ``predict`` is :func:`riskmodels.score`.

    ``load_context`` verifies the bundle MLflow downloaded (strict file set, every
    sha256, approvals against the site's trust store, gates, expiry) with
    :func:`riskmodels.load_release`; a bundle that fails is never loaded. ``predict``
    re-verifies it from disk, as every scoring run does, and needs a permitted purpose:
    ``model.predict(frame, params={"purpose": "prioritise_welfare_review"})``. Each call,
    refusals included, is one entry in the site's audit log.

    The trust store and audit log are the loading site's (``$RISKMODELS_TRUST_STORE``,
    ``$RISKMODELS_AUDIT_LOG`` or the per-user defaults; ``docs/sites.md``).
    """

    def load_context(self, context: Any) -> None:
        """Verify the bundle among the model's artifacts; ``ReleaseError`` if it fails."""
        from riskmodels.release import load_release

        self._release = load_release(context.artifacts[RELEASE_ARTIFACT])

    # MLflow 3 reads predict's type hints: a DataFrame hint passes the frame through as it
    # is (no schema inferred from hints; the signature stored with the model is the schema)
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score ``model_input`` for ``params["purpose"]``; returns the risk list's columns.

        Parameters
        ----------
        context : PythonModelContext
            MLflow's context (the release was verified from it in ``load_context``).
        model_input : DataFrame
            The people to score (columns of the model's input schema).
        params : dict
            ``purpose`` (required, one the release's policy permits) and ``explain``
            (``"flagged"``, ``"all"`` or ``"none"``; default ``"flagged"``).

        Returns
        -------
        DataFrame
            The risk list's frame (``RiskList.frame``): id, display columns, as_of,
            score, band, rank, status, reasons and the decision columns.

        Raises
        ------
        PolicyViolation
            No purpose, or one the policy prohibits or does not list (logged as a refusal).
        ReleaseError
            The bundle changed since it was loaded, or expired.
        """
        from riskmodels.errors import PolicyViolation
        from riskmodels.scoring import score

        given = params or {}
        purpose = given.get("purpose")
        try:
            # a missing purpose goes to score() too, so that its refusal is in the audit log
            risk_list = score(
                self._release,
                model_input,
                purpose=purpose,
                explain=given.get("explain") or "flagged",
            )
        except PolicyViolation as err:
            if not purpose:
                err.add_note(
                    "Name the purpose: model.predict(frame, params={'purpose': ...}); a "
                    "registered riskmodels release scores only for a purpose its policy permits."
                )
            raise
        return risk_list.frame
