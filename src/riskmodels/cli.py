"""Command-line interface: a thin shell over the library, one command per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from riskmodels.errors import RiskModelsError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="riskmodels: risk models whose predictions reach people only as decision support.",
)
console = Console()


def _fail(err: RiskModelsError) -> None:
    console.print(f"[bold red]{type(err).__name__}[/]: {err}")
    raise typer.Exit(code=2)


def _fmt_ci(est) -> str:
    if np.isnan(est.value):
        return f"NaN ({est.status})"
    return f"{est.value:.3f} ({est.lo:.3f}-{est.hi:.3f})"


@app.command()
def validate(
    data: Path = typer.Argument(..., help="CSV or Parquet file"),
    spec: Path = typer.Option(..., "--spec", help="dataset spec (YAML)"),
) -> None:
    """Validate a data file against a dataset spec and print its data-quality report."""
    from riskmodels.data import DatasetSpec, check_quality, read_frame

    try:
        s = DatasetSpec.from_yaml(spec)
        frame = s.validate(read_frame(data))
        report = check_quality(frame, s, raise_on_serious=False)
    except RiskModelsError as err:
        _fail(err)
    console.print(f"[green]valid[/]: {len(frame):,} rows, {len(s.features)} features")
    for issue in report.issues:
        flag = "[red]serious[/]" if issue["serious"] else "[yellow]note[/]"
        console.print(f"  {flag} {issue['column']}: {issue['detail']}")


def _rates_table(frame: pd.DataFrame, by: str, target: str) -> Table:
    table = Table(title=f"Recorded outcome rate by {by}")
    for col in (by, "rows", "people", "rate"):
        table.add_column(col)
    g = frame.groupby(by, observed=True)
    stats = pd.DataFrame(
        {"rows": g.size(), "people": g["person_id"].nunique(), "rate": g[target].mean()}
    )
    for key, r in stats.iterrows():
        table.add_row(str(key), f"{int(r.rows):,}", f"{int(r.people):,}", f"{r.rate:.1%}")
    return table


@app.command()
def demo(
    n_people: int = typer.Option(20_000, help="people in the synthetic prison population"),
    months: int = typer.Option(12, help="monthly snapshots per person"),
    outcome: str = typer.Option("self_harm", help="self_harm or violence"),
    seed: int = typer.Option(0),
    n_boot: int = typer.Option(1000, help="bootstrap replicates for CIs"),
) -> None:
    """Run the main job end to end on synthetic data."""
    import riskmodels as rm

    try:
        console.rule("[bold]1. Synthetic data")
        frame, spec = rm.datasets.make_prison_incidents(
            n_people=n_people, outcome=outcome, seed=seed, months=months
        )
        frame = spec.validate(frame)
        rm.check_quality(frame, spec)
        console.print(
            f"{len(frame):,} person-month rows, {frame[spec.person].nunique():,} "
            f"people, {len(spec.features)} features; outcome "
            f"[bold]{spec.target}[/] ({spec.target_description}); "
            f"base rate {frame[spec.target].mean():.2%}. Spec validated."
        )
        console.print(_rates_table(frame, "sex", spec.target))
        console.print(_rates_table(frame, "ethnicity", spec.target))

        console.rule("[bold]2. Train and assess")
        train, test = rm.split(frame, spec)
        info = test.attrs["riskmodels_split"]
        console.print(
            f"{info['method']} split: train {info['n_train']:,} rows, test "
            f"{info['n_test']:,} rows (test window {info.get('test_window')})"
        )
        model = rm.RiskModel(spec, estimator="hgb", random_state=seed).fit(train)
        console.print(f"fitted {model!r} in {model.fit_times_['total_seconds']:.1f} s")
        evidence = model.assess(test, n_boot=n_boot)
        table = Table(title=f"Held-out performance (95% bootstrap CI, {n_boot} replicates)")
        for col in ("metric", "HGB model", f"baseline ({', '.join(evidence.baseline_features)})"):
            table.add_column(col)
        for m in ("auc", "brier_skill", "calibration_slope", "calibration_intercept"):
            table.add_row(
                m, _fmt_ci(evidence.metric(m)), _fmt_ci(evidence.metric(m, baseline=True))
            )
        console.print(table)
        if evidence.importance is not None:
            top = evidence.importance.head(5)
            console.print("[bold]Top five global drivers[/] (mean |SHAP|, log-odds):")
            for r in top.itertuples():
                console.print(f"  {r.description}: {r.mean_abs:.3f} ({r.lo:.3f}-{r.hi:.3f})")
    except RiskModelsError as err:
        _fail(err)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
