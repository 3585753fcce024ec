"""Write the example data that examples/pipeline.yaml runs on (synthetic; no real person).

The files are committed, so that `riskmodels run examples/pipeline.yaml` works on files,
exactly as it will on your own data; this script shows how they were made and remakes
them. Run it from anywhere:

    python examples/make_example_data.py

It writes, next to itself:

- ``spec.yaml``: the dataset spec (what each column means, the outcome, the protected
  attributes);
- ``prison_incidents.csv``: twelve monthly snapshots of a synthetic prison population of
  about 1,500 people at a time, with the recorded outcome (violence in the next 90 days): the
  labelled data the model is trained and assessed on;
- ``people_to_score.csv``: the thirteenth month's snapshot without the outcome (not known
  yet): the people a safety team would want a risk list for.
"""

from __future__ import annotations

from pathlib import Path

from riskmodels.data.datasets import make_prison_incidents

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Generate the three files (seed 0: the same files every time)."""
    frame, spec = make_prison_incidents(n_people=1500, outcome="violence", months=13, seed=0)
    newest = frame[spec.time] == frame[spec.time].max()
    spec.to_yaml(HERE / "spec.yaml")
    frame[~newest].to_csv(HERE / "prison_incidents.csv", index=False)
    frame[newest].drop(columns=[spec.target]).to_csv(HERE / "people_to_score.csv", index=False)


if __name__ == "__main__":
    main()
