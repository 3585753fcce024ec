"""Regenerate the published cards and fairness reports of the reference models.

Usage::

    python scripts/make_cards.py            # writes into the repository
    python scripts/make_cards.py --out DIR  # writes the same tree under DIR

Two reference models, self-harm and violence, are trained on synthetic data
(``make_prison_incidents(n_people=6000, months=6, seed=0)``, temporal split, the ``hgb``
preset, 300 bootstrap replicates) and published as:

* ``model_cards/<name>/``: ``model_card.md``, ``model_card.html``, ``model_card.json``,
  ``atrs.json``, ``atrs.md`` and ``figures/*.png`` (``ModelCard.save``);
* ``fairness/reports/<name>.md`` and ``.json``: the audit after statistical disclosure
  control, with the proxy scan.

The owners' context of each model is read from ``model_cards/context/<name>.yaml``.

The output is deterministic, so CI can regenerate it and compare byte for byte: fixed
seeds, fixed timestamps (``FIXED_TIME`` for fitting, evidence, gate check and card),
BLAS and OpenMP limited to one thread (threaded reductions may change the last bits of a
float, and oversubscribed BLAS threads are also very slow here), PNGs without version or
date metadata, and no absolute paths in any file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

import riskmodels as rm
from riskmodels._io import atomic_write_text
from riskmodels.cards import CardContext, ModelCard
from riskmodels.policy import Policy

ROOT = Path(__file__).resolve().parents[1]
#: name on disk -> outcome of the synthetic generator
REFERENCE_MODELS = {"self-harm": "self_harm", "violence": "violence"}
N_PEOPLE = 6000
MONTHS = 6
SEED = 0
N_BOOT = 300
EXPLAIN_ROWS = 2000
FIXED_TIME = "2025-01-01T00:00:00+00:00"


def build_card(name: str, outcome: str, policy: Policy) -> ModelCard:
    """Train, assess and document one reference model."""
    frame, spec = rm.datasets.make_prison_incidents(
        n_people=N_PEOPLE, outcome=outcome, seed=SEED, months=MONTHS
    )
    train, test = rm.split(frame, spec)
    model = rm.RiskModel(spec, estimator="hgb", random_state=SEED, name=f"{name}-reference")
    model.fit(train)
    evidence = model.assess(test, n_boot=N_BOOT, random_state=SEED, explain=EXPLAIN_ROWS)
    # Fixed clocks: the published files must not change when nothing else does.
    model.fitted_at_ = FIXED_TIME
    evidence.created_at = FIXED_TIME
    context = CardContext.from_yaml(ROOT / "model_cards" / "context" / f"{name}.yaml")
    card = ModelCard.build(model, evidence, context, policy=policy, generated_at=FIXED_TIME)
    gate = dataclasses.replace(
        policy.check(evidence, model=model, context=context), checked_at=FIXED_TIME
    )
    return card.with_gates(gate)


def write(card: ModelCard, name: str, out: Path) -> list[Path]:
    """Write the card and the fairness report of one model; remove stale figures."""
    card_dir = out / "model_cards" / name
    written = card.save(card_dir)
    figures = {p.name for key, p in written.items() if key.startswith("figure:")}
    for old in (card_dir / "figures").glob("*.png"):
        if old.name not in figures:
            old.unlink()
    report = card.fairness_report(figures_dir=f"../../model_cards/{name}/figures")
    reports = out / "fairness" / "reports"
    atomic_write_text(reports / f"{name}.md", report["markdown"])
    atomic_write_text(reports / f"{name}.json", report["json"])
    return [*written.values(), reports / f"{name}.md", reports / f"{name}.json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="root of the output tree")
    args = parser.parse_args(argv)
    policy = Policy.from_yaml(ROOT / "fairness" / "policy.yaml")
    with threadpool_limits(1):
        for name, outcome in REFERENCE_MODELS.items():
            t0 = time.perf_counter()
            card = build_card(name, outcome, policy)
            files = write(card, name, args.out)
            state = "complete" if card.complete else f"{len(card.missing_fields)} fields missing"
            print(
                f"{name}: {len(files)} files in {time.perf_counter() - t0:.1f} s "
                f"(gate {card.data['gate']['status']}; card {state})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
