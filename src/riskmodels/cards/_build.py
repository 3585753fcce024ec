"""Assemble a card's document (plain JSON data) and figures from a model and its evidence.

Every number in the document is copied from the :class:`~riskmodels.Evidence` (or the
model) unrounded; renderers only format it. Group tables pass through statistical
disclosure control (:mod:`riskmodels.cards._sdc`) before they reach the document, so no
format can leak a withheld count.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from riskmodels.cards._context import REQUIRED_FIELDS, TO_BE_COMPLETED, CardContext
from riskmodels.cards._plots import (
    CardFigure,
    calibration_figure,
    fairness_figure,
    importance_figure,
    roc_figure,
)
from riskmodels.cards._sdc import redact_small_counts, suppressed_rates, withheld_counts
from riskmodels.cards._text import (
    CANNOT_KNOW,
    CRITERIA,
    DECISION_SUPPORT_STATEMENT,
    LABEL_BIAS,
    METRIC_TEXT,
    STANDING_PROHIBITIONS,
    TRADEOFF,
)
from riskmodels.errors import Problem, SchemaError

__all__ = ["SCHEMA_ID", "SECTIONS", "build_document", "draw_figures"]

SCHEMA_ID = "riskmodels.cards.ModelCard/1"

#: The card's sections: JSON key and heading, in reading order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("prohibited_uses", "Prohibited and out-of-scope uses"),
    ("factors", "Factors: protected characteristics and proxies"),
    ("metrics", "Performance"),
    ("calibration", "Calibration"),
    ("fairness", "Fairness"),
    ("explanations", "Explanations"),
    ("data", "Training and evaluation data"),
    ("limitations", "Limitations"),
    ("ethical_considerations", "Ethical considerations"),
    ("gate", "Policy gate report"),
    ("lifecycle", "Lifecycle"),
)

#: Which section shows each owner-supplied field (for the "to be completed" list).
FIELD_SECTION = {
    "owner_organisation": "model_details",
    "owner_team": "model_details",
    "senior_responsible_owner": "model_details",
    "contact": "model_details",
    "intended_use": "intended_use",
    "intended_users": "intended_use",
    "permitted_uses": "intended_use",
    "decision_process": "intended_use",
    "human_review": "intended_use",
    "appeal_route": "intended_use",
    "prohibited_uses": "prohibited_uses",
    "out_of_scope_uses": "prohibited_uses",
    "dpia_reference": "ethical_considerations",
    "eqia_reference": "ethical_considerations",
    "ethical_considerations": "ethical_considerations",
    "caveats": "limitations",
}

#: Group metrics published in the card's JSON (every one of the audit's).
GROUP_METRICS = (
    "base_rate",
    "selection_rate",
    "tpr",
    "fpr",
    "fnr",
    "tnr",
    "ppv",
    "npv",
    "auc",
    "brier",
    "ece",
    "oe_ratio",
)
_GAP_METRICS = ("selection_rate", "tpr", "fpr", "ppv")


# ---------------------------------------------------------------------- helpers
def _num(x: Any) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(x: Any) -> int | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return int(x)


def _estimate(e: Any) -> dict[str, Any]:
    """An ``Estimate`` as plain JSON (non-finite values become None)."""
    return {
        "value": _num(e.value),
        "lo": _num(e.lo),
        "hi": _num(e.hi),
        "n": int(e.n),
        "status": str(e.status),
        "reason": str(e.reason),
    }


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "attribute"


def _generated_at(value: str | dt.datetime | dt.date | None) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat()
    if isinstance(value, str):
        return value
    # Reproducible builds convention: a fixed clock when SOURCE_DATE_EPOCH is set.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat(timespec="seconds")
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    """Read ``obj.a.b`` or ``obj["a"]["b"]`` (policy and release objects or mappings)."""
    for key in path:
        if obj is None:
            return default
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if obj is None else obj


def coerce_context(context: Any) -> CardContext:
    """A :class:`CardContext` from a context, a mapping, a YAML path or None."""
    if context is None:
        return CardContext()
    if isinstance(context, CardContext):
        return context
    if isinstance(context, Mapping):
        return CardContext(**dict(context))
    if isinstance(context, str | os.PathLike):
        return CardContext.from_yaml(context)
    raise SchemaError(
        Problem(
            "context",
            f"expected a CardContext, a mapping or a YAML path, got {type(context).__name__}",
            "build one with CardContext(...) or CardContext.from_yaml(path)",
        ),
        context="Invalid argument to ModelCard.build",
    )


def _owner(ctx: CardContext, name: str) -> Any:
    value = getattr(ctx, name)
    if isinstance(value, list):
        return [v.model_dump() if hasattr(v, "model_dump") else v for v in value]
    return value


# ---------------------------------------------------------------------- sections
def _model_details(model: Any, evidence: Any, ctx: CardContext) -> dict[str, Any]:
    spec = model.spec
    estimator = getattr(model, "estimator_name", evidence.estimator)
    calibration = getattr(model, "calibration", evidence.calibration)
    window = getattr(model, "training_window_", None)
    from riskmodels import __version__

    return {
        "name": str(getattr(model, "display_name", evidence.model_name)),
        "version": str(getattr(model, "version_", evidence.model_version)),
        "estimator": str(estimator),
        "estimator_description": _estimator_text(
            estimator, calibration, getattr(model, "calibration_scheme_", "")
        ),
        "calibration": calibration,
        "target": spec.target,
        "target_description": spec.target_description,
        "threshold": _num(evidence.threshold),
        "default_threshold": _num(getattr(model, "threshold_", None)),
        "threshold_rule": _threshold_rule(model),
        "features": [
            {
                "name": f.name,
                "description": f.description,
                "kind": f.kind,
                "unit": f.unit,
            }
            for f in spec.features
            if f.name in getattr(model, "features_", spec.feature_names)
        ],
        "training_window": list(window) if window else None,
        "training_sha256": getattr(model, "training_sha256_", None),
        "n_train": _int(getattr(model, "n_train_", None)),
        "n_train_events": _int(getattr(model, "n_train_events_", None)),
        "fitted_at": getattr(model, "fitted_at_", None),
        "library_version": __version__,
        "owner": {
            k: _owner(ctx, k)
            for k in ("owner_organisation", "owner_team", "senior_responsible_owner", "contact")
        },
    }


def _threshold_rule(model: Any) -> str:
    share = getattr(model, "flag_share_", None)
    flagged = (
        f"{share:.1%} of the training population (the lowest cut that flags at most 10%; "
        "calibrated scores are tied in steps)"
        if share is not None
        else "at most 10% of the training population"
    )
    return (
        "A person is flagged when their score is at or above the threshold. The default "
        f"threshold flags {flagged}."
    )


def _estimator_text(estimator: str, calibration: str | None, scheme: str = "") -> str:
    base = {
        "hgb": "Gradient-boosted decision trees (scikit-learn HistGradientBoostingClassifier)",
        "logistic": "L2-regularised logistic regression (scikit-learn LogisticRegression)",
    }.get(estimator, f"scikit-learn classifier {estimator}")
    if calibration:
        how = "isotonic regression" if calibration == "isotonic" else "a logistic (sigmoid) fit"
        # RiskModel calibrates on a held-out share from 50,000 training rows, else on
        # out-of-fold predictions; the card must say which one this model used
        where = (
            "a held-out 20% of the training data (split by person), the model itself "
            "being fit on the other 80%"
            if scheme.startswith("held-out")
            else "cross-validated predictions"
            + (" (folds grouped by person)" if "grouped by person" in scheme else "")
        )
        return f"{base}, with its scores turned into probabilities by {how} fitted on {where}."
    return f"{base}, without a separate calibration step."


def _intended_use(ctx: CardContext, policy: Any) -> dict[str, Any]:
    purposes = [str(p) for p in _get(policy, "permitted_purposes", default=[])]
    return {
        "decision_support_statement": DECISION_SUPPORT_STATEMENT,
        "intended_use": ctx.intended_use,
        "intended_users": list(ctx.intended_users),
        "permitted_uses": list(ctx.permitted_uses),
        "decision_process": ctx.decision_process,
        "human_review": ctx.human_review,
        "appeal_route": ctx.appeal_route,
        "policy_permitted_purposes": purposes,
    }


def _prohibited(ctx: CardContext, policy: Any) -> dict[str, Any]:
    return {
        "prohibited_uses": list(ctx.prohibited_uses),
        "out_of_scope_uses": list(ctx.out_of_scope_uses),
        "policy_prohibited_purposes": [
            str(p) for p in _get(policy, "prohibited_purposes", default=[])
        ],
        "standing_prohibitions": list(STANDING_PROHIBITIONS),
    }


def _factors(model: Any, evidence: Any) -> dict[str, Any]:
    spec = model.spec
    features = set(getattr(model, "features_", spec.feature_names))
    protected = []
    for p in spec.protected:
        used = p.name in features
        protected.append(
            {
                "name": p.name,
                "description": p.description,
                "categories": list(p.categories) if p.categories else None,
                "use": "feature" if used else "audit_only",
                "justification": spec.feature(p.name).justification if used else None,
            }
        )
    justified = [
        {"name": f.name, "description": f.description, "justification": f.justification}
        for f in spec.features
        if f.justification and f.name in features
    ]
    return {
        "protected": protected,
        "justified_features": justified,
        "proxies": _proxies(evidence, spec),
        "audited_attributes": list(evidence.fairness.attributes) if evidence.fairness else [],
        "audited_intersections": (
            list(evidence.fairness.intersections) if evidence.fairness else []
        ),
    }


def _proxies(evidence: Any, spec: Any) -> dict[str, Any]:
    scan = evidence.proxies
    if scan is None:
        return {"scanned": False, "joint": [], "flagged": [], "strongest": []}
    descriptions = {f.name: f.description for f in spec.features}
    joint = [
        {
            "attribute": str(r["attribute"]),
            "auc": _num(r["auc"]),
            "flagged": bool(r["flagged"]),
        }
        for r in scan.joint.to_dict(orient="records")
    ]
    assoc = scan.associations

    def row(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "attribute": str(r["attribute"]),
            "feature": str(r["feature"]),
            "description": descriptions.get(str(r["feature"]), str(r["feature"])),
            "cramers_v": _num(r["cramers_v"]),
            "flagged": bool(r["flagged"]),
        }

    flagged = [row(r) for r in assoc[assoc["flagged"]].to_dict(orient="records")]
    strongest = []
    for attribute in scan.sensitive:
        sub = assoc[(assoc["attribute"] == attribute) & assoc["cramers_v"].notna()]
        if len(sub):
            strongest.append(row(sub.loc[sub["cramers_v"].idxmax()].to_dict()))
    return {
        "scanned": True,
        "auc_flag": _num(scan.auc_flag),
        "assoc_flag": _num(scan.assoc_flag),
        "joint": joint,
        "flagged": flagged,
        "strongest": strongest,
    }


def _metrics(model: Any, evidence: Any, threshold: int) -> dict[str, Any]:
    spec = model.spec
    descriptions = {f.name: f.description for f in spec.features}
    rows = []
    for key, label, meaning in METRIC_TEXT:
        a = evidence.metric(key)
        b = evidence.metric(key, baseline=True)
        diff = a.value - b.value
        rows.append(
            {
                "metric": key,
                "label": label,
                "meaning": meaning,
                "model": _estimate(a),
                "baseline": _estimate(b),
                "difference": _num(diff),
            }
        )
    perf = evidence.performance
    return {
        "n": int(perf.n),
        "n_events": int(perf.n_pos),
        "n_nonevents": int(perf.n_neg),
        "prevalence": _num(perf.prevalence),
        "threshold": _num(evidence.threshold),
        "confidence": _num(evidence.confidence),
        "n_boot": int(evidence.n_boot),
        "ci_method": perf.ci_method,
        "split": _split(evidence.split),
        "evaluation_window": list(evidence.evaluation_window or []) or None,
        "baseline_features": [
            {"name": b, "description": descriptions.get(b, b)} for b in evidence.baseline_features
        ],
        "rows": rows,
        "notes": [redact_small_counts(str(n), threshold) for n in evidence.notes],
    }


def _split(split: Mapping[str, Any]) -> dict[str, Any]:
    # Plain JSON values only (the split record may hold numpy scalars or tuples).
    out: dict[str, Any] = {}
    for k, v in split.items():
        if isinstance(v, tuple | list):
            out[str(k)] = [x.item() if isinstance(x, np.generic) else x for x in v]
        elif isinstance(v, np.generic):
            out[str(k)] = v.item()
        else:
            out[str(k)] = v
    return out


def _reliability(report: Any, threshold: int) -> dict[str, Any]:
    bins = report.reliability.get("uniform") or {}
    out = []
    for lo, hi, pred, obs, count in zip(
        bins.get("bin_lower", []),
        bins.get("bin_upper", []),
        bins.get("mean_predicted", []),
        bins.get("observed_rate", []),
        bins.get("count", []),
        strict=True,
    ):
        small = threshold > 0 and count < threshold
        out.append(
            {
                "lower": _num(lo),
                "upper": _num(hi),
                "mean_predicted": _num(pred),
                "observed_rate": None if small else _num(obs),
                "count": None if small else int(count),
                "suppressed": "below_threshold" if small else None,
            }
        )
    m = report.metrics
    return {
        "calibration_slope": _estimate(m["calibration_slope"]),
        "calibration_intercept": _estimate(m["calibration_intercept"]),
        "oe_ratio": _estimate(m["oe_ratio"]),
        "ece": _estimate(m["ece_uniform"]),
        "bins": out,
    }


def _calibration(evidence: Any, threshold: int) -> dict[str, Any]:
    model = _reliability(evidence.performance, threshold)
    slope = model["calibration_slope"]
    reading = []
    if slope["value"] is not None:
        v = slope["value"]
        if v < 0.8:
            reading.append(
                "The slope is below 0.8: the predicted risks are too extreme "
                "(too high for the highest-risk people, too low for the lowest)."
            )
        elif v > 1.2:
            reading.append(
                "The slope is above 1.2: the predicted risks are too timid "
                "(they do not spread people out as much as their risks differ)."
            )
        else:
            reading.append(
                "The slope is within 0.8-1.2: predicted risks spread people "
                "out about as much as their observed risks differ."
            )
    oe = model["oe_ratio"]["value"]
    if oe is not None:
        if oe < 0.8:
            reading.append("Fewer incidents were recorded than predicted (O/E below 0.8).")
        elif oe > 1.25:
            reading.append("More incidents were recorded than predicted (O/E above 1.25).")
        else:
            reading.append(
                "About as many incidents were recorded as predicted (O/E within 0.8-1.25)."
            )
    return {
        "model": model,
        "baseline": _reliability(evidence.baseline, threshold),
        "reading": reading,
        "method": "Ten equal-width bands of predicted risk (0-0.1, 0.1-0.2, ...); slope and "
        "intercept from a logistic recalibration fit (Van Calster et al. 2019).",
    }


def _criterion(policy: Any, gate: Any) -> dict[str, Any]:
    name = _get(policy, "fairness", "criterion") or _get(gate, "criterion")
    rationale = _get(policy, "fairness", "criterion_rationale") or _get(gate, "criterion_rationale")
    source = "policy" if _get(policy, "fairness", "criterion") else ("gate" if name else None)
    plain, consequence = CRITERIA.get(str(name), (None, None)) if name else (None, None)
    if name and plain is None:
        plain = str(name).replace("_", " ")
    return {
        "name": None if name is None else str(name),
        "plain": plain,
        "consequence": consequence,
        "rationale": None if rationale is None else str(rationale),
        "source": source,
        "policy": _policy_ref(policy, gate),
    }


def _policy_ref(policy: Any, gate: Any = None) -> str | None:
    if policy is None:
        if gate is None or _get(gate, "policy_name") is None:
            return None
        name, version = _get(gate, "policy_name"), _get(gate, "policy_version")
    else:
        name, version = _get(policy, "name"), _get(policy, "version")
    return f"{name} v{version}" if version is not None else (None if name is None else str(name))


def _adequacy_rule(audit: Any, policy: Any) -> dict[str, Any]:
    """The rule that marks a group too small: the policy's when there is one (the rule its
    gates use, so the card and the gates agree), else the audit's own."""
    fair = _get(policy, "fairness")
    if fair is not None and callable(getattr(fair, "adequate", None)):
        return {
            "source": "policy",
            "min_rows": int(fair.min_group_size),
            "min_events": int(fair.min_group_events),
            "min_nonevents": int(fair.min_group_nonevents),
            "judge": fair.adequate,
        }
    return {
        "source": "audit",
        "min_rows": int(audit.min_group_size),
        "min_events": 1,
        "min_nonevents": 1,
        "judge": lambda bg: bg["adequate"].astype(bool).to_numpy(),
    }


