"""A synthetic prison population with self-harm or violence outcomes, for teaching and tests.

Real prison data is not public. This generator produces monthly person-level snapshots of
a prison population whose make-up, risk factors and base rates follow published figures
(Ministry of Justice Safety in Custody statistics; Hawton et al. 2014; Favril et al. 2020;
Cunningham & Sorensen 2007), with two knobs that plant realistic problems for audits to
find: under-recording of incidents for a named group, and an establishment allocation that
makes ``establishment`` a proxy for ethnicity.

Everything is vectorised over people and rows; the only Python loop runs over months.
``docs/data.md`` documents every number used here and where it comes from.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from riskmodels.data._spec import DatasetSpec, FeatureSpec, ProtectedAttribute
from riskmodels.errors import Problem, SchemaError

__all__ = ["make_prison_incidents"]

# --------------------------------------------------------------------------- population
# Category order is the order of the categorical columns and of the spec's categories.
SEXES = ("Female", "Male")
#: Women are ~4% of the prison population (MoJ, Dec 2024).
WOMEN_SHARE = 0.04
ETHNICITIES = ("White", "Black", "Asian", "Mixed", "Other")
#: MoJ (Dec 2024): White ~72%, Black ~12%, Asian ~8%, other ~8%. The split of "other" into
#: Mixed 5% and Other 3% is an assumption; the same mix is used for both sexes.
ETHNICITY_SHARES = (0.72, 0.12, 0.08, 0.05, 0.03)
AGE_BANDS = ("18-20", "21-29", "30-39", "40-49", "50+")
#: MoJ (Dec 2024): 18-20 ~4%, 20s ~24%, 30s ~33%, 40+ ~38%; the split of 40+ into 40-49
#: 20% and 50+ 18% is an assumption. Shares are normalised (the published ones sum to 99%).
AGE_BAND_SHARES = (0.04, 0.24, 0.33, 0.20, 0.18)
_AGE_EDGES = (18.0, 21.0, 30.0, 40.0, 50.0)
#: Remand (unsentenced) people are ~20% of the population (MoJ, Dec 2024).
REMAND_SHARE = 0.20
LEGAL_STATUSES = ("remand", "sentenced")

# Lengths of stay (assumptions chosen to give a stable population with realistic turnover:
# about one reception per person in custody per year, as in England and Wales).
# Sentence lengths of people *in custody* are log-normal; receptions are the same family
# with the median divided by exp(sigma^2), which is what makes the stock length-biased.
_SENTENCE_MEDIAN_STOCK = 48.0  # months
_SENTENCE_SIGMA = 0.9
_SENTENCE_MAX = 480  # months (40 years); life sentences are not modelled
_REMAND_MEDIAN_STOCK = 120.0  # days
_REMAND_SIGMA = 0.9
_REMAND_MAX = 1000.0  # days
#: Share of remand episodes that end in a custodial sentence (the person stays, sentenced).
_REMAND_TO_SENTENCE = 0.5
_DAYS_PER_MONTH = 365.25 / 12
#: Burn-in months simulated before the first snapshot so that "last 3/6 months" counts and
#: the month-to-month chains are in their steady state at the first snapshot.
_BURN_IN = 6

# --------------------------------------------------------------------------- establishments
# (name, category, sex, home area). The home area is what proxy_strength
# concentrates by: people are held near home, and areas differ in their ethnic mix.
_ESTABLISHMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("Local 1", "local", "Male", "A"),
    ("Local 2", "local", "Male", "B"),
    ("Local 3", "local", "Male", "C"),
    ("Local 4", "local", "Male", "C"),
    ("Training B1", "category_b", "Male", "-"),
    ("Training C1", "category_c", "Male", "A"),
    ("Training C2", "category_c", "Male", "B"),
    ("Training C3", "category_c", "Male", "C"),
    ("Training C4", "category_c", "Male", "C"),
    ("Open D1", "open", "Male", "-"),
    ("High Security 1", "high_security", "Male", "-"),
    ("YOI 1", "young_offender", "Male", "-"),
    ("Women's 1", "women_closed", "Female", "A"),
    ("Women's 2", "women_closed", "Female", "B"),
    ("Women's 3", "women_closed", "Female", "C"),
    ("Women's Open 1", "women_open", "Female", "-"),
)
ESTABLISHMENTS = tuple(e[0] for e in _ESTABLISHMENTS)
ESTABLISHMENT_CATEGORIES = (
    "local",
    "category_b",
    "category_c",
    "open",
    "high_security",
    "young_offender",
    "women_closed",
    "women_open",
)
#: Home area of each ethnic group under proxy_strength > 0 (White: C, Black and Mixed: A,
#: Asian and Other: B). Illustrative, not a description of any real estate.
_HOME_AREA = {"White": "C", "Black": "A", "Asian": "B", "Mixed": "A", "Other": "B"}
#: At proxy_strength=1 an establishment in the person's home area is this many times as
#: likely as one elsewhere in the same category ("strongly concentrated").
_PROXY_MAX_FACTOR = 20.0

# --------------------------------------------------------------------------- outcomes
#: 90-day window of the outcome, and the conversion of an annual person-level share p
#: to it assuming a constant hazard within the year: 1 - (1 - p) ** (90 / 365.25).
HORIZON_DAYS = 90
#: Share of people self-harming in a year (Hawton et al. 2014): men 5-6%, women 20-24%.
SELF_HARM_ANNUAL = {"Male": 0.055, "Female": 0.22}
#: Self-harm incidents per 1,000 by ethnicity (MoJ, 2015); used as relative rates.
SELF_HARM_ETHNICITY_RATE = {"White": 450, "Mixed": 274, "Other": 225, "Asian": 124, "Black": 81}
#: Share of people perpetrating at least one assault in a year (assumption): 356 assaults
#: per 1,000 prisoners per year (MoJ, 12 months to March 2025) with ~3 assaults per
#: perpetrator (heavy tail, as for self-harm's 5.6 incidents per person) gives ~12%.
VIOLENCE_ANNUAL = {"Male": 0.12, "Female": 0.12}

# Log-odds ratios of the outcome models: term -> (log OR, source). Terms are defined on the
# frame's columns in `_terms`. "assumption" means no published adjusted value was used.
#: Favril et al. 2020 pool mostly *unadjusted* odds ratios. Entered jointly at full size
#: they overstate the combined signal (a true-model AUC of ~0.95, far above the ~0.70-0.80
#: reached by published justice risk tools). Assumption: the conditional (mutually
#: adjusted) effect of each factor is half its published log odds ratio, i.e. OR ** 0.5.
#: The published ORs keep their order, which is what the data must teach.
FAVRIL_SHRINK = 0.5
SELF_HARM_LOG_OR: dict[str, float] = {
    "current_suicidal_ideation": FAVRIL_SHRINK * math.log(13.8),  # Favril et al. 2020
    "psychiatric_treatment": FAVRIL_SHRINK * math.log(10.5),  # Favril et al. 2020
    "previous_self_harm": FAVRIL_SHRINK * math.log(6.6),  # Favril et al. 2020
    "any_segregation": FAVRIL_SHRINK * math.log(5.6),  # Favril 2020 (solitary confinement)
    "any_adjudication": FAVRIL_SHRINK * math.log(3.5),  # Favril 2020 (disciplinary infr.)
    "victimisation": FAVRIL_SHRINK * math.log(3.2),  # Favril et al. 2020
    "no_social_visits": FAVRIL_SHRINK * math.log(2.3),  # Favril et al. 2020
    "substance_misuse": FAVRIL_SHRINK * math.log(2.3),  # Favril 2020 (substance use dis.)
    "not_in_work": FAVRIL_SHRINK * math.log(1.9),  # Favril et al. 2020
    "remand": math.log(1.5),  # assumption; direction Hawton 2014 (suicide OR 3.6, Zhong 2021)
    "first_30_days": math.log(2.0),  # assumption; early days are high risk (MoJ)
    "age": -0.02,  # per year; assumption; younger age raises risk (Hawton 2014)
}
VIOLENCE_LOG_OR: dict[str, float] = {
    "age": -0.05,  # per year; assumption; direction Cunningham & Sorensen 2007
    "previous_prison_violence": math.log(3.0),  # assumption; direction C&S 2007
    "gang_affiliation": math.log(2.5),  # assumption; direction C&S 2007
    "previous_prison_term": math.log(1.5),  # assumption; direction C&S 2007
    "short_sentence": math.log(1.5),  # sentenced < 24 months; assumption; C&S 2007
}
_AGE_CENTRE = 40.0
_OUTCOMES = ("self_harm", "violence")
_PROTECTED_CATEGORIES = {"sex": SEXES, "ethnicity": ETHNICITIES, "age_band": AGE_BANDS}


def annual_to_window(p_year: float | np.ndarray, days: int = HORIZON_DAYS) -> np.ndarray:
    """Probability of at least one event in ``days`` given an annual share, at a constant
    hazard: ``1 - (1 - p) ** (days / 365.25)``."""
    return 1.0 - (1.0 - np.asarray(p_year, dtype=float)) ** (days / 365.25)


def window_to_annual(p_window: float | np.ndarray, days: int = HORIZON_DAYS) -> np.ndarray:
    """Inverse of :func:`annual_to_window`: ``1 - (1 - p) ** (365.25 / days)``."""
    return 1.0 - (1.0 - np.asarray(p_window, dtype=float)) ** (365.25 / days)


# =========================================================================== arguments
def _check_args(
    n_people: object,
    outcome: object,
    seed: object,
    months: object,
    label_bias: object,
    proxy_strength: object,
    start: object,
    return_true_outcome: object,
) -> pd.Timestamp | None:
    problems: list[Problem] = []

    def is_int(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if not is_int(n_people) or n_people < 1:  # type: ignore[operator]
        problems.append(
            Problem(
                "n_people", f"n_people={n_people!r} is not a positive integer", "use e.g. 20_000"
            )
        )
    if outcome not in _OUTCOMES:
        problems.append(
            Problem("outcome", f"unknown outcome {outcome!r}", f"use one of {list(_OUTCOMES)}")
        )
    if seed is not None and (not is_int(seed) or seed < 0):  # type: ignore[operator]
        problems.append(
            Problem("seed", f"seed={seed!r} is not a non-negative integer", "use e.g. seed=0")
        )
    if not is_int(months) or not 1 <= months <= 120:  # type: ignore[operator]
        problems.append(
            Problem("months", f"months={months!r} is not an integer in [1, 120]", "use e.g. 12")
        )
    problems += _check_label_bias(label_bias)
    ok_number = isinstance(proxy_strength, (int, float, np.integer, np.floating)) and not (
        isinstance(proxy_strength, (bool, np.bool_))
    )
    if not ok_number or not 0.0 <= float(proxy_strength) <= 1.0:  # type: ignore[arg-type]
        problems.append(
            Problem(
                "proxy_strength",
                f"proxy_strength={proxy_strength!r} is not a number in [0, 1]",
                "0 allocates establishments independently of ethnicity, 1 concentrates "
                "groups strongly; use e.g. 0.5",
            )
        )
    if not isinstance(return_true_outcome, (bool, np.bool_)):
        problems.append(
            Problem(
                "return_true_outcome",
                f"expected True or False, got {return_true_outcome!r}",
                "pass return_true_outcome=True to add the label before under-recording",
            )
        )
    when: pd.Timestamp | None = None
    try:
        if not isinstance(start, (str, dt.date, np.datetime64)):
            raise TypeError
        when = pd.Timestamp(start)
        if pd.isna(when) or when.tzinfo is not None:
            raise ValueError
        when = when.normalize()
    except (TypeError, ValueError):
        problems.append(
            Problem(
                "start",
                f"start={start!r} is not a date",
                "use an ISO date such as '2024-04-01' (no time zone)",
            )
        )
    if problems:
        raise SchemaError(problems, context="Invalid arguments to make_prison_incidents")
    return when


def _check_label_bias(label_bias: object) -> list[Problem]:
    if label_bias is None:
        return []
    hint_shape = 'use e.g. label_bias={"ethnicity": {"Black": 0.6}}'
    if not isinstance(label_bias, Mapping):
        return [
            Problem(
                "label_bias", f"expected a mapping, got {type(label_bias).__name__}", hint_shape
            )
        ]
    problems = []
    for attr, groups in label_bias.items():
        if attr not in _PROTECTED_CATEGORIES:
            problems.append(
                Problem(
                    "label_bias",
                    f"unknown attribute {attr!r}",
                    f"use one of {list(_PROTECTED_CATEGORIES)}; {hint_shape}",
                )
            )
            continue
        if not isinstance(groups, Mapping):
            problems.append(
                Problem(
                    "label_bias",
                    f"label_bias[{attr!r}] must map groups to recording rates, "
                    f"got {type(groups).__name__}",
                    hint_shape,
                )
            )
            continue
        allowed = _PROTECTED_CATEGORIES[attr]
        for group, rate in groups.items():
            if group not in allowed:
                problems.append(
                    Problem(
                        "label_bias",
                        f"unknown {attr} group {group!r}",
                        f"groups of {attr} are {list(allowed)}",
                    )
                )
            is_num = isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(
                rate, (bool, np.bool_)
            )
            if not is_num or not 0.0 <= float(rate) <= 1.0:
                problems.append(
                    Problem(
                        "label_bias",
                        f"recording rate {rate!r} for {attr}={group!r} is not in [0, 1]",
                        "give the share of true incidents that get recorded, e.g. 0.6",
                    )
                )
    return problems


# =========================================================================== population
@dataclass
class _People:
    """Per-person arrays, one entry per person (stock first, then receptions)."""

    sex: np.ndarray  # codes into SEXES
    ethnicity: np.ndarray  # codes into ETHNICITIES
    age0: np.ndarray  # age (years, float) at the first snapshot
    admit: np.ndarray  # admission day relative to the first snapshot (<= 0 for the stock)
    remand_days: np.ndarray  # length of the remand phase (0 if received sentenced)
    sentenced_days: np.ndarray  # length of the sentenced phase (0 if released from remand)
    sentence: np.ndarray  # sentence in months (0 if never sentenced in the window)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _sentence_months(rng: np.random.Generator, n: int, *, stock: bool) -> np.ndarray:
    # Receptions' median is the stock's divided by exp(sigma^2): the stock is length-biased.
    median = _SENTENCE_MEDIAN_STOCK * (1.0 if stock else math.exp(-(_SENTENCE_SIGMA**2)))
    raw = _lognormal(rng, median, _SENTENCE_SIGMA, n)
    return np.clip(np.rint(raw), 1, _SENTENCE_MAX)


def _remand_days(rng: np.random.Generator, n: int, *, stock: bool) -> np.ndarray:
    median = _REMAND_MEDIAN_STOCK * (1.0 if stock else math.exp(-(_REMAND_SIGMA**2)))
    return np.clip(np.rint(_lognormal(rng, median, _REMAND_SIGMA, n)), 1, _REMAND_MAX)


def _served_days(sentence: np.ndarray) -> np.ndarray:
    # Automatic release at the half-way point of a determinate sentence.
    return np.maximum(np.rint(sentence * _DAYS_PER_MONTH / 2), 1)


def _demographics(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    sex = (rng.random(n) >= WOMEN_SHARE).astype(np.int8)  # 0 = Female, 1 = Male
    eth = rng.choice(len(ETHNICITIES), size=n, p=ETHNICITY_SHARES).astype(np.int8)
    shares = np.asarray(AGE_BAND_SHARES) / sum(AGE_BAND_SHARES)
    band = rng.choice(len(AGE_BANDS), size=n, p=shares)
    lo = np.asarray(_AGE_EDGES)[band]
    width = np.asarray([3.0, 9.0, 10.0, 10.0, 0.0])[band]
    # 50+ has a thinning tail (mean 58); everything else is uniform within its band.
    older = np.minimum(rng.exponential(8.0, n), 35.0)
    u = rng.random(n)
    age0 = np.where(band == len(AGE_BANDS) - 1, lo + older, lo + u * width)
    return sex, eth, age0


def _population(rng: np.random.Generator, n_people: int, last_day: float) -> _People:
    """The stock in custody at the first snapshot plus receptions up to the last one.

    Receptions arrive at the rates that keep each (sex, legal status) stock stable: in
    steady state a stock of size S with length-biased stays L is replenished at
    S * E[1/L] per day.
    """
    n = n_people
    sex, eth, age0 = _demographics(rng, n)
    remand = rng.random(n) < REMAND_SHARE
    r_days = _remand_days(rng, n, stock=True)
    s_months = _sentence_months(rng, n, stock=True)
    converts = rng.random(n) < _REMAND_TO_SENTENCE
    recv_sentence = _sentence_months(rng, n, stock=False)
    sentence = np.where(remand, np.where(converts, recv_sentence, 0.0), s_months)
    sentenced_days = np.where(remand & ~converts, 0.0, _served_days(sentence))
    remand_days = np.where(remand, r_days, 0.0)
    # Time already served: uniform over the current phase (the stock is length-biased).
    elapsed = np.floor(rng.random(n) * np.where(remand, remand_days, sentenced_days))
    admit = -elapsed

    parts = [(sex, eth, age0, admit, remand_days, sentenced_days, sentence)]
    if last_day > 0:
        for s in range(len(SEXES)):
            in_sex = sex == s
            rem = in_sex & remand
            sen = in_sex & ~remand
            rate_remand = np.sum(1.0 / remand_days[rem]) if rem.any() else 0.0
            rate_sent = np.sum(1.0 / sentenced_days[sen]) if sen.any() else 0.0
            # Sentenced stock is fed by direct receptions and by convictions from remand.
            rate_direct = max(rate_sent - _REMAND_TO_SENTENCE * rate_remand, 0.0)
            for rate, is_remand in ((rate_remand, True), (rate_direct, False)):
                k = int(rng.poisson(rate * last_day))
                if k == 0:
                    continue
                _, a_eth, a_age = _demographics(rng, k)
                a_sex = np.full(k, s, dtype=np.int8)
                day = np.ceil(rng.random(k) * last_day)
                sent = _sentence_months(rng, k, stock=False)
                if is_remand:
                    a_rdays = _remand_days(rng, k, stock=False)
                    conv = rng.random(k) < _REMAND_TO_SENTENCE
                    sent = np.where(conv, sent, 0.0)
                    a_sdays = np.where(conv, _served_days(sent), 0.0)
                else:
                    a_rdays = np.zeros(k)
                    a_sdays = _served_days(sent)
                parts.append((a_sex, a_eth, a_age, day, a_rdays, a_sdays, sent))
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return _People(*cols)


# =========================================================================== features
def _markov_flag(rng: np.random.Generator, p: np.ndarray, churn: float) -> np.ndarray:
    """A 0/1 state per month whose stationary probability is ``p`` (months x people).

    Each month a person in state 0 switches on with probability ``churn * p`` and one in
    state 1 switches off with probability ``churn * (1 - p)``: flags persist, with a mean
    spell of 1 / (churn * (1 - p)) months. The chain also runs before admission, so a
    person's state at reception is a draw from the stationary distribution.
    """
    t = p.shape[0]
    u = rng.random(p.shape, dtype=np.float32)
    out = np.empty(p.shape, dtype=bool)
    out[0] = u[0] < p[0]
    for j in range(1, t):
        on = u[j] < churn * p[j]
        stay = u[j] >= churn * (1.0 - p[j])
        out[j] = np.where(out[j - 1], stay, on)
    return out


def _features(rng: np.random.Generator, people: _People, days: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly feature arrays (months incl. burn-in x people).

    ``days[j]`` is the day of month-grid point j relative to the first snapshot; point j
    summarises the month that ends at it. All coefficients below are illustrative
    assumptions that give plausible prevalences (documented in docs/data.md); only the
    outcome models carry published odds ratios.
    """
    n = people.sex.size
    female = (people.sex == 0)[None, :]
    age_c = ((people.age0 - 35.0) / 10.0)[None, :]
    # Two correlated person-level traits: mental-health vulnerability and conduct.
    z_mh = rng.standard_normal(n)[None, :]
    z_con = (0.3 * z_mh + math.sqrt(1 - 0.3**2) * rng.standard_normal(n)[None, :]) - 0.4 * age_c
    d = days[:, None]
    since_admit = d - people.admit[None, :]
    total = (people.remand_days + people.sentenced_days)[None, :]
    # In custody during the month ending at grid point j.
    prev_d = np.concatenate([[days[0] - _DAYS_PER_MONTH], days[:-1]])[:, None]
    in_custody = (people.admit[None, :] < d) & (people.admit[None, :] + total > prev_d)
    remand = ((since_admit >= 0) & (since_admit < people.remand_days[None, :])).astype(float)

    shape = (days.size, n)
    f: dict[str, np.ndarray] = {}
    f["psychiatric_treatment"] = _markov_flag(
        rng, np.broadcast_to(expit(-2.4 + 1.0 * z_mh + 0.9 * female), shape), 0.10
    )
    # ~17% of men and ~23% of women at a snapshot (an assumption within the one-in-ten to
    # one-in-four range of current suicidal thoughts reported in prisoner surveys)
    f["current_suicidal_ideation"] = _markov_flag(
        rng, expit(-2.0 + 1.1 * z_mh + 0.6 * female + 0.4 * remand), 0.5
    )
    f["victimisation"] = _markov_flag(
        rng, np.broadcast_to(expit(-2.1 + 0.5 * z_mh + 0.2 * z_con - 0.2 * age_c), shape), 0.4
    )
    f["no_social_visits"] = _markov_flag(
        rng, np.broadcast_to(expit(-0.5 + 0.3 * z_mh + 0.2 * z_con), shape), 0.2
    )
    f["not_in_work"] = _markov_flag(
        rng, expit(-0.7 + 0.3 * z_mh + 0.3 * z_con + 1.2 * remand), 0.25
    )
    f["substance_misuse"] = _markov_flag(
        rng, np.broadcast_to(expit(-0.8 + 0.4 * z_mh + 0.5 * z_con), shape), 0.08
    )
    f["gang_affiliation"] = _markov_flag(
        rng, np.broadcast_to(expit(-2.4 + 0.9 * z_con - 1.5 * female), shape), 0.03
    )
    # Histories only ever switch on, and only in custody after the first grid point.
    f["previous_self_harm"] = _monotone(
        rng,
        expit(-1.7 + 0.9 * z_mh + 1.0 * female - 0.15 * age_c)[0],
        expit(-6.0 + 1.0 * z_mh + 0.8 * female)[0],
        in_custody,
    )
    prev_term = rng.random(n) < expit(0.1 + 0.5 * z_con + 0.3 * age_c)[0]
    f["previous_prison_term"] = np.broadcast_to(prev_term, shape)
    f["previous_prison_violence"] = _monotone(
        rng,
        prev_term * expit(-1.2 + 1.0 * z_con - 0.5 * female)[0],
        expit(-5.2 + 1.0 * z_con)[0],
        in_custody,
    )
    # Counts over trailing windows, only for months spent in custody.
    seg_month = (rng.random(shape, dtype=np.float32) < expit(-4.2 + 1.0 * z_con)) & in_custody
    seg_days = np.zeros(shape, dtype=np.int64)
    seg_days[seg_month] = 1 + rng.poisson(6.0, int(seg_month.sum()))
    f["segregation_days"] = np.minimum(_trailing_sum(seg_days, 3), 92)
    adj_month = rng.poisson(np.exp(-2.4 + 0.7 * z_con) * in_custody)
    f["adjudications"] = _trailing_sum(adj_month, 6)
    return f


