"""The dataset spec: what each column of a user's frame means, and the rules it obeys."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from riskmodels._io import atomic_write_text
from riskmodels.errors import Problem, SchemaError

__all__ = ["DatasetSpec", "FeatureSpec", "ProtectedAttribute"]

_MAX_EXAMPLES = 5


def _problems_from_pydantic(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or None
        hint = "check the spec against the documented fields (docs/data.md)"
        if e["type"] == "extra_forbidden":
            hint = "remove the key or fix its spelling; unknown keys are not allowed"
        elif e["type"] == "missing":
            hint = "add the required key"
        problems.append(Problem(column=loc, found=e["msg"], hint=hint))
    return problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        # Turn pydantic's ValidationError into our SchemaError listing every problem.
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise SchemaError(
                _problems_from_pydantic(err), context=f"Invalid {type(self).__name__}"
            ) from None


class FeatureSpec(_Strict):
    """One model input.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"numeric", "categorical", "binary"}
    description : str
        Plain-language description used by model cards and reason codes, e.g.
        ``"Self-harm in the last 12 months"``.
    min, max : float, optional
        Allowed range of a numeric feature (inclusive).
    categories : list of str, optional
        Allowed categories of a categorical feature.
    unit : str, optional
        Unit shown next to values in reason codes (e.g. ``"days"``).
    justification : str, optional
        Required when the feature is also a protected attribute: why using it as a
        predictor is lawful and necessary. Shown on the model card.
    """

    name: str = Field(min_length=1)
    kind: Literal["numeric", "categorical", "binary"]
    description: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    unit: str | None = None
    justification: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        if self.kind != "numeric" and (self.min is not None or self.max is not None):
            raise ValueError(f"min/max only apply to numeric features, not {self.kind}")
        if self.kind != "categorical" and self.categories is not None:
            raise ValueError(f"categories only apply to categorical features, not {self.kind}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            raise ValueError("categories contain duplicates")
        return self


class ProtectedAttribute(_Strict):
    """A protected characteristic (sex, ethnicity, age band ...) used for auditing only."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    categories: list[str] | None = None


