"""The release policy: a YAML document of purposes and gate thresholds, validated strictly."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from riskmodels._io import atomic_write_text
from riskmodels.errors import PolicyError, PolicyViolation, Problem, SchemaError

if TYPE_CHECKING:
    # cards sits beside policy and imports it; policy only names the context's type
    from riskmodels.cards._context import CardContext
    from riskmodels.modeling import Evidence, RiskModel
    from riskmodels.policy._gates import GateReport

__all__ = [
    "NON_OPERATIONAL_PURPOSES",
    "REQUIRED_PROHIBITED",
    "ApprovalsPolicy",
    "Bands",
    "DocumentationPolicy",
    "DriftPolicy",
    "FairnessPolicy",
    "FeaturesPolicy",
    "Policy",
    "ReliabilityPolicy",
    "ValidityPolicy",
]

#: Purposes every policy must prohibit: decisions about liberty or punishment that a
#: statistical score must not drive (DESIGN.md principle 1). A policy may add to them,
#: never drop them.
REQUIRED_PROHIBITED = (
    "sentencing",
    "parole_decisions",
    "automated_restrictions",
    "disciplinary_decisions",
)
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]*$")
#: The only purposes a ``development`` policy may permit: work on the model itself, never
#: a list that reaches people. A development release loads without signatures, so it
#: must not be able to produce an operational list.
NON_OPERATIONAL_PURPOSES = ("development_testing", "research_evaluation")


class _KeyedError(ValueError):
    """A cross-field check failure that knows which key (below its model) it concerns."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    """(dotted key, message) for every problem in a pydantic error, nested ones flattened."""
    out = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        original = (e.get("ctx") or {}).get("error")
        if isinstance(original, PolicyError) and hasattr(original, "problems"):
            # a section's own __init__ already converted its errors: re-key them
            out += [(".".join([*loc, k]), m) for k, m in original.problems]
            continue
        if isinstance(original, _KeyedError):
            loc.append(original.key)
            msg = str(original)
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key; remove it or fix its spelling (see fairness/policy.yaml)"
            elif e["type"] == "missing":
                msg = "required key is missing; every threshold must be stated explicitly"
        out.append((".".join(loc) or "<policy>", msg))
    return out


def _policy_error(err: ValidationError) -> PolicyError:
    """One PolicyError naming the first offending key and listing every problem."""
    problems = _problems(err)
    n = len(problems)
    lines = [f"Invalid policy ({n} problem{'s' if n != 1 else ''}):"]
    lines += [f"  - {k}: {m}" for k, m in problems]
    exc = PolicyError("\n".join(lines), key=problems[0][0] if problems else None)
    exc.problems = problems  # type: ignore[attr-defined]
    return exc


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        # Every validation problem becomes one PolicyError naming the key.
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise _policy_error(err) from None


def _check_range(value: tuple[float, float]) -> tuple[float, float]:
    lo, hi = value
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ValueError(f"expected [low, high] with low < high, got [{lo}, {hi}]")
    return value


class ReliabilityPolicy(_Section):
    """Sample size, discrimination and calibration bounds (all required).

    Gates: ``reliability.events`` / ``.nonevents`` (too few -> ``insufficient_evidence``
    for every reliability gate), ``.auc``, ``.auc_lower``, ``.auc_gain`` (warn only),
    ``.brier_skill``, ``.calibration_slope``, ``.calibration_intercept``, ``.oe_ratio``,
    ``.ece``. Each compares the point estimate with its bound (``auc_lower`` uses the CI
    lower bound) and reports the CI. Optional: ``require_net_benefit`` (default off) adds
    ``reliability.net_benefit``: at the operational threshold the model's net benefit must
    exceed both acting on everyone and acting on no one (Vickers & Elkin 2006); ``fail``
    when its CI lies wholly below the better default, ``warn`` when the point is below but
    the CI reaches across.
    """

    min_events: int = Field(ge=1)
    min_nonevents: int = Field(ge=1)
    min_auc: float = Field(ge=0.5, le=1.0)
    min_auc_lower: float = Field(ge=0.5, le=1.0)
    min_auc_gain_over_baseline: float = Field(ge=-1.0, le=1.0)
    min_brier_skill: float = Field(ge=-1.0, lt=1.0)
    calibration_slope: tuple[float, float]
    calibration_intercept: tuple[float, float]
    oe_ratio: tuple[float, float]
    max_ece: float = Field(gt=0.0, le=1.0)
    require_net_benefit: bool = False

    _ranges = field_validator("calibration_slope", "calibration_intercept", "oe_ratio")(
        _check_range
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReliabilityPolicy:
        if self.min_auc_lower > self.min_auc:
            raise _KeyedError(
                "min_auc_lower",
                f"{self.min_auc_lower} is above min_auc {self.min_auc}; a CI lower bound "
                "cannot be required to exceed the point estimate's bound",
            )
        if self.oe_ratio[0] <= 0:
            raise _KeyedError("oe_ratio", "observed/expected bounds must be positive")
        return self


class FairnessPolicy(_Section):
    """Which fairness criterion is prioritised, gap bounds and per-group adequacy.

    Gap gates judge only adequate groups, with one rule: ``fail`` when the estimate's CI
    lies entirely beyond the bound, ``warn`` when the point estimate is beyond it but the
    CI reaches inside, ``pass`` otherwise (groups too small to judge are named, and block
    through ``fairness.group_adequacy``). Observed/expected events per group ``fail`` only
    when their exact Poisson CI excludes 1 and the ratio is outside ``group_oe_ratio``
    (judged in groups of ``min_group_size`` rows where observed *or* expected events reach
    ``min_group_events``, :func:`~riskmodels.policy._calibration.oe_judgeable`);
    the per-group ECE is debiased and can at most warn (``policy/_calibration.py``). Gates
    of the criterion that is *not* prioritised can at most warn (Chouldechova 2017;
    Kleinberg et al. 2016: with different base rates both criteria cannot hold).
    """

    criterion: Literal["calibration_within_groups", "error_rate_balance"]
    criterion_rationale: str = Field(min_length=1)
    max_fpr_gap: float = Field(gt=0.0, lt=1.0)
    max_fnr_gap: float = Field(gt=0.0, lt=1.0)
    group_oe_ratio: tuple[float, float]
    max_group_ece: float = Field(gt=0.0, le=1.0)
    min_group_size: int = Field(ge=1)
    min_group_events: int = Field(ge=1)
    min_group_nonevents: int = Field(ge=1)
    gate_intersections: bool
    #: The group each attribute's disparities are read against (e.g. ``{"ethnicity":
    #: "White"}``); an attribute not named uses the audit's largest group. Evidence
    #: assessed against another reference cannot pass the gap gates.
    reference_groups: dict[str, str] = Field(default_factory=dict)

    _range = field_validator("group_oe_ratio")(_check_range)

    @field_validator("criterion_rationale")
    @classmethod
    def _non_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a written rationale for the prioritised criterion is required")
        return v.strip()

    @model_validator(mode="after")
    def _consistent(self) -> FairnessPolicy:
        if self.group_oe_ratio[0] <= 0:
            raise _KeyedError("group_oe_ratio", "observed/expected bounds must be positive")
        return self

    def adequate(self, by_group: Any) -> np.ndarray:
        """Which rows of a ``FairnessAudit.by_group`` table are large enough to judge.

        The one adequacy rule: the gates and the model card both use it, so a group the
        card shows as judged is never one the gates call too small. A group needs the
        audit's own adequacy (both classes present, at least its ``min_group_size``) and
        ``min_group_size`` rows, ``min_group_events`` events and ``min_group_nonevents``
        non-events here.

        Examples
        --------
        >>> import pandas as pd
        >>> f = Policy.default().fairness
        >>> bg = pd.DataFrame({"adequate": [True, True], "n": [500, 500],
        ...                    "n_pos": [40, 12], "n_neg": [460, 488]})
        >>> f.adequate(bg).tolist()
        [True, False]
        """
        return np.asarray(
            by_group["adequate"].astype(bool)
            & (by_group["n"] >= self.min_group_size)
            & (by_group["n_pos"] >= self.min_group_events)
            & (by_group["n_neg"] >= self.min_group_nonevents),
            dtype=bool,
        )


class FeaturesPolicy(_Section):
    """What a protected attribute used as a feature, or a proxy feature, does to its gate."""

    protected_as_feature: Literal["warn", "fail"]
    proxies: Literal["warn", "fail"]


class DriftPolicy(_Section):
    """When a scoring batch differs from the population it should come from.

    Each feature's binned counts in the batch are compared with its reference: the
    training data or, when the spec names a ``batch`` column (e.g. ``establishment``),
    the training rows of the batch's values, in the batch's proportions. A feature is
    *drifted* only when both hold:

    * **beyond chance**: a multinomial goodness-of-fit (G) test of the counts against the
      reference shares, with a Monte Carlo p-value (valid at any batch size, widened for
      the reference's own sampling noise), is significant after Holm's correction across
      the features at ``significance``, which is therefore the family-wise false-alarm
      rate: the chance that a batch from the reference population has any feature called
      changed;
    * **large enough to matter**: its PSI (population stability index) exceeds
      ``psi_refuse``, so that a large batch is not refused for a trivial shift.

    A significant change with PSI between ``psi_warn`` and ``psi_refuse`` is marked for
    review; features with PSI below ``psi_warn`` are not tested. ``on_drift`` says whether
    a drifted batch is refused or scored with a warning.

    Measured with the default values on the synthetic prison data
    (``tests/scoring/test_drift.py``): random batches of 30 to 100,000 rows from the
    training population refused in 2 of 5,400 (0.04%); batches of one establishment's
    people (30 to 1,000) in 3 of 11,000 (0.03%); batches of 200 rows with ages 10 years
    higher, or with a feature 50% missing, refused in 100% (500 of 500 for each shift).
    """

    psi_warn: float = Field(gt=0.0)
    psi_refuse: float = Field(gt=0.0)
    on_drift: Literal["refuse", "flag"]
    # the Monte Carlo test simulates about 2 * features / significance batches
    significance: float = Field(ge=1e-4, le=0.1)

    @model_validator(mode="after")
    def _consistent(self) -> DriftPolicy:
        if self.psi_refuse < self.psi_warn:
            raise _KeyedError("psi_refuse", f"{self.psi_refuse} is below psi_warn {self.psi_warn}")
        return self


class ValidityPolicy(_Section):
    """How long an approval lasts at most."""

    max_days: int = Field(ge=1, le=3660)


class ApprovalsPolicy(_Section):
    """Who must sign a release before it may score anyone.

    ``required`` distinct keys from the scoring site's trust store must each sign the
    release (one key counts once; the model's author never counts). When ``roles`` is
    not empty, every role listed must be claimed by at least one of those approvals
    (e.g. a model owner and an independent ethics reviewer).
    """

    required: int = Field(ge=1, le=10)
    roles: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _role_names(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if not isinstance(r, str) or not _PURPOSE.match(r)]
        if bad:
            raise ValueError(f"roles must be snake_case names, got {bad}")
        if len(set(v)) != len(v):
            raise ValueError("roles are repeated")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalsPolicy:
        if len(self.roles) > self.required:
            raise _KeyedError(
                "roles",
                f"{len(self.roles)} roles need at least {len(self.roles)} approvals, but "
                f"required is {self.required}",
            )
        return self


class MonitoringPolicy(_Section):
    """What live evidence a release must keep meeting (``rm.monitoring.report``).

    ``automation_bias``: staff agree with the flag in at least ``max_agreement`` of at
    least ``min_reviews`` reviews in a period; a sign the list is followed rather than
    judged (a warning for the service to act on, never a suspension by itself).
    ``min_review_coverage``: the share of flagged people with a recorded decision
    (warning below it). ``suspend_on_calibration``: a group whose matured outcomes show
    it miscalibrated by the fairness gate's rule (observed/expected outside
    ``fairness.group_oe_ratio`` and its exact interval excluding 1, in an adequate group)
    suspends the release, as does the whole population by the same rule on
    ``reliability.oe_ratio``.
    """

    min_reviews: int = Field(default=50, ge=1)
    max_agreement: float = Field(default=0.98, gt=0.0, le=1.0)
    min_review_coverage: float = Field(default=0.8, ge=0.0, le=1.0)
    suspend_on_calibration: bool = True


class DocumentationPolicy(_Section):
    """Model-card requirements."""

    card_complete: bool


class Bands(_Section):
    """Cut points on the calibrated score and the label of each band.

    A score equal to a cut point belongs to the higher band (the one threshold convention:
    ``score >= cut``). A cut may be the word ``threshold``: the release's flag threshold,
    so that the flag is a band edge and no flagged person is ever in the lowest band.
    :meth:`resolve` puts the threshold in; a policy whose bands contradict a model's
    threshold fails the ``policy.bands`` gate, which cannot be waived.

    Examples
    --------
    >>> b = Bands(cuts=[0.05, 0.2], labels=["low", "medium", "high"])
    >>> b.assign(np.array([0.01, 0.05, 0.5])).tolist()
    ['low', 'medium', 'high']
    >>> t = Bands(cuts=["threshold", 0.2], labels=["low", "medium", "high"])
    >>> t.resolve(0.036), t.assign(np.array([0.03, 0.04]), threshold=0.036).tolist()
    ([0.036, 0.2], ['low', 'medium'])
    """

    cuts: list[float | Literal["threshold"]] = Field(min_length=1)
    labels: list[str] = Field(min_length=2)

    @model_validator(mode="after")
    def _consistent(self) -> Bands:
        if self.cuts.count("threshold") > 1:
            raise _KeyedError("cuts", "'threshold' may appear once")
        c = [x for x in self.cuts if x != "threshold"]
        if any(not (0.0 < x < 1.0) for x in c):
            raise _KeyedError("cuts", f"cut points must lie strictly between 0 and 1, got {c}")
        if any(b <= a for a, b in itertools.pairwise(c)):
            raise _KeyedError("cuts", f"cut points must be strictly increasing, got {c}")
        if len(self.labels) != len(self.cuts) + 1:
            raise _KeyedError(
                "labels",
                f"{len(self.cuts)} cut point(s) make {len(self.cuts) + 1} bands, but "
                f"{len(self.labels)} labels were given",
            )
        if len(set(self.labels)) != len(self.labels) or any(not s.strip() for s in self.labels):
            raise _KeyedError("labels", "labels must be distinct and non-empty")
        return self

    def resolve(self, threshold: float | None = None) -> list[float]:
        """The numeric cut points, with ``threshold`` in place of the word ``threshold``.

        Raises
        ------
        PolicyError
            ``key="bands.cuts"``: the cuts need a threshold and none was given, or the
            threshold equals a fixed cut.
        """
        if "threshold" in self.cuts and threshold is None:
            raise PolicyError(
                "The bands use the release's flag threshold; give it", key="bands.cuts"
            )
        # sorted: a threshold above a fixed cut moves up the ladder (the bands stay in
        # order of risk, and the flag stays an edge, so no flagged person is ever in a
        # band below an unflagged one)
        cuts = sorted(float(threshold) if c == "threshold" else float(c) for c in self.cuts)
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise PolicyError(
                f"Bands {self.cuts} with the threshold {threshold} give a repeated cut point "
                f"({cuts}); move the fixed cut",
                key="bands.cuts",
            )
        return cuts

    def codes(self, scores: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Band index of each score (0 = lowest); NaN scores get -1."""
        s = np.asarray(scores, dtype=float)
        cuts = np.asarray(self.resolve(threshold))
        out = np.searchsorted(cuts, s, side="right").astype(np.int64)
        out[np.isnan(s)] = -1
        return out

    def span_labels(self) -> list[str]:
        """Every band and every run of adjacent bands a score's range can cover, in order
        of risk: ``low``, ``low to medium``, ``medium``, ``low to high``, ...

        Examples
        --------
        >>> Bands(cuts=[0.05, 0.2], labels=["low", "medium", "high"]).span_labels()
        ['low', 'low to medium', 'medium', 'low to high', 'medium to high', 'high']
        """
        return [self._span_label(i, j) for i, j in self._spans()]

    def span_codes(
        self, low: np.ndarray, high: np.ndarray, threshold: float | None = None
    ) -> np.ndarray:
        """Index into :meth:`span_labels` of each range ``[low, high]``: its band when the
        whole range lies inside one, else the run of bands it spans; -1 where NaN.

        Examples
        --------
        >>> b = Bands(cuts=[0.05, 0.2], labels=["low", "medium", "high"])
        >>> codes = b.span_codes(np.array([0.01, 0.04, 0.3]), np.array([0.03, 0.25, 0.4]))
        >>> [b.span_labels()[c] for c in codes]
        ['low', 'low to high', 'high']
        """
        lo, hi = self.codes(low, threshold), self.codes(high, threshold)
        index = {span: n for n, span in enumerate(self._spans())}
        k = len(self.labels)
        table = np.full((k, k), -1, dtype=np.int64)
        for (i, j), n in index.items():
            table[i, j] = n
        out = table[np.maximum(lo, 0), np.maximum(hi, 0)]
        out[(lo < 0) | (hi < 0)] = -1
        return out

    def _spans(self) -> list[tuple[int, int]]:
        k = len(self.labels)
        # by the middle of the run, the narrower run first: ranges sort between the bands
        # they join
        return sorted(
            ((i, j) for i in range(k) for j in range(i, k)), key=lambda s: (s[0] + s[1], s[1])
        )

    def _span_label(self, i: int, j: int) -> str:
        return self.labels[i] if i == j else f"{self.labels[i]} to {self.labels[j]}"

    def assign(self, scores: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Band label of each score (``None`` for NaN), as an object array."""
        codes = self.codes(scores, threshold)
        labels = np.array([*self.labels, None], dtype=object)
        return labels[codes]


def _purposes(v: list[str]) -> list[str]:
    bad = [p for p in v if not isinstance(p, str) or not _PURPOSE.match(p)]
    if bad:
        raise ValueError(f"purposes must be snake_case names, got {bad}")
    if len(set(v)) != len(v):
        raise ValueError("purposes are repeated")
    return v


class Policy(_Section):
    """A release policy: permitted and prohibited purposes and every gate's threshold.

    Load one with :meth:`from_yaml` (or :meth:`default`); every key is required, unknown
    keys and invalid values raise :class:`~riskmodels.errors.PolicyError` naming the key
    (e.g. ``reliability.min_auc``). ``decision_support_only: false`` is not a valid policy.

    Examples
    --------
    >>> policy = Policy.default()
    >>> policy.decision_support_only, policy.fairness.criterion
    (True, 'calibration_within_groups')
    >>> policy.check_purpose("prioritise_welfare_review")
    >>> policy.check_purpose("sentencing")
    Traceback (most recent call last):
    ...
    riskmodels.errors.PolicyViolation: Purpose 'sentencing' is prohibited by policy ...
    >>> Policy.from_dict({**policy.to_dict(), "decision_support_only": False})
    Traceback (most recent call last):
    ...
    riskmodels.errors.PolicyError: Invalid policy (1 problem):
      - decision_support_only: ...
    """

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    decision_support_only: bool
    environment: Literal["production", "development"]
    approvals: ApprovalsPolicy
    permitted_purposes: list[str] = Field(min_length=1)
    prohibited_purposes: list[str]
    reliability: ReliabilityPolicy
    fairness: FairnessPolicy
    features: FeaturesPolicy
    drift: DriftPolicy
    validity: ValidityPolicy
    documentation: DocumentationPolicy
    bands: Bands
    # optional, so policies written before monitoring existed still load (with these
    # documented defaults)
    monitoring: MonitoringPolicy = Field(default_factory=MonitoringPolicy)

    _source: str | None = PrivateAttr(default=None)

    @field_validator("decision_support_only")
    @classmethod
    def _support_only(cls, v: bool) -> bool:
        if v is not True:
            raise ValueError(
                "must be true: a riskmodels release supports, and never replaces, a human "
                "decision (DESIGN principle 1; UK GDPR Art. 22A-22D)"
            )
        return v

    _purpose_names = field_validator("permitted_purposes", "prohibited_purposes")(_purposes)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        both = sorted(set(self.permitted_purposes) & set(self.prohibited_purposes))
        if both:
            raise _KeyedError("permitted_purposes", f"{both} are also prohibited")
        if self.environment == "development":
            operational = [p for p in self.permitted_purposes if p not in NON_OPERATIONAL_PURPOSES]
            if operational:
                raise _KeyedError(
                    "permitted_purposes",
                    f"{operational} cannot be permitted by a development policy: its "
                    "releases load without signatures, so they may only serve "
                    f"{list(NON_OPERATIONAL_PURPOSES)}. Use environment: production for an "
                    "operational list",
                )
        missing = [p for p in REQUIRED_PROHIBITED if p not in self.prohibited_purposes]
        if missing:
            raise _KeyedError(
                "prohibited_purposes",
                f"must include {missing}: every policy prohibits {list(REQUIRED_PROHIBITED)}",
            )
        return self

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        """Build a policy from a plain mapping (PolicyError naming the bad key)."""
        if not isinstance(data, dict):
            raise PolicyError(
                f"Invalid policy: expected a mapping of keys, got {type(data).__name__}",
                key="<policy>",
            )
        return cls(**data)

    @classmethod
    def from_text(cls, text: str) -> Policy:
        """Parse YAML text; the text (comments included) is kept for :meth:`to_yaml`."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise PolicyError(f"Invalid policy: not valid YAML ({err})", key="<policy>") from None
        policy = cls.from_dict(data)
        policy._source = text
        return policy

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Policy:
        """Read a policy file.

        Raises
        ------
        PolicyError
            The file cannot be read, is not YAML, has an unknown key or an invalid value
            (``key`` names it, dotted: ``"reliability.min_auc"``).
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise PolicyError(
                f"Cannot read policy {p}: {err.strerror}; check the path", key="<policy>"
            ) from None
        return cls.from_text(text)

    @classmethod
    def default(cls) -> Policy:
        """The default policy shipped with riskmodels (``fairness/policy.yaml``)."""
        text = resources.files("riskmodels.policy").joinpath("default_policy.yaml")
        return cls.from_text(text.read_text(encoding="utf-8"))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (tuples as lists), the inverse of :meth:`from_dict`."""
        return self.model_dump(mode="json")

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        """The policy as YAML: the original text (with its rationale comments) when it was
        read from YAML, otherwise a plain dump. Written atomically to ``path`` if given."""
        text = self._source or yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            atomic_write_text(path, text)
        return text

    @property
    def sha256(self) -> str:
        """sha256 of :meth:`to_yaml` (identifies the exact policy text a release used)."""
        return hashlib.sha256(self.to_yaml().encode("utf-8")).hexdigest()

    # ------------------------------------------------------------------ use
    def check_purpose(self, purpose: str) -> None:
        """Raise :class:`~riskmodels.errors.PolicyViolation` unless ``purpose`` is permitted.

        The message says whether the purpose is prohibited or unknown and lists the
        permitted purposes.
        """
        permitted = ", ".join(self.permitted_purposes)
        if purpose in self.prohibited_purposes:
            raise PolicyViolation(
                f"Purpose {purpose!r} is prohibited by policy {self.name!r}: risk scores must "
                f"not be used for {', '.join(self.prohibited_purposes)}. Permitted purposes: "
                f"{permitted}.",
                purpose=purpose,
            )
        if purpose not in self.permitted_purposes:
            raise PolicyViolation(
                f"Purpose {purpose!r} is not a permitted purpose of policy {self.name!r}. "
                f"Name one of the permitted purposes: {permitted}.",
                purpose=purpose if isinstance(purpose, str) else None,
            )

    def check(
        self,
        evidence: Evidence,
        *,
        model: RiskModel | None = None,
        context: CardContext | None = None,
        card: object = None,
    ) -> GateReport:
        """Check evidence (and optionally the model and the card's context) against every gate.

        The flow runs one way: the gates read the evidence, the model and what the owners
        wrote (the card's context); the report is then attached to the card with
        ``card.with_gates(report)``. No card has to be built before the check.

        Parameters
        ----------
        evidence : Evidence
            From ``RiskModel.assess``.
        model : RiskModel, optional
            Needed for the gates on features, mitigation and evidence/model identity;
            without it they are ``insufficient_evidence``.
        context : CardContext, optional
            The owners' context of the model card. The ``documentation.card`` gate reads
            its missing required fields; without it that gate is ``insufficient_evidence``.
        card : None
            Removed: passing a built card raises ``SchemaError`` (the check used to read
            ``card.complete``, which made every caller build the card twice). Pass
            ``context=card.context`` instead.

        Returns
        -------
        GateReport
            One row per gate: ``pass | warn | fail | insufficient_evidence``, the value,
            the bound, the CI and one sentence saying why.

        Raises
        ------
        SchemaError
            ``card=`` was given (see above).

        Examples
        --------
        >>> import riskmodels as rm
        >>> from riskmodels.cards import CardContext
        >>> frame, spec = rm.datasets.make_prison_incidents(n_people=600, months=3, seed=1)
        >>> train, test = rm.split(frame, spec)
        >>> model = rm.RiskModel(spec, estimator="logistic").fit(train)
        >>> evidence = model.assess(test, n_boot=50, fairness=False, explain=False)
        >>> report = Policy.default().check(evidence, model=model, context=CardContext())
        >>> report["documentation.card"].status
        'fail'
        """
        from riskmodels.policy._check import check_policy

        if card is not None:
            raise SchemaError(
                Problem(
                    "card",
                    "Policy.check no longer reads a built model card",
                    "pass context=card.context (the documentation gate reads the owners' "
                    "missing fields), then attach the report with card.with_gates(report)",
                ),
                context="Invalid argument to Policy.check",
            )
        return check_policy(self, evidence, model=model, context=context)

    def __eq__(self, other: object) -> bool:
        # equal content is an equal policy, whether or not it was read with comments
        if not isinstance(other, Policy):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return (
            f"Policy(name={self.name!r}, version={self.version!r}, "
            f"criterion={self.fairness.criterion!r}, "
            f"permitted_purposes={self.permitted_purposes})"
        )
