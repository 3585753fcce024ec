# ruff: noqa: E501 - the strings are notebook cells, kept as they read in the notebook
"""Write the worked-example notebooks in notebooks/ (committed without outputs).

The notebooks are the source of truth once written; this script is how they were first
made and how to rebuild them after an API change: ``python scripts/make_notebooks.py``.
``make test`` executes every notebook with nbmake.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"


def _nb(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [new_markdown_cell(t) if k == "md" else new_code_cell(t) for k, t in cells]
    return nb


TRAIN = [
    (
        "md",
        "# 1. Train and assess a risk model\n\nSynthetic monthly snapshots of a prison "
        "population (not real data; `docs/data.md`), a dataset spec that says what every "
        "column is, a split by time with a gap, a calibrated model, and evidence in which every "
        "number carries its n and a confidence interval.",
    ),
    (
        "code",
        "import riskmodels as rm\n\n"
        "frame, spec = rm.datasets.make_prison_incidents(n_people=2_500, months=6, seed=0)\n"
        "frame = spec.validate(frame)          # every problem at once, or the frame back\n"
        "quality = rm.check_quality(frame, spec)\n"
        "print(spec.target, '-', spec.target_description)\n"
        "print(f'{len(frame):,} rows, base rate {frame[spec.target].mean():.2%}')\n"
        "quality",
    ),
    (
        "md",
        "A temporal split with a 90-day gap: no training outcome window reaches into the "
        "test period.",
    ),
    ("code", "train, test = rm.split(frame, spec, gap_days=90)\ntest.attrs['riskmodels_split']"),
    (
        "code",
        "model = rm.RiskModel(spec, estimator='hgb', random_state=0).fit(train)\n"
        "evidence = model.assess(test, n_boot=200, explain=200, thresholds=[0.05, 0.2])\n"
        "evidence.summary().round(3)",
    ),
    (
        "md",
        "The AUC gain over the simple baseline has its own paired interval (DeLong): two "
        "separate intervals can overlap even when one model is reliably better.",
    ),
    ("code", "evidence.auc_gain"),
    (
        "md",
        "Rates at other thresholds come from the same scores (no refit, no second SHAP "
        "run), overall and by group, each with an exact interval.",
    ),
    (
        "code",
        "t = evidence.threshold_rates\n"
        "t[(t.attribute == 'all') & t.metric.isin(['selection_rate', 'tpr', 'ppv'])]",
    ),
    (
        "md",
        "Is acting on the list better than acting on everyone, or no one? The decision "
        "curve: net benefit with bootstrap intervals.",
    ),
    (
        "code",
        "dc = evidence.decision_curve\n"
        "dc[dc.threshold.isin([0.05, 0.1, 0.2])].pivot(index='threshold', columns='strategy', "
        "values='net_benefit').round(4)",
    ),
    ("md", "Global drivers: mean |SHAP| of each source feature, with bootstrap intervals."),
    ("code", "evidence.importance.head(8)"),
    ("code", "evidence.plot_calibration();"),
]

FAIRNESS = [
    (
        "md",
        "# 2. A fairness audit\n\nThe synthetic data can plant a label bias (only a "
        "share of one group's incidents get recorded, so the labels understate its risk) and a proxy (a feature that tracks a "
        "protected characteristic). The audit finds both, with intervals, and states the "
        "calibration vs error-rate trade-off on real numbers.",
    ),
    (
        "code",
        "import riskmodels as rm\n\n"
        "frame, spec = rm.datasets.make_prison_incidents(\n"
        "    n_people=3_000, months=6, seed=1, proxy_strength=0.8,\n"
        "    label_bias={'ethnicity': {'Black': 0.6}},\n)\n"
        "train, test = rm.split(frame, spec, gap_days=90)\n"
        "model = rm.RiskModel(spec, estimator='logistic', random_state=0).fit(train)\n"
        "evidence = model.assess(test, n_boot=200, explain=False, reference={'ethnicity': 'White'})\n"
        "audit = evidence.fairness\naudit.reference",
    ),
    (
        "md",
        "Per group: rates with exact (Clopper-Pearson) intervals, never zero-width; a group "
        "too small to judge is `sparse` and shown, never judged.",
    ),
    (
        "code",
        "cols = ['attribute', 'group', 'n', 'status', 'fpr', 'fpr_lo', 'fpr_hi', "
        "'oe_ratio', 'oe_ratio_lo', 'oe_ratio_hi']\n"
        "audit.by_group[audit.by_group.attribute == 'ethnicity'][cols].round(3)",
    ),
    (
        "md",
        "The largest credible gaps, read against the named reference group (an "
        "intersection inherits the reference's cell).",
    ),
    (
        "code",
        "for m in ('fpr', 'fnr'):\n    print(audit.max_gap(m, attribute='ethnicity'))\n"
        "{k: v for k, v in audit.reference.items() if 'ethnicity' in k}",
    ),
    (
        "md",
        "A policy's stricter adequacy rule, applied to the audit itself, so the tables "
        "judge what the gates judge:",
    ),
    (
        "code",
        "policy = rm.Policy.default()\n"
        "strict = audit.judged_by(policy.fairness.adequate(audit.by_group))\n"
        "strict.by_group.groupby('status').size()",
    ),
    (
        "md",
        "Proxies: how well the features predict each protected characteristic, jointly "
        "and one by one.",
    ),
    ("code", "print(evidence.proxies.flagged_features)\nevidence.proxies.joint"),
    (
        "md",
        "When base rates differ, a calibrated score cannot also have equal error rates "
        "(Chouldechova 2017). The policy names which criterion it prioritises; gates of the "
        "other can only warn.",
    ),
    (
        "code",
        "gates = policy.check(evidence, model=model)\n"
        "[(g.name, g.status) for g in gates if g.name.startswith('fairness')]",
    ),
]

MONITORING = [
    (
        "md",
        "# 4. Monitoring a release in use\n\nA release that passed its gates can stop "
        "deserving trust. Here: a release scores a month of people, staff return the list with "
        "their decisions, outcomes mature, and the monitoring report judges the release against "
        "its policy. Everything happens in a temporary site folder.",
    ),
    (
        "code",
        "import tempfile\nfrom pathlib import Path\n\nimport numpy as np\nimport pandas as pd\n"
        "import riskmodels as rm\n\n"
        "site = Path(tempfile.mkdtemp())\n"
        "frame, spec = rm.datasets.make_prison_incidents(n_people=3_000, months=4, seed=3)\n"
        "train, test = rm.split(frame, spec)\n"
        "model = rm.RiskModel(spec, estimator='logistic', random_state=0).fit(train)\n"
        "evidence = model.assess(test, n_boot=100, fairness=False, explain=False)\n"
        "policy = rm.Policy.default()\n"
        "waivers = {g.name: 'NOTEBOOK ONLY: synthetic data' for g in policy.check(evidence, model=model)\n"
        "           if g.status != 'pass'}\n"
        "keys = [site / f'approver{i}.key' for i in (1, 2)]\n"
        "for i, key in enumerate(keys, 1):\n"
        "    rm.release.generate_signing_key(key, site / 'trust' / f'Approver {i}.pem')\n"
        "release = rm.approve(model, evidence, None, policy, reviewer='Approver 1', author='Analyst',\n"
        "                     waivers=waivers, out=site / 'release', signing_key=keys[0])\n"
        "release = rm.add_approval(release, signing_key=keys[1], reviewer='Approver 2')\n"
        "where = dict(trust_store=site / 'trust', audit_log=site / 'audit_log.jsonl')",
    ),
    (
        "code",
        "last = test[test[spec.time] == test[spec.time].max()]\n"
        "people = last.drop(columns=[spec.target, *spec.protected_names])\n"
        "risk_list = rm.score(release, people, purpose='prioritise_welfare_review', explain='none', **where)\n"
        "risk_list.to_csv(site / 'list.csv')\nrisk_list.counts",
    ),
    (
        "md",
        "Staff fill in the decision columns (here, made up: they agree with every flag, "
        "which is what automation bias looks like) and return the list.",
    ),
    (
        "code",
        "text = ['id', 'reviewed_by', 'decision', 'agrees_with_flag', 'rationale']\n"
        "back = pd.read_csv(site / 'list.csv', dtype=dict.fromkeys(text, str))\n"
        "rows = back.index[back.status == 'flagged'][:60]\n"
        "back.loc[rows, ['reviewed_by', 'decision', 'agrees_with_flag']] = ['officer', 'support offered', 'yes']\n"
        "back.to_csv(site / 'returned.csv', index=False)\n"
        "rm.monitoring.record_reviews(release, site / 'returned.csv', **where)",
    ),
    ("md", "A list whose scores were edited is refused whole, and nothing is stored:"),
    (
        "code",
        "bad = back.copy()\nbad.loc[rows[0], 'score'] += 0.05\n"
        "bad.to_csv(site / 'edited.csv', index=False)\n"
        "try:\n    rm.monitoring.record_reviews(release, site / 'edited.csv', **where)\n"
        "except rm.errors.SchemaError as err:\n    print(err)",
    ),
    (
        "md",
        "Outcomes are accepted once the outcome window has passed (the synthetic snapshots "
        "are long past).",
    ),
    (
        "code",
        "outcomes = last[[spec.person, spec.time, spec.target, *spec.protected_names]]\n"
        "rm.monitoring.record_outcomes(release, outcomes, **where)\n"
        "report = rm.monitoring.report(release, **where)\n"
        "report.breaches[report.breaches.period == 'all']",
    ),
    (
        "code",
        "report.save(site / 'monitoring.html')\n"
        "print('suspended:', report.suspended, '- dashboard:', site / 'monitoring.html')",
    ),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in (
        ("01_train_and_assess.ipynb", TRAIN),
        ("02_fairness_audit.ipynb", FAIRNESS),
        ("04_monitoring.ipynb", MONITORING),
    ):
        nbformat.write(_nb(cells), HERE / name)
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    main()