class DatasetSpec(_Strict):
    """Describes a labelled frame: target, identifiers, features and protected attributes.

    Protected attributes are for auditing: listing one among ``features`` without a
    written ``justification`` is an error.

    ``display`` names columns that travel onto a risk list unchanged beside the id and
    the person (e.g. ``establishment``, ``wing``, a name where a site supplies it); they
    are read at scoring and never become model inputs because of it.

    ``outcome_window_days`` is how long after a snapshot the target is observed (e.g. 90
    for "an incident in the 90 days after"): monitoring accepts outcomes of a scored
    snapshot only once that window has passed.

    ``batch`` names the column that says which part of the population a row comes from
    (e.g. ``establishment``). Scoring batches are then checked for drift against the
    training rows of the same parts, so that a batch from one establishment is compared
    with that establishment, not with the whole estate (see ``docs/data.md``). It may
    be a feature; it cannot be the target, id, time or person column, nor a protected
    attribute that is not a feature (those are not read at scoring).

    Examples
    --------
    >>> spec = DatasetSpec(
    ...     name="demo", target="incident", target_description="Incident in 90 days",
    ...     id="row_id",
    ...     features=[FeatureSpec(name="age", kind="numeric", description="Age", min=18)],
    ...     protected=[ProtectedAttribute(name="sex", description="Sex")],
    ... )
    >>> frame = pd.DataFrame({"row_id": [1, 2], "incident": [0, 1], "age": [30, 41],
    ...                       "sex": ["F", "M"]})
    >>> spec.validate(frame).shape
    (2, 4)
    >>> spec.feature_names, spec.protected_names
    (['age'], ['sex'])
    """

    name: str = Field(min_length=1)
    description: str = ""
    target: str = Field(min_length=1)
    target_description: str = Field(min_length=1)
    id: str = Field(min_length=1)
    time: str | None = None
    person: str | None = None
    features: list[FeatureSpec] = Field(min_length=1)
    protected: list[ProtectedAttribute] = Field(default_factory=list)
    baseline_features: list[str] | None = None
    batch: str | None = Field(default=None, min_length=1)
    display: list[str] = Field(default_factory=list)
    outcome_window_days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _check(self) -> DatasetSpec:
        problems = []
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"feature names repeated: {dupes}")
        roles = {"target": self.target, "id": self.id, "time": self.time, "person": self.person}
        for role, col in roles.items():
            if col is not None and col in names:
                problems.append(f"the {role} column {col!r} cannot also be a feature")
        for f in self.features:
            if f.name in self.protected_names and not (f.justification or "").strip():
                problems.append(
                    f"protected attribute {f.name!r} is listed as a feature without a "
                    "written justification; protected attributes are for auditing only "
                    "(remove it from features, or add `justification:` explaining why its "
                    "use is lawful and necessary)"
                )
        for b in self.baseline_features or []:
            if b not in names:
                problems.append(f"baseline feature {b!r} is not among the features")
        if self.batch is not None:
            role = next((r for r, col in roles.items() if col == self.batch), None)
            if role is not None:
                problems.append(f"the batch column {self.batch!r} cannot also be the {role}")
            elif self.batch in self.protected_names and self.batch not in names:
                problems.append(
                    f"the batch column {self.batch!r} is a protected attribute, which is not "
                    "read at scoring; name a column that says where a row comes from (e.g. "
                    "establishment)"
                )
        for c in self.display:
            if c in (self.target, *self.protected_names):
                problems.append(
                    f"display column {c!r} is the target or a protected attribute: a risk "
                    "list never shows either"
                )
        if len(set(self.display)) != len(self.display):
            problems.append("display columns are repeated")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------------ accessors
    @property
    def feature_names(self) -> list[str]:
        """Names of the model's input features, in spec order."""
        return [f.name for f in self.features]

    @property
    def protected_names(self) -> list[str]:
        """Names of the protected attributes (audited, not predicted from)."""
        return [p.name for p in self.protected]

    def feature(self, name: str) -> FeatureSpec:
        """The :class:`FeatureSpec` called ``name`` (SchemaError if absent)."""
        for f in self.features:
            if f.name == name:
                return f
        raise SchemaError(
            Problem(
                column=name,
                found="not a feature of this spec",
                hint=f"features are {self.feature_names}",
            )
        )

    def columns(self, *, target: bool = True, protected: bool = True) -> list[str]:
        """Every column the spec names (optionally without target/protected)."""
        cols = [self.id]
        cols += [c for c in (self.time, self.person) if c is not None]
        if target:
            cols.append(self.target)
        cols += self.feature_names
        if self.batch is not None and self.batch not in cols:
            cols.append(self.batch)
        if protected:
            cols += [p for p in self.protected_names if p not in cols]
        return cols

    # ------------------------------------------------------------------ YAML I/O
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSpec:
        """Build a spec from a plain mapping (SchemaError listing every problem)."""
        if not isinstance(data, dict):
            raise SchemaError(
                Problem(
                    column=None,
                    found=f"expected a mapping, got {type(data).__name__}",
                    hint="see docs/data.md",
                ),
                context="Invalid DatasetSpec",
            )
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> DatasetSpec:
        """Read a spec from a YAML file.

        Raises
        ------
        SchemaError
            If the file is missing, is not valid YAML, or does not describe a valid spec.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise SchemaError(
                Problem(
                    column=None, found=f"cannot read {p}: {err.strerror}", hint="check the path"
                ),
                context="Invalid DatasetSpec",
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SchemaError(
                Problem(
                    column=None, found=f"{p} is not valid YAML ({err})", hint="fix the YAML syntax"
                ),
                context="Invalid DatasetSpec",
            ) from None
        return cls.from_dict(data)

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the spec as YAML (atomically) and return the text."""
        text = yaml.safe_dump(
            self.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
        )
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    # ------------------------------------------------------------------ validation
    def validate(  # type: ignore[override]
        self,
        frame: pd.DataFrame,
        *,
        require_target: bool = True,
        require_protected: bool = True,
    ) -> pd.DataFrame:
        """Check ``frame`` against the spec and return it, or raise listing every problem.

        Parameters
        ----------
        frame : pandas.DataFrame
        require_target : bool, default True
            Scoring unlabelled people does not need the target column.
        require_protected : bool, default True
            Audits need protected attributes; scoring does not.

        Returns
        -------
        pandas.DataFrame
            The same data (the caller's frame is never modified).

        Raises
        ------
        SchemaError
            With one :class:`~riskmodels.errors.Problem` per issue: missing columns,
            wrong dtypes, out-of-range values, unseen categories, non-binary target,
            NaN in id or target, duplicate ids within a snapshot, empty frame.
        """
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(
                Problem(
                    column=None,
                    found=f"expected a pandas DataFrame, got {type(frame).__name__}",
                    hint="load the data with riskmodels.datasets.read_frame",
                )
            )
        problems: list[Problem] = []
        if len(frame) == 0:
            problems.append(Problem(None, "the frame has 0 rows", "pass a non-empty frame"))
        needed = self.columns(target=require_target, protected=require_protected)
        missing = [c for c in needed if c not in frame.columns]
        for c in missing:
            problems.append(Problem(c, "column is missing", "add it, or fix the name in the spec"))
        present = set(frame.columns)

        if require_target and self.target in present:
            y = frame[self.target]
            n_na = int(y.isna().sum())
            if n_na:
                problems.append(
                    Problem(
                        self.target, f"{n_na} missing target value(s)", "drop or label those rows"
                    )
                )
            bad = _non_binary_values(y)
            if bad:
                problems.append(
                    Problem(
                        self.target,
                        f"target is not binary: values {bad} besides 0/1",
                        "encode the outcome as 0/1",
                    )
                )
        if self.id in present:
            n_na = int(frame[self.id].isna().sum())
            if n_na:
                problems.append(
                    Problem(self.id, f"{n_na} missing id value(s)", "every row needs an id")
                )
            keys = [self.id] + ([self.time] if self.time and self.time in present else [])
            n_dup = int(frame.duplicated(subset=keys).sum())
            if n_dup:
                ex = frame.loc[frame.duplicated(subset=keys), self.id].head(_MAX_EXAMPLES)
                where = "within a snapshot" if len(keys) > 1 else ""
                problems.append(
                    Problem(
                        self.id,
                        f"{n_dup} duplicate id(s) {where} (e.g. {ex.tolist()})".replace("  ", " "),
                        "ids must be unique per snapshot; deduplicate",
                    )
                )
        if self.person and self.person in present and self.time and self.time in present:
            # the same person twice in one snapshot would be scored (and listed) twice;
            # without a time column, rows of one person are a history, not duplicates
            pkeys = [self.person, self.time]
            twice = frame.duplicated(subset=pkeys, keep=False)
            if twice.any():
                people = pd.unique(frame.loc[twice, self.person])
                where = " within a snapshot"
                problems.append(
                    Problem(
                        self.person,
                        f"{len(people)} person(s) on more than one row{where} (e.g. "
                        f"{people[:_MAX_EXAMPLES].tolist()})",
                        "keep one row per person and snapshot (the latest record) and score again",
                    )
                )
        if self.time and self.time in present:
            t = frame[self.time]
            if not pd.api.types.is_datetime64_any_dtype(t):
                parsed = pd.to_datetime(t, errors="coerce")
                n_bad = int((parsed.isna() & t.notna()).sum())
                if n_bad:
                    problems.append(
                        Problem(
                            self.time,
                            f"{n_bad} value(s) are not dates "
                            f"(e.g. {t[parsed.isna() & t.notna()].head(3).tolist()})",
                            "use ISO dates (YYYY-MM-DD) or datetime64",
                        )
                    )
            if int(t.isna().sum()):
                problems.append(
                    Problem(
                        self.time,
                        f"{int(t.isna().sum())} missing snapshot date(s)",
                        "every row needs its snapshot date",
                    )
                )
        for f in self.features:
            if f.name in present:
                problems += _check_feature(f, frame[f.name])
        for p in self.protected:
            if p.name in present and p.categories is not None:
                problems += _check_categories(
                    p.name, frame[p.name], p.categories, allow_missing=True
                )
        if problems:
            raise SchemaError(problems)
        return frame.copy(deep=False)