def _monotone(
    rng: np.random.Generator, p0: np.ndarray, hazard: np.ndarray, in_custody: np.ndarray
) -> np.ndarray:
    first = rng.random(p0.size) < p0
    new = (rng.random(in_custody.shape, dtype=np.float32) < hazard) & in_custody
    new[0] |= first
    return np.logical_or.accumulate(new, axis=0)


def _trailing_sum(x: np.ndarray, k: int) -> np.ndarray:
    c = np.cumsum(x, axis=0, dtype=np.int64)
    out = c.copy()
    out[k:] -= c[:-k]
    return out


def _allocate(
    rng: np.random.Generator,
    female: np.ndarray,
    eth: np.ndarray,
    young: np.ndarray,
    sentence: np.ndarray,
    remand: bool,
    proxy_strength: float,
) -> np.ndarray:
    """Establishment codes: a category by sex, legal status, sentence and age, then an
    establishment within it, tilted towards the person's home area by proxy_strength."""
    n = female.size
    cat = np.empty(n, dtype=np.int64)
    c = {name: i for i, name in enumerate(ESTABLISHMENT_CATEGORIES)}
    u = rng.random(n)
    if remand:
        men = np.where(young & (u < 0.7), c["young_offender"], c["local"])
        cat[:] = np.where(female, c["women_closed"], men)
    else:
        # P(category) for men by sentence band: <24 months, 24-119, 120+ (assumption).
        table = np.asarray(
            [
                # local, cat B, cat C, open, high security
                [0.50, 0.00, 0.40, 0.10, 0.00],
                [0.15, 0.20, 0.55, 0.10, 0.00],
                [0.00, 0.40, 0.30, 0.10, 0.20],
            ]
        )
        band = np.searchsorted([24, 120], sentence, side="right")
        cum = np.cumsum(table[band], axis=1)
        men = (u[:, None] >= cum[:, :-1]).sum(axis=1)
        men = np.where(young & (rng.random(n) < 0.7), c["young_offender"], men)
        women = np.where(u < 0.15, c["women_open"], c["women_closed"])
        cat[:] = np.where(female, women, men)
    est_cat = np.asarray([c[e[1]] for e in _ESTABLISHMENTS])
    area = np.asarray([e[3] for e in _ESTABLISHMENTS])
    home = np.asarray([_HOME_AREA[g] for g in ETHNICITIES])
    factor = _PROXY_MAX_FACTOR**proxy_strength
    tilt = np.where(area[None, :] == home[:, None], factor, 1.0)  # ethnicity x establishment
    w = (est_cat[None, :] == cat[:, None]) * tilt[eth]
    cum = np.cumsum(w, axis=1)
    pick = rng.random(n) * cum[:, -1]
    return (cum <= pick[:, None]).sum(axis=1)