def _group_tables(audit: Any, threshold: int, rule: dict[str, Any]) -> list[dict[str, Any]]:
    bg = audit.by_group.reset_index(drop=True)
    adequate = rule["judge"](bg)
    withheld = withheld_counts(bg, threshold)
    tables: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(bg.to_dict(orient="records")):
        attribute = str(r["attribute"])
        if attribute not in tables:
            tables[attribute] = {
                "attribute": attribute,
                "kind": "intersection" if attribute in audit.intersections else "attribute",
                "reference": audit.reference.get(attribute),
                "figure": None,
                "rows": [],
            }
        hidden = {c: withheld[(i, c)] for c in ("n", "n_pos", "n_neg") if (i, c) in withheld}
        rates_out = suppressed_rates(r, GROUP_METRICS, set(hidden), threshold)
        metrics: dict[str, Any] = {}
        for m in GROUP_METRICS:
            if m in rates_out:
                metrics[m] = None
            else:
                metrics[m] = {
                    "value": _num(r[m]),
                    "lo": _num(r[f"{m}_lo"]),
                    "hi": _num(r[f"{m}_hi"]),
                }
        tables[attribute]["rows"].append(
            {
                "group": str(r["group"]),
                "reference": bool(r["is_reference"]),
                # a group the audit judged but the policy's rule calls too small is
                # shown as too small, as the gates treat it
                "status": str(r["status"]) if adequate[i] or not r["adequate"] else "sparse",
                "adequate": bool(adequate[i]),
                "n": None if "n" in hidden else int(r["n"]),
                "n_pos": None if "n_pos" in hidden else int(r["n_pos"]),
                "n_neg": None if "n_neg" in hidden else int(r["n_neg"]),
                "withheld": hidden,
                "suppressed_metrics": sorted(rates_out),
                "metrics": metrics,
            }
        )
    return list(tables.values())