def _non_binary_values(s: pd.Series) -> list[Any]:
    vals = pd.unique(s.dropna())
    bad = [
        v
        for v in vals
        if not (isinstance(v, (bool, np.bool_)) or (_is_number(v) and float(v) in (0.0, 1.0)))
    ]
    return sorted(map(str, bad))[:_MAX_EXAMPLES]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _is_string_like(s: pd.Series) -> bool:
    return (
        pd.api.types.is_string_dtype(s)
        or pd.api.types.is_object_dtype(s)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def _check_categories(
    name: str, s: pd.Series, allowed: list[str], *, allow_missing: bool = True
) -> list[Problem]:
    vals = s.dropna().astype(str)
    unseen = sorted(set(pd.unique(vals)) - set(allowed))
    if unseen:
        n = int(vals.isin(unseen).sum())
        return [
            Problem(
                name,
                f"{n} value(s) in categories not in the spec: {unseen[:_MAX_EXAMPLES]}",
                f"allowed: {allowed}; add them to the spec or recode them",
            )
        ]
    return []


def _check_feature(f: FeatureSpec, s: pd.Series) -> list[Problem]:
    if f.kind == "numeric":
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            ex = s.dropna().head(3).tolist()
            return [
                Problem(
                    f.name,
                    f"expected numeric values, found dtype {s.dtype} (e.g. {ex})",
                    "convert with pd.to_numeric or fix the spec's kind",
                )
            ]
        problems = []
        if f.min is not None:
            low = s < f.min
            if low.any():
                problems.append(
                    Problem(
                        f.name,
                        f"{int(low.sum())} value(s) below the minimum {f.min} (smallest {s.min()})",
                        "fix the data or widen the spec's range",
                    )
                )
        if f.max is not None:
            high = s > f.max
            if high.any():
                problems.append(
                    Problem(
                        f.name,
                        f"{int(high.sum())} value(s) above the maximum {f.max} (largest {s.max()})",
                        "fix the data or widen the spec's range",
                    )
                )
        return problems
    if f.kind == "binary":
        if not (pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)):
            return [
                Problem(
                    f.name,
                    f"expected 0/1 values, found dtype {s.dtype}",
                    "encode the feature as 0/1",
                )
            ]
        bad = _non_binary_values(s)
        if bad:
            return [
                Problem(
                    f.name,
                    f"binary feature has values {bad} besides 0/1",
                    "encode the feature as 0/1 or declare it numeric",
                )
            ]
        return []
    # categorical
    if not (
        _is_string_like(s) or pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s)
    ):
        return [
            Problem(
                f.name,
                f"expected categories (strings), found dtype {s.dtype}",
                "convert to strings or declare the feature numeric",
            )
        ]
    if f.categories is not None:
        return _check_categories(f.name, s, f.categories)
    return []