# =========================================================================== outcome
def _terms(cols: dict[str, np.ndarray], outcome: str) -> dict[str, np.ndarray]:
    """The documented outcome terms, defined on the frame's columns (keys of the log-OR
    table of ``outcome``)."""
    if outcome == "self_harm":
        return {
            "current_suicidal_ideation": cols["current_suicidal_ideation"],
            "psychiatric_treatment": cols["psychiatric_treatment"],
            "previous_self_harm": cols["previous_self_harm"],
            "any_segregation": cols["segregation_days"] > 0,
            "any_adjudication": cols["adjudications"] > 0,
            "victimisation": cols["victimisation"],
            "no_social_visits": cols["no_social_visits"],
            "substance_misuse": cols["substance_misuse"],
            "not_in_work": cols["not_in_work"],
            "remand": cols["legal_status"] == 0,
            "first_30_days": cols["days_in_custody"] < 30,
            "age": cols["age"] - _AGE_CENTRE,
        }
    return {
        "age": cols["age"] - _AGE_CENTRE,
        "previous_prison_violence": cols["previous_prison_violence"],
        "gang_affiliation": cols["gang_affiliation"],
        "previous_prison_term": cols["previous_prison_term"],
        "short_sentence": (cols["legal_status"] == 1) & (cols["sentence_months"] < 24),
    }


