"""Proxy scan: can the model's features stand in for a protected characteristic?

Two views per protected attribute:

* **jointly**: the cross-validated one-vs-rest macro AUC of a logistic regression that
  predicts the attribute from all features (one-hot categoricals, standardised numerics).
  An AUC near 0.5 means the features carry little information about the attribute; a high
  AUC means a model could learn the attribute even though it is excluded.
* **one feature at a time**: Cramér's V between the feature and the attribute, with the
  bias correction of Bergsma (2013) so that features with many levels are not flagged by
  chance; numeric features are first cut into deciles.

The flag thresholds are *proposed* defaults, not published standards: ``auc_flag=0.65``
marks features that jointly predict the attribute clearly better than chance (validated
justice risk tools reach ~0.70 on their own target), and ``assoc_flag=0.3`` is the
conventional lower bound of a "moderate" association (Cohen 1988). Set your own in the
policy and say why.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from riskmodels._json import JsonForms
from riskmodels.errors import Problem, SchemaError
from riskmodels.fairness._groups import MISSING, encode_attribute
from riskmodels.fairness._serial import frame_from_payload, frame_to_payload
from riskmodels.metrics._counts import quantile_bins

__all__ = ["N_QUANTILES", "ProxyScan", "cramers_v", "proxy_scan"]

#: numeric features are cut into this many quantile bins before Cramér's V
N_QUANTILES = 10
_SCHEMA = "riskmodels.fairness.ProxyScan/1"
JOINT_COLUMNS = ("attribute", "n", "n_classes", "excluded_classes", "auc", "flagged")
ASSOCIATION_COLUMNS = ("attribute", "feature", "kind", "n_levels", "cramers_v", "flagged")


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) of two integer-coded variables.

    NaN when either variable has a single level (no association can be measured).

    Examples
    --------
    >>> x = np.repeat([0, 1], 500)
    >>> round(cramers_v(x, x), 6), round(cramers_v(x, np.tile([0, 1], 500)), 6)
    (1.0, 0.0)
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    r, k = int(a.max()) + 1, int(b.max()) + 1
    n = a.size
    if r < 2 or k < 2 or n < 2:
        return float("nan")
    table = np.bincount(a * k + b, minlength=r * k).reshape(r, k).astype(float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    k_corr = k - (k - 1) ** 2 / (n - 1)
    denom = min(k_corr - 1, r_corr - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class ProxyScan(JsonForms):
    """The result of :func:`proxy_scan`.

    Attributes
    ----------
    joint : DataFrame
        One row per protected attribute: ``attribute, n, n_classes, excluded_classes,
        auc, flagged`` (``auc`` is the cross-validated one-vs-rest macro AUC of predicting
        the attribute from all features; ``excluded_classes`` lists classes too rare for
        ``cv``-fold stratification, left out of that model only).
    associations : DataFrame
        One row per (attribute, feature): ``attribute, feature, kind, n_levels,
        cramers_v, flagged``.
    """

    joint: pd.DataFrame
    associations: pd.DataFrame
    features: tuple[str, ...]
    sensitive: tuple[str, ...]
    cv: int
    random_state: int | None
    auc_flag: float
    assoc_flag: float
    n_quantiles: int = N_QUANTILES

    def to_frame(self) -> pd.DataFrame:
        """Associations with the attribute's joint AUC alongside (``joint_auc``,
        ``joint_flagged``): one row per (attribute, feature)."""
        joint = self.joint[["attribute", "auc", "flagged"]].rename(
            columns={"auc": "joint_auc", "flagged": "joint_flagged"}
        )
        return self.associations.merge(joint, on="attribute", how="left")

    def __len__(self) -> int:
        return len(self.associations)

    def __getitem__(self, key: Any) -> Any:
        return self.to_frame()[key]

    @property
    def flagged(self) -> pd.DataFrame:
        """The (attribute, feature) rows flagged as likely proxies."""
        return self.associations[self.associations["flagged"]].reset_index(drop=True)

    @property
    def flagged_features(self) -> tuple[str, ...]:
        """Features flagged as a likely proxy for any protected attribute, in feature order."""
        return self.flagged_features_for(None)

    def flagged_features_for(self, attribute: str | None) -> tuple[str, ...]:
        """Features flagged for one protected attribute (or any, with None)."""
        rows = self.flagged
        if attribute is not None:
            rows = rows[rows["attribute"] == attribute]
        names = set(rows["feature"])
        return tuple(f for f in self.features if f in names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` (``from_json``, ``load``) restores an
        identical scan (NaN included)."""
        return {
            "schema": _SCHEMA,
            "features": list(self.features),
            "sensitive": list(self.sensitive),
            "cv": self.cv,
            "random_state": self.random_state,
            "auc_flag": self.auc_flag,
            "assoc_flag": self.assoc_flag,
            "n_quantiles": self.n_quantiles,
            "joint": frame_to_payload(self.joint),
            "associations": frame_to_payload(self.associations),
        }

    @classmethod
    def from_dict(cls, p: dict[str, Any]) -> ProxyScan:
        """Rebuild a scan from :meth:`to_dict`."""
        try:
            if not isinstance(p, dict) or p.get("schema") != _SCHEMA:
                raise ValueError(f"schema is not {_SCHEMA!r}")
            return cls(
                joint=frame_from_payload(p["joint"]),
                associations=frame_from_payload(p["associations"]),
                features=tuple(p["features"]),
                sensitive=tuple(p["sensitive"]),
                cv=int(p["cv"]),
                random_state=p["random_state"],
                auc_flag=float(p["auc_flag"]),
                assoc_flag=float(p["assoc_flag"]),
                n_quantiles=int(p["n_quantiles"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(
                Problem(None, f"not a serialised ProxyScan ({exc})", "use ProxyScan.to_json()"),
                context="Cannot read the proxy scan JSON",
            ) from exc

    def __repr__(self) -> str:
        return (
            f"ProxyScan(sensitive={list(self.sensitive)}, features={len(self.features)}, "
            f"flagged={len(self.flagged)})"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Proxy scan</b>: flags a joint AUC &ge; {self.auc_flag} or a Cramér's V "
            f"&ge; {self.assoc_flag} (proposed defaults).</p>"
        )
        return head + self.joint.to_html(index=False) + self.flagged.to_html(index=False)


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _as_text(s: pd.Series) -> pd.Series:
    """Categorical values as strings with an explicit "missing" level (a new Series)."""
    text = s.astype(object).where(s.notna(), MISSING)
    return text.map(str).astype(object)


def _feature_codes(s: pd.Series, n_quantiles: int) -> tuple[np.ndarray, str]:
    if _numeric(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(values)
        codes = np.full(values.size, -1, dtype=np.int64)
        if np.unique(values[known]).size <= n_quantiles:
            codes[known] = np.unique(values[known], return_inverse=True)[1].ravel()
        elif known.any():  # the package's one quantile-bin rule (ties never split)
            codes[known] = quantile_bins(values[known], n_quantiles)[0]
        codes[~known] = codes.max() + 1  # missing values are their own level
        return codes, "numeric"
    codes, _ = pd.factorize(_as_text(s))
    return np.asarray(codes, dtype=np.int64), "categorical"


#: Rows used for the cross-validated joint AUC (a stratified subsample above this).
JOINT_MAX_ROWS = 20_000


def _joint_auc(
    X: pd.DataFrame, labels: np.ndarray, names: tuple[str, ...], cv: int, random_state: int | None
) -> tuple[int, int, str, float]:
    counts = np.bincount(labels, minlength=len(names))
    keep_class = counts >= cv
    excluded = ", ".join(name for name, keep in zip(names, keep_class, strict=True) if not keep)
    rows = keep_class[labels]
    n_classes = int(keep_class.sum())
    if n_classes < 2:
        return int(rows.sum()), n_classes, excluded, float("nan")
    y = labels[rows]
    Xk = X[rows].reset_index(drop=True)
    if y.size > JOINT_MAX_ROWS:
        # a stratified subsample estimates the joint AUC to about +-0.01 at a fraction of
        # the cost of cross-validating on every row
        keep, _ = next(
            StratifiedShuffleSplit(
                n_splits=1, train_size=JOINT_MAX_ROWS, random_state=random_state
            ).split(Xk, y)
        )
        keep = np.sort(keep)
        y, Xk = y[keep], Xk.iloc[keep].reset_index(drop=True)
    numeric = [c for c in Xk.columns if _numeric(Xk[c])]
    categorical = [c for c in Xk.columns if c not in numeric]
    pre = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    model = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=2000))])
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    # One BLAS thread: these fits are small, and OpenBLAS threads fighting for 2 cores
    # made this step 40x slower on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        proba = cross_val_predict(model, Xk, y, cv=folds, method="predict_proba")
    classes = np.unique(y)
    if classes.size == 2:
        auc = roc_auc_score(y == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    return int(rows.sum()), n_classes, excluded, float(auc)


def _sensitive_values(frame: pd.DataFrame, sensitive: object) -> dict[str, pd.Series | None]:
    """``{attribute: values}``; None means "the frame's column of that name"."""
    if isinstance(sensitive, pd.DataFrame):
        return {str(c): sensitive.iloc[:, j] for j, c in enumerate(sensitive.columns)}
    if isinstance(sensitive, pd.Series):
        return {str(sensitive.name if sensitive.name is not None else "sensitive"): sensitive}
    names = [sensitive] if isinstance(sensitive, str) else list(sensitive)  # type: ignore[call-overload]
    return {str(n): None for n in names}


def proxy_scan(
    frame: pd.DataFrame,
    features: Sequence[str],
    sensitive: str | Sequence[str] | pd.Series | pd.DataFrame,
    *,
    cv: int = 5,
    random_state: int | None = 0,
    auc_flag: float = 0.65,
    assoc_flag: float = 0.3,
) -> ProxyScan:
    """Measure how well the features predict each protected attribute, jointly and singly.

    Parameters
    ----------
    frame : DataFrame
        Holds the features and the protected attributes (never modified).
    features : sequence of str
        The model's feature columns. A protected attribute that is itself a feature is not
        scanned against itself.
    sensitive : str, sequence of str, Series or DataFrame
        The protected attribute column(s) of ``frame``, or their values (a Series or
        DataFrame matched to ``frame`` by position). Missing values form a ``"missing"``
        class.
    cv : int, default 5
        Stratified folds for the joint model.
    random_state : int or None, default 0
        Seeds the fold split.
    auc_flag : float, default 0.65
        Proposed default: flag an attribute whose joint AUC is at least this.
    assoc_flag : float, default 0.3
        Proposed default: flag a feature whose Cramér's V with the attribute is at least
        this.

    Returns
    -------
    ProxyScan

    Raises
    ------
    SchemaError
        Listing every missing column and invalid argument at once.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> eth = rng.choice(["A", "B"], 600)
    >>> df = pd.DataFrame({"eth": eth, "area": np.where(rng.random(600) < 0.9, eth, "C"),
    ...                    "age": rng.normal(35, 10, 600)})
    >>> scan = proxy_scan(df, ["area", "age"], "eth")
    >>> scan.flagged_features
    ('area',)
    >>> bool(scan.joint["flagged"].iloc[0])
    True
    """
    attributes = _sensitive_values(frame, sensitive)
    sensitive = list(attributes)
    features = list(features)
    problems = []
    missing = [f for f in features if f not in frame.columns] + [
        a for a, values in attributes.items() if values is None and a not in frame.columns
    ]
    if missing:
        problems.append(
            Problem(
                "frame",
                f"missing column(s) {sorted(set(missing))}",
                "pass the frame holding both the features and the protected attributes",
            )
        )
    lengths = {len(v) for v in attributes.values() if v is not None}
    if lengths - {len(frame)}:
        problems.append(
            Problem(
                "sensitive",
                f"{sorted(lengths - {len(frame)})[0]} rows but the frame has {len(frame)}",
                "pass one protected value per row of the frame",
            )
        )
    if not features:
        problems.append(Problem("features", "no features", "name the model's feature columns"))
    if not sensitive:
        problems.append(Problem("sensitive", "no protected attribute", "name at least one"))
    if not (isinstance(cv, numbers.Integral) and cv >= 2):
        problems.append(Problem("cv", f"{cv!r}", "pass an integer >= 2"))
    if not (isinstance(auc_flag, numbers.Real) and 0.5 <= auc_flag <= 1):
        problems.append(Problem("auc_flag", f"{auc_flag!r}", "pass an AUC in [0.5, 1]"))
    if not (isinstance(assoc_flag, numbers.Real) and 0 < assoc_flag <= 1):
        problems.append(Problem("assoc_flag", f"{assoc_flag!r}", "pass a value in (0, 1]"))
    if problems:
        raise SchemaError(problems, context="Invalid input to riskmodels.fairness.proxy_scan")

    feature_codes = {f: _feature_codes(frame[f], N_QUANTILES) for f in features}
    joint_rows: list[dict[str, Any]] = []
    assoc_rows: list[dict[str, Any]] = []
    for attribute in sensitive:
        values = attributes[attribute]
        grouping = encode_attribute(frame[attribute] if values is None else values, attribute)
        labels = grouping.codes
        usable = [f for f in features if f != attribute]
        X = pd.DataFrame(
            {
                f: frame[f].reset_index(drop=True)
                if _numeric(frame[f])
                else _as_text(frame[f]).reset_index(drop=True)
                for f in usable
            }
        )
        n, n_classes, excluded, auc = (
            _joint_auc(X, labels, grouping.labels, cv, random_state)
            if usable
            else (len(labels), grouping.n_groups, "", float("nan"))
        )
        joint_rows.append(
            {
                "attribute": attribute,
                "n": n,
                "n_classes": n_classes,
                "excluded_classes": excluded,
                "auc": auc,
                "flagged": bool(np.isfinite(auc) and auc >= auc_flag),
            }
        )
        for f in usable:
            codes, kind = feature_codes[f]
            v = cramers_v(codes, labels)
            assoc_rows.append(
                {
                    "attribute": attribute,
                    "feature": f,
                    "kind": kind,
                    "n_levels": int(np.unique(codes).size),
                    "cramers_v": v,
                    "flagged": bool(np.isfinite(v) and v >= assoc_flag),
                }
            )
    return ProxyScan(
        joint=_table(joint_rows, JOINT_COLUMNS),
        associations=_table(assoc_rows, ASSOCIATION_COLUMNS),
        features=tuple(features),
        sensitive=tuple(sensitive),
        cv=int(cv),
        random_state=random_state,
        auc_flag=float(auc_flag),
        assoc_flag=float(assoc_flag),
    )


_DTYPES = {
    "attribute": "str",
    "feature": "str",
    "kind": "str",
    "excluded_classes": "str",
    "n": "int64",
    "n_classes": "int64",
    "n_levels": "int64",
    "auc": "float64",
    "cramers_v": "float64",
    "flagged": "bool",
}


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([r[c] for r in rows], dtype=_DTYPES[c]) for c in columns},
        columns=list(columns),
    )