def _gaps(audit: Any, tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The largest publishable gap against the reference group, per attribute and metric.

    Like ``FairnessAudit.max_gap`` (adequate groups only), but among the comparisons whose
    two rates survive disclosure control, so that the card never points at a number it
    cannot show. ``n_compared`` counts the adequate comparisons, ``n_suppressed`` those
    left out for disclosure control.
    """
    shown = {(t["attribute"], row["group"]): row["metrics"] for t in tables for row in t["rows"]}
    judged = {
        (t["attribute"], row["group"]) for t in tables for row in t["rows"] if row["adequate"]
    }
    d = audit.disparities
    both = [
        (a, g) in judged and (a, ref) in judged
        for a, g, ref in zip(d["attribute"], d["group"], d["reference"], strict=True)
    ]
    d = d[d["adequate"] & (d["group"] != d["reference"]) & np.asarray(both, dtype=bool)]
    out = []
    for t in tables:
        for metric in _GAP_METRICS:
            rows = d[(d["attribute"] == t["attribute"]) & (d["metric"] == metric)]
            published = [
                r
                for r in rows.to_dict(orient="records")
                if shown.get((t["attribute"], r["group"]), {}).get(metric) is not None
                and shown.get((t["attribute"], r["reference"]), {}).get(metric) is not None
            ]
            entry: dict[str, Any] = {
                "attribute": t["attribute"],
                "metric": metric,
                "status": "undefined",
                "group": None,
                "reference": t["reference"],
                "difference": None,
                "difference_lo": None,
                "difference_hi": None,
                "n_compared": len(rows),
                "n_suppressed": len(rows) - len(published),
            }
            if published:
                best = max(published, key=lambda r: abs(r["difference"]))
                entry.update(
                    status="ok",
                    group=str(best["group"]),
                    difference=_num(best["difference"]),
                    difference_lo=_num(best["difference_lo"]),
                    difference_hi=_num(best["difference_hi"]),
                )
            elif len(rows):
                entry["status"] = "suppressed"
            out.append(entry)
    return out


def _base_rate_spread(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tables:
        if t["kind"] != "attribute":
            continue
        rows = [
            (r["group"], r["metrics"]["base_rate"]["value"])
            for r in t["rows"]
            if r["adequate"]
            and r["metrics"]["base_rate"] is not None
            and r["metrics"]["base_rate"]["value"] is not None
        ]
        if len(rows) >= 2:
            lo = min(rows, key=lambda x: x[1])
            hi = max(rows, key=lambda x: x[1])
            out.append(
                {
                    "attribute": t["attribute"],
                    "lowest_group": lo[0],
                    "lowest": lo[1],
                    "highest_group": hi[0],
                    "highest": hi[1],
                }
            )
    return out


def _fairness(evidence: Any, policy: Any, gate: Any, threshold: int) -> dict[str, Any]:
    audit = evidence.fairness
    criterion = _criterion(policy, gate)
    if audit is None:
        return {
            "available": False,
            "criterion": criterion,
            "tradeoff": TRADEOFF,
            "tables": [],
            "gaps": [],
            "small_groups": [],
            "base_rates": [],
            "notes": [
                "No fairness audit was run (the spec lists no protected attributes, "
                "or the evidence was built with fairness=False)."
            ],
        }
    rule = _adequacy_rule(audit, policy)
    tables = _group_tables(audit, threshold, rule)
    small = [
        {
            "attribute": t["attribute"],
            "group": r["group"],
            "status": r["status"],
        }
        for t in tables
        for r in t["rows"]
        if not r["adequate"]
    ]
    return {
        "available": True,
        "threshold": _num(audit.threshold),
        "confidence": _num(audit.confidence),
        "n_boot": int(audit.n_boot),
        "min_group_size": rule["min_rows"],
        "adequacy": {k: v for k, v in rule.items() if k != "judge"},
        "reference": {str(k): str(v) for k, v in audit.reference.items()},
        "attributes": list(audit.attributes),
        "intersections": list(audit.intersections),
        "criterion": criterion,
        "tradeoff": TRADEOFF,
        "base_rates": _base_rate_spread(tables),
        "tables": tables,
        "gaps": _gaps(audit, tables),
        "small_groups": small,
        "notes": [redact_small_counts(str(n), threshold) for n in audit.notes],
    }


def _explanations(evidence: Any, model: Any) -> dict[str, Any]:
    imp = evidence.importance
    calibration = getattr(model, "calibration", evidence.calibration)
    monotone = (
        "Explanations describe the uncalibrated model. The calibration step that turns its "
        "score into a probability is monotone ("
        + ("isotonic regression" if calibration == "isotonic" else "a logistic curve")
        + "), so it never reverses who is ranked above whom, and a feature that raises the "
        "uncalibrated score never lowers the probability. The sizes of contributions are "
        "on the uncalibrated log-odds scale, not in percentage points of risk."
        if calibration
        else "The model has no separate calibration step: explanations describe the model "
        "that produces the scores."
    )
    reason_codes = (
        "Each person on a risk list is given plain-language reasons: the features that "
        "raised their score the most (the largest positive SHAP contributions), each in the "
        "words of the dataset spec with the person's own value, for example \"Current "
        'suicidal ideation: yes (raises risk)". Reasons say what raised the score, not what '
        'causes risk. A feature flagged by the proxy scan is marked "may act as a proxy '
        'for a protected characteristic".'
    )
    rows = []
    if imp is not None:
        for r in imp.to_dict(orient="records"):
            rows.append(
                {
                    "feature": str(r["feature"]),
                    "description": str(r.get("description", r["feature"])),
                    "mean_abs": _num(r["mean_abs"]),
                    "lo": _num(r.get("lo")),
                    "hi": _num(r.get("hi")),
                    "n": _int(r.get("n")),
                }
            )
    return {
        "available": imp is not None,
        "method": (
            "SHAP values of the uncalibrated model on held-out rows, on the log-odds scale, "
            "with the contributions of one-hot encoded columns summed back to the feature "
            "they came from. Importance is the mean absolute contribution; intervals are "
            "bootstrap intervals over the explained rows."
        ),
        "importance": rows,
        "reason_codes": reason_codes,
        "calibration_note": monotone,
        "proxy_note": (
            "Features flagged by the proxy scan, marked as such in reason codes: "
            + ", ".join(_flagged_features(evidence.proxies))
            if _flagged_features(evidence.proxies)
            else None
        ),
    }


def _flagged_features(scan: Any) -> list[str]:
    """Features the proxy scan flagged for any protected attribute, in feature order."""
    if scan is None:
        return []
    assoc = scan.associations
    names = set(assoc.loc[assoc["flagged"], "feature"].astype(str))
    return [f for f in scan.features if f in names]


def _data(model: Any, evidence: Any, ctx: CardContext, threshold: int) -> dict[str, Any]:
    spec = model.spec
    quality = getattr(model, "quality_", None)
    issues = [
        {
            "column": i.get("column"),
            "detail": redact_small_counts(str(i.get("detail", "")), threshold),
            "serious": bool(i.get("serious", False)),
        }
        for i in (quality.issues if quality is not None else [])
    ]
    missing = {}
    if quality is not None:
        missing = {k: _num(v) for k, v in quality.missingness.items() if v and v > 0}
    kinds: dict[str, int] = {}
    for f in spec.features:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    unit = "one row per record"
    if spec.person and spec.time:
        unit = "one row per person per snapshot date (the same person appears in several rows)"
    elif spec.person:
        unit = "one row per record; a person can have several"
    preprocessing = [
        "Every frame is validated against the dataset spec (types, ranges, categories, "
        "duplicate ids) before training and evaluation; all problems are reported at once.",
        "Categorical features are one-hot encoded, with missing values as their own category.",
    ]
    estimator = getattr(model, "estimator_name", evidence.estimator)
    if estimator == "logistic":
        preprocessing.append(
            "Numeric features: missing values imputed by the median with a "
            "missing-value indicator, then standardised."
        )
    elif estimator == "hgb":
        preprocessing.append(
            "Numeric features are used as recorded; the trees handle missing values natively."
        )
    preprocessing.append(
        "Protected characteristics are not model inputs unless listed as "
        "features with a written justification (see Factors)."
    )
    return {
        "motivation": ctx.data_motivation,
        "spec_description": spec.description or None,
        "composition": {
            "unit": unit,
            "target": spec.target,
            "target_description": spec.target_description,
            "n_features": len(spec.features),
            "feature_kinds": kinds,
            "protected": [p.name for p in spec.protected],
            "training": {
                "n": _int(getattr(model, "n_train_", None)),
                "n_events": _int(getattr(model, "n_train_events_", None)),
                "window": list(model.training_window_)
                if getattr(model, "training_window_", None)
                else None,
                "sha256": getattr(model, "training_sha256_", None),
            },
            "evaluation": {
                "n": int(evidence.n),
                "n_events": int(evidence.n_events),
                "window": list(evidence.evaluation_window or []) or None,
                "split_method": str(evidence.split.get("method", "unknown")),
            },
            "missingness": missing,
        },
        "collection": ctx.data_collection,
        "preprocessing": preprocessing,
        "quality_issues": issues,
        "uses": (
            "Training and evaluating this model. Any other use of the data needs its own "
            "lawful basis and assessment."
        ),
        "access": ctx.data_access,
    }


def _limitations(
    evidence: Any, ctx: CardContext, fairness: dict[str, Any], threshold: int
) -> dict[str, Any]:
    items = [
        {"title": "Label bias: recorded incidents are not all incidents", "text": LABEL_BIAS},
        {"title": "What the model cannot know", "text": CANNOT_KNOW},
    ]
    method = str(evidence.split.get("method", "unknown"))
    if method == "temporal":
        items.append(
            {
                "title": "Evaluated on a later period",
                "text": "Performance was measured on snapshots after the training period, the way "
                "the model will be used. It can still fall as the population and practice change; "
                "the owner must check it on recent outcomes before each re-approval.",
            }
        )
    else:
        items.append(
            {
                "title": f"Evaluated on a {method} split",
                "text": "The test set was not a later period, so performance on future people may "
                "be lower than shown.",
            }
        )
    if evidence.n_events < 100 or evidence.n_nonevents < 100:
        items.append(
            {
                "title": "Small evaluation sample",
                "text": f"The evaluation set has {evidence.n_events:,} events and "
                f"{evidence.n_nonevents:,} non-events; below about 100 of either, performance "
                "estimates are too uncertain to trust (Collins et al. 2016).",
            }
        )
    if fairness["small_groups"]:
        small = fairness["small_groups"]
        total = sum(len(t["rows"]) for t in fairness["tables"])
        singles = [
            f"{g['attribute']} = {g['group']}"
            for g in small
            if g["attribute"] in fairness.get("attributes", [])
        ]
        text = (
            f"{len(small)} of {total} audited groups and intersections had too few rows, "
            "events or non-events for their rates to be judged; they are marked in the "
            "fairness tables and listed after them."
        )
        if singles:
            text += " Among single characteristics: " + "; ".join(singles) + "."
        text += " Lack of evidence of a disparity is not evidence of no disparity."
        items.append({"title": "Groups too small to judge", "text": text})
    if not fairness["available"]:
        items.append({"title": "No fairness audit", "text": fairness["notes"][0]})
    items.append(
        {
            "title": "Only listed characteristics were audited",
            "text": "The audit covers the protected characteristics in the data. Disparities by "
            "characteristics that are not recorded (for example disability or religion) are "
            "unknown.",
        }
    )
    items.append(
        {
            "title": "Explanations are not causes",
            "text": "Contributions show what moved the model's score, not what causes incidents; "
            "changing a feature need not change a person's risk.",
        }
    )
    for note in evidence.notes:
        items.append({"title": "Evidence note", "text": redact_small_counts(str(note), threshold)})
    return {"items": items, "caveats": list(ctx.caveats)}


def _ethics(ctx: CardContext) -> dict[str, Any]:
    return {
        "considerations": list(ctx.ethical_considerations),
        "dpia_reference": ctx.dpia_reference,
        "eqia_reference": ctx.eqia_reference,
        "algo_care": (
            "ALGO-CARE (Oswald et al. 2018) asks whether a tool is Advisory, Lawful, "
            "Granular, has clear Ownership, is Challengeable, Accurate, Responsible and "
            "Explainable. This card records the evidence for Accurate, Granular and "
            "Explainable; Advisory is enforced by the library; the owner's entries above "
            "answer Lawful, Ownership, Challengeable and Responsible."
        ),
    }


_GATE_ORDER = ("pass", "warn", "insufficient_evidence", "fail")


def _gate(gate: Any, threshold: int) -> dict[str, Any]:
    if gate is None:
        return {
            "available": False,
            "status": None,
            "summary": None,
            "policy": None,
            "checked_at": None,
            "gates": [],
        }
    import json

    report = json.loads(gate.to_json()) if hasattr(gate, "to_json") else dict(gate)
    gates = []
    for g in report.get("gates", []):
        gates.append(
            {
                "name": str(g.get("name", "")),
                "status": str(g.get("status", "")),
                "value": _num(g.get("value")),
                "lo": _num(g.get("lo")),
                "hi": _num(g.get("hi")),
                "bound": str(g.get("bound", "")),
                "reason": redact_small_counts(str(g.get("reason", "")), threshold),
                "waivable": bool(g.get("waivable", True)),
                "waiver": None,
            }
        )
    # The report's overall status is its worst gate.
    ranks = [_GATE_ORDER.index(g["status"]) for g in gates if g["status"] in _GATE_ORDER]
    status = _GATE_ORDER[max(ranks)] if ranks else None
    counts = {s: sum(g["status"] == s for g in gates) for s in _GATE_ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no gates"
    return {
        "available": True,
        "status": status,
        "summary": summary,
        "policy": _policy_ref(None, report),
        "checked_at": report.get("checked_at") or None,
        "gates": gates,
    }


def _release_record(release: Any) -> dict[str, Any] | None:
    """The approval record of a release (a ``Release``, its manifest, or a mapping)."""
    if release is None:
        return None
    manifest = _get(release, "manifest")
    if manifest is None and isinstance(release, Mapping) and "approval" in release:
        manifest = release
    if manifest is not None:
        approval = dict(manifest.get("approval", {}))
        rec: dict[str, Any] = {
            "release_id": _get(release, "release_id"),
            "reviewer": approval.get("reviewer"),
            "author": approval.get("author"),
            "approved_at": approval.get("approved_at"),
            "valid_from": approval.get("valid_from"),
            "valid_until": approval.get("valid_until"),
            "waivers": approval.get("waivers"),
            "gates": approval.get("gates"),
            "environment": approval.get("environment"),
            "approvals_required": approval.get("approvals_required"),
            "policy": _policy_ref(manifest.get("policy")),
        }
    else:
        rec = {
            k: _get(release, k)
            for k in (
                "release_id",
                "reviewer",
                "author",
                "approved_at",
                "valid_from",
                "valid_until",
                "waivers",
                "environment",
                "approvals_required",
                "policy",
            )
        }
    out = {}
    for k, v in rec.items():
        if v is None:
            continue
        if isinstance(v, dt.date | dt.datetime):
            v = v.isoformat()
        elif not isinstance(v, str | int | float | bool | list | dict):
            v = str(v)
        out[k] = v
    return out


def _lifecycle(
    model: Any,
    evidence: Any,
    release: Any,
    mlflow_run_id: str | None,
    valid_until: Any,
    generated_at: str,
    policy: Any,
) -> dict[str, Any]:
    rel = _release_record(release)
    until = valid_until if valid_until is not None else (rel or {}).get("valid_until")
    if isinstance(until, dt.date | dt.datetime):
        until = until.isoformat()
    run = mlflow_run_id or _get(release, "mlflow_run_id")
    return {
        "generated_at": generated_at,
        "fitted_at": getattr(model, "fitted_at_", None),
        "evaluated_at": evidence.created_at,
        "mlflow_run_id": None if run is None else str(run),
        "valid_until": None if until is None else str(until),
        "max_validity_days": _int(_get(policy, "validity", "max_days")),
        "release": rel,
    }


def _missing(ctx: CardContext) -> list[dict[str, str]]:
    return [
        {"field": f, "label": CardContext.label(f), "section": FIELD_SECTION[f]}
        for f in ctx.missing_fields(REQUIRED_FIELDS)
    ]


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    md, metrics = data["model_details"], data["metrics"]
    auc = next(r for r in metrics["rows"] if r["metric"] == "auc")
    slope = data["calibration"]["model"]["calibration_slope"]
    fair = data["fairness"]
    return {
        "predicts": md["target_description"],
        "auc": auc["model"],
        "baseline_auc": auc["baseline"],
        "calibration_slope": slope,
        "n_eval": metrics["n"],
        "n_eval_events": metrics["n_events"],
        "groups_audited": sum(len(t["rows"]) for t in fair["tables"]),
        "groups_too_small": len(fair["small_groups"]),
        "criterion": fair["criterion"]["plain"],
        "gate_status": data["gate"]["status"],
    }


# ---------------------------------------------------------------------- entry point
def build_document(
    model: Any,
    evidence: Any,
    context: Any,
    gate: Any,
    *,
    policy: Any,
    release: Any,
    mlflow_run_id: str | None,
    valid_until: Any,
    sdc_threshold: int,
    generated_at: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's JSON document and its ROC points (see :meth:`ModelCard.build`)."""
    problems = []
    if not hasattr(model, "spec"):
        problems.append(
            Problem(
                "model",
                f"{type(model).__name__} has no dataset spec",
                "pass a fitted riskmodels.RiskModel",
            )
        )
    elif not hasattr(model, "version_"):
        problems.append(Problem("model", "the model is not fitted", "call model.fit(train)"))
    if not hasattr(evidence, "performance"):
        problems.append(
            Problem(
                "evidence",
                f"expected Evidence, got {type(evidence).__name__}",
                "pass model.assess(test)",
            )
        )
    if (
        not isinstance(sdc_threshold, int | np.integer)
        or isinstance(sdc_threshold, bool)
        or sdc_threshold < 0
    ):
        problems.append(
            Problem(
                "sdc_threshold",
                f"{sdc_threshold!r}",
                "pass an integer >= 0 (0 disables disclosure control)",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid argument to ModelCard.build")
    if hasattr(model, "version_") and evidence.model_version != model.version_:
        raise SchemaError(
            Problem(
                "evidence",
                f"was built for model version {evidence.model_version}, not {model.version_}",
                "assess this model: evidence = model.assess(test)",
            ),
            context="Evidence and model do not match",
        )
    ctx = coerce_context(context)
    threshold = int(sdc_threshold)
    when = _generated_at(generated_at)
    fairness = _fairness(evidence, policy, gate, threshold)
    data: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "title": f"Model card: {getattr(model, 'display_name', evidence.model_name)}",
        "generated_at": when,
        "complete": False,
        "missing_fields": _missing(ctx),
        "to_be_completed": TO_BE_COMPLETED,
        "sdc_threshold": threshold,
        "sections": [{"key": k, "title": t} for k, t in SECTIONS],
        "model_details": _model_details(model, evidence, ctx),
        "intended_use": _intended_use(ctx, policy),
        "prohibited_uses": _prohibited(ctx, policy),
        "factors": _factors(model, evidence),
        "metrics": _metrics(model, evidence, threshold),
        "calibration": _calibration(evidence, threshold),
        "fairness": fairness,
        "explanations": _explanations(evidence, model),
        "data": _data(model, evidence, ctx, threshold),
        "limitations": _limitations(evidence, ctx, fairness, threshold),
        "ethical_considerations": _ethics(ctx),
        "gate": _gate(gate, threshold),
        "lifecycle": _lifecycle(model, evidence, release, mlflow_run_id, valid_until, when, policy),
    }
    waivers = (data["lifecycle"]["release"] or {}).get("waivers") or {}
    for g in data["gate"]["gates"]:
        if g["name"] in waivers:
            g["waiver"] = redact_small_counts(str(waivers[g["name"]]), threshold)
    data["complete"] = not data["missing_fields"]
    data["summary"] = _summary(data)
    _assign_figures(data)
    return data, roc_points(evidence)


def _assign_figures(data: dict[str, Any]) -> None:
    """Name the figures the card will have (drawing them waits until a renderer asks)."""
    used: set[str] = set()
    for table in data["fairness"]["tables"]:
        if table["kind"] != "attribute" or not table["rows"]:
            continue
        slug = _slug(table["attribute"])
        while slug in used:
            slug += "_"
        used.add(slug)
        table["figure"] = f"fairness_{slug}"


def roc_points(evidence: Any) -> dict[str, Any]:
    """The ROC curves of the model and the baseline (figure input; not in the JSON)."""
    return {
        key: {
            "fpr": list(rep.roc.get("fpr", [])),
            "tpr": list(rep.roc.get("tpr", [])),
            "auc": _num(rep.metrics["auc"].value),
        }
        for key, rep in (("model", evidence.performance), ("baseline", evidence.baseline))
    }


def draw_figures(data: dict[str, Any], roc: dict[str, Any]) -> dict[str, CardFigure]:
    """Every figure of a card, drawn from its document (and the ROC points)."""
    figures: dict[str, CardFigure] = {}
    name = data["model_details"]["name"]
    cal = calibration_figure(data["calibration"], name)
    if cal is not None:
        figures["calibration"] = cal
    fig = roc_figure(roc, name)
    if fig is not None:
        figures["roc"] = fig
    fair = data["fairness"]
    for table in fair["tables"]:
        key = table["figure"]
        if key is None:
            continue
        fig = fairness_figure(
            table["attribute"], table["rows"], key.removeprefix("fairness_"), fair["confidence"]
        )
        if fig is not None:
            figures[key] = fig
    if data["explanations"]["available"]:
        fig = importance_figure(data["explanations"]["importance"], data["metrics"]["confidence"])
        if fig is not None:
            figures["importance"] = fig
    return figures