def _linear_predictor(cols: dict[str, np.ndarray], outcome: str) -> np.ndarray:
    coef = SELF_HARM_LOG_OR if outcome == "self_harm" else VIOLENCE_LOG_OR
    terms = _terms(cols, outcome)
    eta = np.zeros(cols["age"].size)
    for name, beta in coef.items():
        eta += beta * terms[name]
    return eta


def _solve_intercepts(eta: np.ndarray, cell: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-cell intercepts b such that mean(expit(b[cell] + eta)) == target in each cell.

    Newton's method on all cells at once (steps capped at 2 logits for safety); the mean
    is monotone in b, so this converges in a handful of iterations.
    """
    k = target.size
    n_cell = np.bincount(cell, minlength=k).astype(float)
    has = n_cell > 0
    t = np.clip(target, 1e-9, 1 - 1e-9)
    mean_eta = np.bincount(cell, weights=eta, minlength=k) / np.maximum(n_cell, 1)
    b = np.log(t / (1 - t)) - mean_eta
    for _ in range(50):
        p = expit(b[cell] + eta)
        gap = np.bincount(cell, weights=p, minlength=k) - t * n_cell
        slope = np.bincount(cell, weights=p * (1 - p), minlength=k)
        step = np.clip(np.divide(gap, slope, out=np.zeros(k), where=slope > 0), -2.0, 2.0)
        b = b - np.where(has, step, 0.0)
        if np.all(np.abs(gap[has]) <= 1e-9 * n_cell[has]):
            break
    return b


# =========================================================================== public
def make_prison_incidents(
    n_people: int = 20_000,
    outcome: Literal["self_harm", "violence"] = "self_harm",
    seed: int | None = 0,
    months: int = 12,
    label_bias: Mapping[str, Mapping[str, float]] | None = None,
    proxy_strength: float = 0.3,
    start: str | dt.date | pd.Timestamp = "2024-04-01",
    *,
    return_true_outcome: bool = False,
) -> tuple[pd.DataFrame, DatasetSpec]:
    """Synthetic monthly snapshots of a prison population with a 90-day incident outcome.

    Not real data: a teaching and testing set whose population mix, risk factors and
    base rates follow published figures for England and Wales, with knobs that plant
    label bias and a proxy for audits to find. Every number and its source is listed in
    ``docs/data.md``.

    **Population.** ``n_people`` people are in custody at the first snapshot (women 4%,
    remand 20%, ethnicity White 72% / Black 12% / Asian 8% / Mixed 5% / Other 3%, ages
    18-20 4% / 21-29 24% / 30-39 33% / 40-49 20% / 50+ 18%; MoJ, Dec 2024, with the
    Mixed/Other and 40-49/50+ splits assumed). People are received and released over the
    window at rates that keep the population stable (about one reception per person in
    custody per year): the frame holds one row per person per monthly snapshot at which
    they are in custody, so it has about ``n_people * months`` rows and more than
    ``n_people`` distinct people. Remand episodes last a log-normal time (median 120
    days in the stock); half end in a custodial sentence, when the same person continues
    as sentenced. Sentences are log-normal (median 48 months in the stock, at most 40
    years; life sentences are not modelled) with release at the half-way point. The
    person's establishment is drawn once for the remand phase and once for the
    sentenced phase (no other transfers).

    **Features.** Time-varying flags follow month-to-month chains (they persist, with
    churn); histories (previous self-harm, previous prison violence) only switch on;
    counts cover trailing windows (segregation: 3 months; adjudications: 6 months) and
    only months in custody. Features are correlated through two latent person traits
    (mental-health vulnerability, conduct) and age; those coefficients are illustrative.

    **Outcome.** ``self_harm_90d`` / ``violence_90d`` is 1 if an incident is recorded in
    the 90 days after the snapshot, drawn independently per row from a logistic model
    (labels of the same person in overlapping windows are therefore conditionally
    independent given the features, a simplification; release within the window is
    ignored). Odds ratios, per unit of the term (age per year). Favril's published ORs
    are mostly unadjusted; entered jointly at full size they make self-harm implausibly
    predictable (AUC ~0.95), so each enters the model at half its log (the conditional
    OR is the published OR ** 0.5, ``FAVRIL_SHRINK``; an assumption):

    ===========================  ==========  ==============================================
    self-harm term               pub. OR     source
    ===========================  ==========  ==============================================
    current suicidal ideation    13.8        Favril et al. 2020, Lancet Psychiatry
    psychiatric treatment        10.5        Favril et al. 2020
    previous self-harm           6.6         Favril et al. 2020
    segregation_days > 0         5.6         Favril 2020 (solitary confinement)
    adjudications > 0            3.5         Favril 2020 (disciplinary infractions)
    victimisation                3.2         Favril et al. 2020
    no social visits             2.3         Favril et al. 2020
    substance misuse             2.3         Favril 2020 (substance use disorder)
    not in work                  1.9         Favril et al. 2020
    remand                       1.5         assumption (direction: Hawton et al. 2014)
    days_in_custody < 30         2.0         assumption (early days, MoJ)
    age (per year)               exp(-0.02)  assumption (younger is riskier, Hawton 2014)
    ===========================  ==========  ==============================================

    ===========================  ==========  ==============================================
    violence term                OR          source
    ===========================  ==========  ==============================================
    age (per year)               exp(-0.05)  assumption (direction: Cunningham &
                                             Sorensen 2007, as for every violence term)
    previous prison violence     3.0         assumption
    gang affiliation             2.5         assumption
    previous prison term         1.5         assumption
    sentenced, < 24 months       1.5         assumption ("shorter sentence")
    ===========================  ==========  ==============================================

    The published odds ratios are mostly unadjusted, pooled estimates; the generator
    uses them as if they were adjusted (conditional) ones. Intercepts are solved at
    generation time (Newton's method, vectorised) so that the expected 90-day rate in
    each cell equals its target exactly on the generated rows. An annual person-level
    share ``p`` is converted to the 90-day window at a constant hazard,
    ``1 - (1 - p) ** (90 / 365.25)``. Self-harm targets: 5.5% of men and 22% of women
    a year (Hawton et al. 2014: 5-6% and 20-24%), giving 90-day rates of 1.38% and
    5.94%; within each sex the 90-day rate of ethnic group g is proportional to its
    published incidents per 1,000 (White 450, Mixed 274, Other 225, Asian 124, Black 81;
    MoJ 2015), scaled so that the sex's rate stays on target (assumes incidents per
    person who self-harms are alike across groups). The generator reproduces these
    differences with an ethnicity-specific intercept, not through the features, so a
    model without ethnicity is miscalibrated by group. Violence target: 12% of people
    a year for both sexes (356 assaults per 1,000 prisoners a year, MoJ 2025, with an
    assumed ~3 assaults per perpetrator), a 90-day rate of 3.10%; no ethnicity term.

    Parameters
    ----------
    n_people : int, default 20_000
        Number of people in custody at the first snapshot (the population size, which
        stays about stable; England and Wales hold about 87,000).
    outcome : {"self_harm", "violence"}, default "self_harm"
        Target ``self_harm_90d`` or ``violence_90d``.
    seed : int or None, default 0
        Seed of the random generator; the same seed and arguments give the same frame.
        The knobs draw from their own streams, so changing ``label_bias`` or
        ``proxy_strength`` leaves everything else as it was. None draws fresh entropy.
    months : int, default 12
        Number of monthly snapshots, 1 to 120.
    label_bias : dict, optional
        Under-recording: ``{attribute: {group: rate}}`` keeps each true incident of that
        group in the recorded label with probability ``rate`` in [0, 1], e.g.
        ``{"ethnicity": {"Black": 0.6}}`` records 60% of Black people's incidents.
        Attributes: ``"sex"``, ``"ethnicity"``, ``"age_band"``; a row in several named
        groups keeps an incident with the product of their rates. Default: no bias.
    proxy_strength : float, default 0.3
        In [0, 1]. Within each establishment category, an establishment in a person's
        home area is ``20 ** proxy_strength`` times as likely as one elsewhere, and the
        areas' ethnic mixes differ (people are held near home). At 0 establishment is
        independent of ethnicity given sex, legal status, sentence and age; at 1 groups
        are strongly concentrated and a proxy scan flags ``establishment``. The default
        0.3 is a mild concentration, as in a real estate; establishment is always a
        proxy for sex (women's establishments) and for age (the young offender
        institution). Establishment has no effect of its own on the outcome.
    start : str or date, default "2024-04-01"
        Date of the first snapshot; later snapshots fall on the same day of each month.
    return_true_outcome : bool, default False
        Also return ``<target>_true``, the incident label before under-recording, for
        teaching. It is the outcome: never use it as a feature.

    Returns
    -------
    frame : pandas.DataFrame
        One row per person per snapshot, ordered by snapshot then person: ``record_id``,
        ``person_id``, ``snapshot_date``, the target, the protected attributes ``sex``,
        ``ethnicity`` and ``age_band`` (categorical), and the features of ``spec``.
    spec : DatasetSpec
        Describes the frame (``spec.validate(frame)`` passes). Sex and ethnicity are
        protected attributes only; age is a feature with a written justification.
        Baseline features: previous self-harm and age (self-harm), age and previous
        prison violence (violence).

    Raises
    ------
    SchemaError
        If an argument is invalid; each problem names the parameter and a fix.

    Examples
    --------
    >>> import riskmodels as rm
    >>> frame, spec = rm.datasets.make_prison_incidents(n_people=500, months=3, seed=1)
    >>> spec.target, spec.person, spec.time
    ('self_harm_90d', 'person_id', 'snapshot_date')
    >>> frame[spec.target].isin([0, 1]).all() and spec.validate(frame) is not None
    True
    >>> "sex" in spec.feature_names, "sex" in spec.protected_names
    (False, True)
    """
    start_ts = _check_args(
        n_people,
        outcome,
        seed,
        months,
        label_bias,
        proxy_strength,
        start,
        return_true_outcome,
    )
    assert start_ts is not None  # _check_args raises otherwise
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    rng_pop, rng_feat, rng_est, rng_out, rng_bias = streams

    grid = pd.DatetimeIndex([start_ts + pd.DateOffset(months=k) for k in range(-_BURN_IN, months)])
    days = ((grid - start_ts) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    people = _population(rng_pop, int(n_people), float(days[-1]))
    feats = _features(rng_feat, people, days)

    # Rows: snapshot k (grid point _BURN_IN + k) for each person in custody on that day.
    snap_days = days[_BURN_IN:]
    since = snap_days[:, None] - people.admit[None, :]
    stay = people.remand_days + people.sentenced_days
    present = (since >= 0) & (since < stay[None, :])
    k_idx, p_idx = np.nonzero(present)
    g_idx = k_idx + _BURN_IN
    n_rows = k_idx.size

    cols: dict[str, np.ndarray] = {}
    age = np.floor(people.age0[p_idx] + snap_days[k_idx] / 365.25).astype(np.int64)
    cols["age"] = age
    since_r = since[k_idx, p_idx]
    is_remand = since_r < people.remand_days[p_idx]
    cols["legal_status"] = np.where(is_remand, 0, 1).astype(np.int8)
    cols["days_in_custody"] = since_r.astype(np.int64)
    cols["sentence_months"] = np.where(is_remand, 0, people.sentence[p_idx]).astype(np.int64)
    female = people.sex == 0
    young = people.age0 < 21
    est_r = _allocate(
        rng_est, female, people.ethnicity, young, people.sentence, True, proxy_strength
    )
    est_s = _allocate(
        rng_est, female, people.ethnicity, young, people.sentence, False, proxy_strength
    )
    est = np.where(is_remand, est_r[p_idx], est_s[p_idx])
    est_cat_code = {name: i for i, name in enumerate(ESTABLISHMENT_CATEGORIES)}
    est_cat = np.asarray([est_cat_code[e[1]] for e in _ESTABLISHMENTS])[est]
    for name, arr in feats.items():
        cols[name] = arr[g_idx, p_idx]

    # Outcome: documented logistic model, intercepts solved per cell.
    sex_r = people.sex[p_idx].astype(np.int64)
    eth_r = people.ethnicity[p_idx].astype(np.int64)
    eta = _linear_predictor(cols, outcome)
    if outcome == "self_harm":
        annual = np.asarray([SELF_HARM_ANNUAL[s] for s in SEXES])
        rel = np.asarray([SELF_HARM_ETHNICITY_RATE[e] for e in ETHNICITIES], dtype=float)
        cell = sex_r * len(ETHNICITIES) + eth_r
        counts = np.bincount(cell, minlength=len(SEXES) * len(ETHNICITIES)).reshape(
            len(SEXES), len(ETHNICITIES)
        )
        # Scale the relative rates so that each sex's row-weighted mean is its target.
        mean_rel = (counts @ rel) / np.maximum(counts.sum(axis=1), 1)
        target = (annual_to_window(annual) / np.where(mean_rel > 0, mean_rel, 1))[:, None] * rel
        target = target.ravel()
    else:
        cell = sex_r
        target = annual_to_window(np.asarray([VIOLENCE_ANNUAL[s] for s in SEXES]))
    b = _solve_intercepts(eta, cell, target)
    y_true = rng_out.random(n_rows) < expit(b[cell] + eta)
    keep = np.ones(n_rows)
    age_band = np.searchsorted(np.asarray(_AGE_EDGES[1:]), age, side="right")
    group_codes = {"sex": sex_r, "ethnicity": eth_r, "age_band": age_band}
    for attr, groups in (label_bias or {}).items():
        rates = np.ones(len(_PROTECTED_CATEGORIES[attr]))
        for group, rate in groups.items():
            rates[_PROTECTED_CATEGORIES[attr].index(group)] = float(rate)
        keep *= rates[group_codes[attr]]
    # Always draw, so that the recorded label uses the same stream with or without bias.
    y = y_true & (rng_bias.random(n_rows) < keep)

    target_col = f"{outcome}_90d"
    cat = pd.Categorical.from_codes
    data: dict[str, object] = {
        "record_id": np.arange(n_rows, dtype=np.int64),
        "person_id": p_idx.astype(np.int64),
        "snapshot_date": grid[g_idx].as_unit("ns"),
        target_col: y.astype(np.int8),
    }
    if return_true_outcome:
        data[f"{target_col}_true"] = y_true.astype(np.int8)
    data |= {
        "sex": cat(sex_r, categories=SEXES),
        "ethnicity": cat(eth_r, categories=ETHNICITIES),
        "age_band": cat(age_band, categories=AGE_BANDS),
        "age": age,
        "legal_status": cat(cols["legal_status"], categories=LEGAL_STATUSES),
        "days_in_custody": cols["days_in_custody"],
        "sentence_months": cols["sentence_months"],
        "establishment": cat(est, categories=ESTABLISHMENTS),
        "establishment_category": cat(est_cat, categories=ESTABLISHMENT_CATEGORIES),
    }
    for name in _FLAG_AND_COUNT_COLUMNS:
        dtype = np.int64 if name in ("segregation_days", "adjudications") else np.int8
        data[name] = cols[name].astype(dtype)
    frame = pd.DataFrame(data)
    spec = _spec(
        outcome,
        seed=seed,
        months=months,
        label_bias=label_bias,
        proxy_strength=float(proxy_strength),
    )
    return frame, spec


_FLAG_AND_COUNT_COLUMNS = (
    "previous_self_harm",
    "current_suicidal_ideation",
    "psychiatric_treatment",
    "segregation_days",
    "adjudications",
    "victimisation",
    "no_social_visits",
    "not_in_work",
    "substance_misuse",
    "previous_prison_violence",
    "gang_affiliation",
    "previous_prison_term",
)

_AGE_JUSTIFICATION = (
    "Age is a protected characteristic under the Equality Act 2010. It is used because "
    "younger age is one of the strongest and best-replicated predictors of self-harm and "
    "of violence in custody (Hawton et al. 2014; Cunningham & Sorensen 2007): leaving it "
    "out would make the scores less accurate for everyone, while other features would "
    "still partly carry its effect. Scores are decision support only. The fairness audit "
    "covers age_band, so any disparity across age groups is measured and reported."
)


def _spec(
    outcome: str,
    *,
    seed: int | None,
    months: int,
    label_bias: Mapping[str, Mapping[str, float]] | None,
    proxy_strength: float,
) -> DatasetSpec:
    def num(name: str, desc: str, lo: float, hi: float | None, unit: str) -> FeatureSpec:
        return FeatureSpec(name=name, kind="numeric", description=desc, min=lo, max=hi, unit=unit)

    def flag(name: str, desc: str) -> FeatureSpec:
        return FeatureSpec(name=name, kind="binary", description=desc)

    def cat(name: str, desc: str, cats: tuple[str, ...]) -> FeatureSpec:
        return FeatureSpec(name=name, kind="categorical", description=desc, categories=list(cats))

    features = [
        FeatureSpec(
            name="age",
            kind="numeric",
            description="Age",
            min=18,
            max=100,
            unit="years",
            justification=_AGE_JUSTIFICATION,
        ),
        cat("legal_status", "Legal status (remand or sentenced)", LEGAL_STATUSES),
        num("days_in_custody", "Days in custody since reception", 0, None, "days"),
        num(
            "sentence_months",
            "Sentence length (0 while on remand)",
            0,
            _SENTENCE_MAX,
            "months",
        ),
        cat("establishment", "Establishment", ESTABLISHMENTS),
        cat("establishment_category", "Establishment category", ESTABLISHMENT_CATEGORIES),
        flag("previous_self_harm", "Previous self-harm"),
        flag("current_suicidal_ideation", "Current suicidal ideation"),
        flag("psychiatric_treatment", "Receiving psychiatric treatment in prison"),
        num("segregation_days", "Days in segregation in the last 3 months", 0, 92, "days"),
        num(
            "adjudications",
            "Proven disciplinary adjudications in the last 6 months",
            0,
            None,
            "adjudications",
        ),
        flag("victimisation", "Victim of assault, threats or bullying in the last 3 months"),
        flag("no_social_visits", "No social visits in the last 3 months"),
        flag("not_in_work", "Not in work, education or training in prison"),
        flag("substance_misuse", "Current substance misuse problem"),
        flag("previous_prison_violence", "Previous violence in prison"),
        flag("gang_affiliation", "Known gang affiliation"),
        flag("previous_prison_term", "Served a previous prison sentence"),
    ]
    protected = [
        ProtectedAttribute(name="sex", description="Sex", categories=list(SEXES)),
        ProtectedAttribute(
            name="ethnicity", description="Ethnic group", categories=list(ETHNICITIES)
        ),
        ProtectedAttribute(
            name="age_band", description="Age band at the snapshot", categories=list(AGE_BANDS)
        ),
    ]
    if outcome == "self_harm":
        what, baseline = "Self-harm", ["previous_self_harm", "age"]
    else:
        what, baseline = "Assault by this person (violence)", ["age", "previous_prison_violence"]
    knobs = f"seed={seed}, months={months}, proxy_strength={proxy_strength}"
    knobs += f", label_bias={dict(label_bias) if label_bias else None}"
    return DatasetSpec(
        name=f"synthetic_prison_{outcome}",
        description=(
            "Synthetic monthly snapshots of a prison population generated by "
            f"riskmodels.datasets.make_prison_incidents ({knobs}). Not real data: the "
            "population mix, risk factors and base rates follow published figures for "
            "England and Wales (see docs/data.md)."
        ),
        target=f"{outcome}_90d",
        target_description=f"{what} recorded in the 90 days after the snapshot",
        outcome_window_days=90,
        id="record_id",
        time="snapshot_date",
        person="person_id",
        features=features,
        protected=protected,
        baseline_features=baseline,
        # a scoring batch usually comes from one or a few establishments, whose people
        # differ (sex, age, sentence): drift is judged within establishments
        batch="establishment",
        # each prison's staff need to find their own people on the list
        display=["establishment"],
    )
