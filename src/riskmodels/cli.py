"""Command-line interface: a thin shell over the library, one command per step.

Errors reach the user as one line on stderr: the error's message and its hint, with the
library's Python-call hints (``waivers={...}``) rewritten as the options a shell user
types (``--waiver GATE=REASON``). The exit code is 2 for riskmodels' own errors (and a
missing or unreadable file), 1 for anything unexpected (a bug); ``riskmodels --debug
COMMAND`` shows the traceback as well.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskmodels._progress import step
from riskmodels.errors import RiskModelsError

if TYPE_CHECKING:
    # numpy, pandas and the library are imported inside the commands, so that
    # `riskmodels --help` starts without them.
    import pandas as pd

#: Set to 1 to show tracebacks without typing --debug (e.g. in CI logs).
DEBUG_ENV = "RISKMODELS_DEBUG"

#: Exit codes: our own refusals and bad inputs, and unexpected failures (bugs).
EXIT_USER, EXIT_BUG = 2, 1

#: The library's hints speak Python; on the command line the same advice is an option.
_CLI_HINTS: tuple[tuple[str, str], ...] = (
    (
        r"approve\(\.\.\., waivers=\{'gate\.name': 'why it is acceptable'\}\)",
        '--waiver "GATE=REASON" (one per gate, e.g. --waiver "documentation.card=why it is '
        'acceptable")',
    ),
    (r"approve\(\.\.\., signing_key=\.\.\.\)", "--signing-key KEY"),
    (r"\(passphrase=\.\.\.\)", "(in $RISKMODELS_KEY_PASSPHRASE)"),
    (r"\btrust_store=", "--trust-store"),
    (r"\baudit_log=", "--audit-log"),
)


def _allow_options(match: re.Match[str]) -> str:
    """``pass allow=['leakage', 'x']`` -> ``pass --allow leakage --allow x``."""
    kinds = re.findall(r"'([^']*)'", match.group(1))
    return "pass " + " ".join(f"--allow {k}" for k in kinds)


def cli_hint(message: str) -> str:
    """Rewrite the Python forms in a library message as the CLI options that do the same.

    Parameters
    ----------
    message : str
        A riskmodels error message.

    Returns
    -------
    str
        The message, each known Python-call hint replaced by its option.

    Examples
    --------
    >>> cli_hint("The key is protected by a passphrase; give it (passphrase=...)")
    'The key is protected by a passphrase; give it (in $RISKMODELS_KEY_PASSPHRASE)'
    """
    for pattern, replacement in _CLI_HINTS:
        message = re.sub(pattern, replacement, message)
    return re.sub(r"\bpass allow=(\[[^\]]*\])", _allow_options, message)


def one_line(err: BaseException) -> str:
    """An error as one line: its type, its message, then its listed problems joined by ';'.

    Parameters
    ----------
    err : BaseException

    Returns
    -------
    str

    Examples
    --------
    >>> from riskmodels.errors import Problem, SchemaError
    >>> print(one_line(SchemaError([Problem("age", "missing"), Problem("sex", "missing")])))
    SchemaError: The data does not match the dataset spec (2 problems): 'age': missing; 'sex': ...
    """
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    if not lines:
        return type(err).__name__
    head, rest = lines[0], [ln.removeprefix("- ") for ln in lines[1:]]
    # the listed problems each end with a full stop; one line separates them with ';'
    text = head if not rest else head + " " + "; ".join(r.rstrip(".") for r in rest) + "."
    return f"{type(err).__name__}: {cli_hint(text)}"


def _typer_reports() -> tuple[type[BaseException], ...]:
    """The exceptions typer reports itself (usage errors, --help, exits). Typer 0.29
    vendors click and raises its own TyperException; earlier typer raises the installed
    click's ClickException, Exit and Abort (typer.Exit and typer.Abort are click's)."""
    own = [typer.Exit, typer.Abort, getattr(typer, "TyperException", None)]
    click = getattr(typer.core, "click", None)  # the click typer itself uses, if any
    own.append(getattr(click, "ClickException", None))
    return tuple(dict.fromkeys(c for c in own if c is not None))


_TYPER_REPORTS = _typer_reports()


class _Group(typer.core.TyperGroup):
    """The app's command group: turns every error a command raises into one line."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _TYPER_REPORTS:
            raise  # usage errors, --help, exits: typer reports those itself
        except RiskModelsError as err:
            _report(ctx, err, EXIT_USER)
        except OSError as err:
            # a path that does not exist or cannot be read or written: the user's to fix
            named = err.filename is None or str(err.filename) in str(err)
            _report(ctx, err, EXIT_USER, "" if named else f" ({err.filename})")
        except Exception as err:
            _report(
                ctx,
                err,
                EXIT_BUG,
                " - an unexpected error, probably a bug in riskmodels: please report it "
                "with the output of --debug",
            )


def _debugging(ctx: typer.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _report(ctx: typer.Context, err: BaseException, code: int, extra: str = "") -> NoReturn:
    if _debugging(ctx):
        err_console.print(escape("".join(traceback.format_exception(err))), soft_wrap=True)
    else:
        extra += " (run with --debug for the traceback)" if code == EXIT_BUG else ""
    err_console.print(
        f"[bold red]error[/]: {escape(one_line(err) + extra)}", soft_wrap=True, highlight=False
    )
    raise typer.Exit(code=code)


def _usage(message: str) -> NoReturn:
    """A refused option value or step, as one line on stderr, exit code 2."""
    err_console.print(f"[bold red]error[/]: {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=EXIT_USER)


def _example(*lines: str) -> str:
    """A help epilog: the example commands, one per line."""
    return "Example:\n\n" + "\n\n".join(f"  $ {ln}" for ln in lines)


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="riskmodels: risk models whose predictions reach people only as decision support.",
    epilog=_example("riskmodels demo", "riskmodels run examples/pipeline.yaml"),
)
console = Console()
#: Errors go to stderr, so that a list or a report on stdout stays clean.
err_console = Console(stderr=True)


@app.callback()
def _main(
    debug: bool = typer.Option(
        False, "--debug", help=f"show the traceback of an error (also: ${DEBUG_ENV}=1)"
    ),
) -> None:
    """riskmodels: risk models whose predictions reach people only as decision support."""


def _fail(err: RiskModelsError) -> NoReturn:
    # The group reports every error the same way (one line, exit code 2, --debug), so the
    # commands' `except RiskModelsError: _fail(err)` only pass it on. They stay for now to
    # keep this change small beside the branches that also edit the commands; new code
    # lets errors propagate.
    raise err


def _fmt_ci(est) -> str:
    if math.isnan(est.value):
        return f"NaN ({est.reason or est.status})"
    return f"{est.value:.3f} ({est.lo:.3f}-{est.hi:.3f})"


#: Shared by the commands that record their step in MLflow.
_NO_TRACK_HELP = (
    "do not record this step in MLflow (also: RISKMODELS_TRACKING=0); by default it is "
    "logged to $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working folder"
)


def _track(no_track: bool, what: str, log: Callable[[], str]) -> str | None:
    """Record a step in MLflow unless opted out; returns the run id.

    The step's own result (a candidate, a release, a list) is already written when this
    runs, so a store that cannot be reached is reported, never allowed to undo or hide it.
    """
    from riskmodels.tracking import resolve_tracking_uri, tracking_enabled

    if no_track or not tracking_enabled():
        return None
    try:
        with step(f"Recording the {what} step in MLflow"):
            run_id = log()
    except Exception as err:  # any store failure: say so, keep the step's result
        console.print(f"[yellow]not tracked[/]: the {what} step was not logged ({err})")
        return None
    console.print(f"MLflow run {run_id} ({what}) in {resolve_tracking_uri()}")
    return run_id


@app.command(
    "validate",
    epilog=_example(
        "riskmodels validate data.csv --spec spec.yaml",
        "riskmodels validate people.csv --spec spec.yaml --unlabelled",
    ),
)
def validate(
    data: Path = typer.Argument(..., help="CSV or Parquet file"),
    spec: Path = typer.Option(..., "--spec", help="dataset spec (YAML)"),
    unlabelled: bool = typer.Option(
        False,
        "--unlabelled",
        help="a scoring file: people to score, without the outcome (and protected "
        "attributes are optional)",
    ),
) -> None:
    """Validate a data file against a dataset spec and print its data-quality report.

    Every problem with the file is listed at once (exit code 2). A valid file gets its
    report: rows, people and snapshots, the outcome's events (labelled files), missing
    values and constant features, and any serious problem that would stop training (exit
    code 1).
    """
    from riskmodels.data import DatasetSpec, check_quality, read_frame
    from riskmodels.errors import Problem, SchemaError

    s = DatasetSpec.from_yaml(spec)
    try:
        frame = s.validate(
            read_frame(data), require_target=not unlabelled, require_protected=not unlabelled
        )
    except SchemaError as err:
        if unlabelled or s.target not in err.columns:
            raise
        # The one missing column may mean a file of people to score: say how to check it.
        raise SchemaError(
            [
                Problem(p.column, p.found, f"{p.hint}; or pass --unlabelled for a scoring file")
                if p.column == s.target
                else p
                for p in err.problems
            ]
        ) from None
    kind = "an unlabelled (scoring)" if unlabelled else "a labelled (training)"
    console.print(
        f"[green]valid[/]: {data} is {kind} file: {len(frame):,} rows, {len(s.features)} features"
    )
    _describe_rows(frame, s)
    if unlabelled:
        missingness = {c: float(frame[c].isna().mean()) for c in s.feature_names}
        issues = [
            {
                "kind": "constant",
                "column": f,
                "detail": "the feature has a single value",
                "serious": False,
            }
            for f in s.feature_names
            if frame[f].nunique(dropna=False) <= 1
        ]
        if s.target in frame.columns:
            issues.append(
                {
                    "kind": "outcome_present",
                    "column": s.target,
                    "detail": "the outcome is in a scoring file; scoring ignores it",
                    "serious": False,
                }
            )
    else:
        report = check_quality(frame, s, raise_on_serious=False)
        missingness, issues = report.missingness, report.issues
        events, rows = report.target_counts.get("1", 0), report.n_rows
        console.print(
            f"outcome {s.target}: {events:,} events in {rows:,} rows "
            f"({events / rows:.2%}), {report.target_counts.get('0', 0):,} without"
        )
    gaps = {c: m for c, m in missingness.items() if m > 0}
    console.print(
        "missing values: "
        + (", ".join(f"{c} {m:.1%}" for c, m in gaps.items()) if gaps else "none")
    )
    if not issues:
        console.print("data-quality issues: none")
    for issue in issues:
        flag = "[red]serious[/]" if issue["serious"] else "[yellow]note[/]"
        console.print(f"  {flag} {issue['column']}: {issue['detail']}")
    serious = sorted({i["kind"] for i in issues if i["serious"]})
    if serious:
        # like `check` with a blocking gate: exit code 1, so scripts stop here too
        console.print(
            f"[red]train refuses this data[/] unless you accept the serious issues knowingly: "
            f"{' '.join(f'--allow {k}' for k in serious)}"
        )
        raise typer.Exit(code=1)


def _describe_rows(frame: pd.DataFrame, spec: Any) -> None:
    """People and snapshot dates, where the spec names those columns."""
    import pandas as pd

    parts = []
    if spec.person is not None:
        parts.append(f"{frame[spec.person].nunique():,} people")
    if spec.time is not None:
        t = pd.to_datetime(frame[spec.time])
        parts.append(
            f"{t.nunique():,} snapshot date(s) from {t.min():%Y-%m-%d} to {t.max():%Y-%m-%d}"
        )
    if parts:
        console.print(", ".join(parts))


def _rates_table(frame: pd.DataFrame, by: str, target: str) -> Table:
    import pandas as pd

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


@app.command(
    "demo",
    epilog=_example(
        "riskmodels demo --n-people 5000 --out demo_output",
    ),
)
def demo(
    n_people: int = typer.Option(20_000, help="people in the synthetic prison population"),
    months: int = typer.Option(12, help="monthly snapshots per person"),
    outcome: str = typer.Option("self_harm", help="self_harm or violence"),
    seed: int = typer.Option(0),
    n_boot: int = typer.Option(1000, help="bootstrap replicates for CIs"),
    out_dir: Path = typer.Option(Path("demo_output"), "--out", help="folder for the outputs"),
) -> None:
    """Run the main job end to end on synthetic data."""
    from riskmodels.cards import ModelCard
    from riskmodels.data import check_quality
    from riskmodels.data.datasets import make_prison_incidents
    from riskmodels.modeling import RiskModel, split
    from riskmodels.policy import Policy
    from riskmodels.release import add_approval, approve, generate_signing_key
    from riskmodels.scoring import anchor, score
    from riskmodels.tracking import log_assessment
    from riskmodels.tracking import register as register_release

    try:
        console.rule("[bold]1. Synthetic data")
        frame, spec = make_prison_incidents(
            n_people=n_people, outcome=outcome, seed=seed, months=months
        )
        frame = spec.validate(frame)
        check_quality(frame, spec)
        console.print(
            f"{len(frame):,} person-month rows, {frame[spec.person].nunique():,} "
            f"people, {len(spec.features)} features; outcome "
            f"[bold]{spec.target}[/] ({spec.target_description}); "
            f"base rate {frame[spec.target].mean():.2%}. Spec validated."
        )
        console.print(_rates_table(frame, "sex", spec.target))
        console.print(_rates_table(frame, "ethnicity", spec.target))

        console.rule("[bold]2. Train and assess")
        # a 90-day gap: no training outcome window reaches into the test period
        train, test = split(frame, spec, gap_days=90)
        info = test.attrs["riskmodels_split"]
        console.print(
            f"{info['method']} split: train {info['n_train']:,} rows, test "
            f"{info['n_test']:,} rows (test window {info.get('test_window')})"
        )
        model = RiskModel(spec, estimator="hgb", random_state=seed).fit(train)
        console.print(f"fitted {model!r} in {model.fit_times_['total_seconds']:.1f} s")
        evidence = model.assess(test, n_boot=n_boot)
        table = Table(title=f"Held-out performance (95% CI: bootstrap, {n_boot} replicates)")
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
        if evidence.fairness is not None:
            gap = evidence.fairness.max_gap("fpr", attribute="ethnicity")
            console.print(
                f"Largest FPR gap by ethnicity: {gap.group} vs {gap.reference} "
                f"{gap.difference:+.3f} ({gap.difference_lo:+.3f} to {gap.difference_hi:+.3f})"
            )

        console.rule("[bold]3. Model card, policy gates, approval")
        out_dir.mkdir(parents=True, exist_ok=True)
        policy = Policy.default()
        # the demo's own MLflow store, beside its other outputs
        store = f"sqlite:///{(out_dir / 'mlflow.db').resolve()}"
        run_id = log_assessment(
            model, evidence, tracking_uri=store, tags={"riskmodels.step": "train"}
        )
        console.print(f"MLflow run {run_id} in {out_dir / 'mlflow.db'}")
        with step("Building the model card and checking the policy gates"):
            card = ModelCard.build(
                model, evidence, context=None, policy=policy, mlflow_run_id=run_id
            )
            gates = policy.check(evidence, model=model, context=card.context)
            card = card.with_gates(gates)
            card.save(out_dir / "card")
        check_run = log_assessment(
            model, evidence, card, gates, policy=policy, tracking_uri=store,
            tags={"riskmodels.step": "check"}, parent_run_id=run_id,
        )  # fmt: skip
        console.print(
            f"model card written to {out_dir / 'card'} (complete: {card.complete}; "
            f"{len(card.missing_fields)} fields for the owner to complete)"
        )
        table = Table(title=f"Policy gates ({policy.name}: {gates.summary()})")
        for col in ("gate", "status"):
            table.add_column(col)
        for g in gates:
            colour = {"pass": "green", "warn": "yellow"}.get(g.status, "red")
            table.add_row(g.name, f"[{colour}]{g.status}[/]")
        console.print(table)
        # Nothing hidden: every gate that does not pass, with the group and numbers behind it.
        for g in gates:
            if g.status != "pass":
                console.print(f"[bold]{g.name}[/] ({g.status}): {g.reason}")
        # The demo approves what a real reviewer would refuse (an incomplete card, a
        # synthetic population). Every waiver says so, the reviewer is labelled, and the
        # waivers are printed here, stored in the release, and named on the risk list.
        waivers = {
            g.name: "DEMO ONLY: synthetic data, no owner; not for operational use"
            for g in gates
            if g.status != "pass"
        }
        for name, reason in waivers.items():
            console.print(f"[yellow]waived[/] {name}: {reason}")
        release_dir = out_dir / "release"
        if release_dir.exists():
            shutil.rmtree(release_dir)
        # A demo site: two demo approvers' keys and a trust store holding their public
        # keys, and the site's audit log, all inside the demo's output folder.
        site = out_dir / "site"
        trust_store, audit_log = site / "trust_store", site / "audit_log.jsonl"
        approvers = ["DEMO REVIEWER 1 (not a person)", "DEMO REVIEWER 2 (not a person)"]
        keys = []
        for i, name in enumerate(approvers, start=1):
            key = site / "keys" / f"demo-reviewer-{i}.key"
            if not key.exists():
                generate_signing_key(key, site / "keys" / f"demo-reviewer-{i}.pem")
            trust_store.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(site / "keys" / f"demo-reviewer-{i}.pem", trust_store / f"{name}.pem")
            keys.append(key)
        with step("Writing the release bundle"):
            release = approve(
                model,
                evidence,
                card,
                policy,
                reviewer=approvers[0],
                author="riskmodels demo",
                waivers=waivers,
                out=release_dir,
                signing_key=keys[0],
            )
            release = add_approval(release, signing_key=keys[1], reviewer=approvers[1])
        console.print(
            f"release {release.release_id[:12]} approved by {approvers[0]} with "
            f"{len(waivers)} demo waiver(s), co-signed by {approvers[1]}; valid until "
            f"{release.valid_until.date()}; demo trust store {trust_store}"
        )

        from riskmodels.tracking._steps import log_approval, log_scoring

        log_approval(release, parent_run_id=check_run, tracking_uri=store)
        registered = register_release(
            release, "demo-" + spec.target.replace("_", "-"), trust_store=trust_store,
            audit_log=audit_log, tracking_uri=store,
        )  # fmt: skip
        console.print(
            f"registered in MLflow as {registered.name} version {registered.version}, alias "
            f"'approved' set after the stored copy verified ({registered.model_uri})"
        )

        console.rule("[bold]4. Risk list for the safety team")
        latest = test[test[spec.time] == test[spec.time].max()].drop(columns=[spec.target])
        risk_list = score(
            release_dir,
            latest,
            purpose="prioritise_welfare_review",
            trust_store=trust_store,
            audit_log=audit_log,
        )
        risk_list.to_excel(out_dir / "risk_list.xlsx")
        risk_list.to_csv(out_dir / "risk_list.csv")
        log_scoring(risk_list, tracking_uri=store)
        c = risk_list.counts
        console.print(f"[bold]{risk_list.notice}[/]")
        console.print(
            f"{c['rows']:,} people scored for prioritise_welfare_review: "
            f"{c['flagged']:,} flagged, {c['insufficient_basis']:,} without a "
            f"sound basis for a score (no score given)"
        )
        console.print("The top of the list, each score with its range and reasons:")
        for r in risk_list.top(3).itertuples():
            # the range shows how far the data behind the release support the score
            console.print(
                f"  id {r.id}: risk {r.score:.1%} (range {r.score_low:.1%} to "
                f"{r.score_high:.1%}; {r.band}) - {r.reasons}"
            )
        head = anchor(audit_log)["head"]
        console.print(
            f"wrote {out_dir / 'risk_list.xlsx'}, {out_dir / 'risk_list.csv'}; "
            f"site audit log {audit_log} verified (head {head[:16]}...)"
        )
        _demo_monitoring(release_dir, risk_list, test, spec, out_dir, trust_store, audit_log)
        _demo_refusal(release_dir, latest, trust_store, audit_log)
    except RiskModelsError as err:
        _fail(err)
    _demo_outputs(out_dir, store, release_dir, trust_store, audit_log)


def _demo_refusal(release_dir: Path, people: pd.DataFrame, trust_store: Path, audit_log: Path):
    """Step 6: a guardrail at work. The same approved release, asked for a purpose its
    policy prohibits, refuses to score anyone, and the site's audit log records it."""
    from riskmodels.errors import PolicyViolation
    from riskmodels.scoring import score

    console.rule("[bold]6. A guardrail at work")
    console.print("Asking the approved release to score the same people for sentencing ...")
    try:
        score(
            release_dir, people, purpose="sentencing", trust_store=trust_store, audit_log=audit_log
        )
    except PolicyViolation as err:
        console.print(f"[bold red]refused[/]: {escape(one_line(err))}")
        console.print(
            f"nobody was scored; the refusal is in the site's audit log {audit_log} "
            f"(`riskmodels audit-log verify {audit_log}` lists it)"
        )
    else:  # pragma: no cover - the default policy prohibits sentencing
        raise RuntimeError("the default policy did not refuse sentencing")


def _demo_outputs(out_dir: Path, store: str, release_dir: Path, trust_store: Path, audit_log):
    """The demo's last words: where each output is and how to open it."""
    card = (out_dir / "card" / "model_card.html").resolve()
    dashboard = (out_dir / "monitoring.html").resolve()
    console.rule("[bold]Where everything is")
    rows = [
        ("model card", f"{card}  (open in a browser: python -m webbrowser {card.as_uri()})"),
        ("risk list", f"{out_dir / 'risk_list.xlsx'} and {out_dir / 'risk_list.csv'}"),
        (
            "release bundle",
            f"{release_dir}  (check it: riskmodels verify-release {release_dir} "
            f"--trust-store {trust_store})",
        ),
        (
            "MLflow runs and registry",
            f"mlflow ui --backend-store-uri {store}  (then open http://127.0.0.1:5000)",
        ),
        (
            "monitoring dashboard",
            f"{dashboard}  (open in a browser: python -m webbrowser {dashboard.as_uri()})",
        ),
        ("site audit log", f"{audit_log}  (riskmodels audit-log verify {audit_log})"),
    ]
    for what, where in rows:
        console.print(f"[bold]{what}[/]: {escape(where)}", soft_wrap=True)


def _demo_monitoring(release_dir, risk_list, test, spec, out_dir, trust_store, audit_log):
    """Step 5 of the demo: staff return the list with decisions, outcomes mature, and the
    monitoring report judges the release in use."""
    import numpy as np
    import pandas as pd

    from riskmodels.monitoring import record_outcomes, record_reviews
    from riskmodels.monitoring import report as monitoring_report

    console.rule("[bold]5. Monitoring the release in use")
    site = {"trust_store": trust_store, "audit_log": audit_log}
    # DEMO reviews: a made-up reviewer decides on the first 120 flagged people, agreeing
    # with the flag about 85% of the time (no real person's judgement)
    returned = out_dir / "risk_list_reviewed.csv"
    text = ["id", "reviewed_by", "decision", "agrees_with_flag", "rationale"]
    back = pd.read_csv(out_dir / "risk_list.csv", dtype=dict.fromkeys(text, str))
    rows = back.index[back["status"] == "flagged"][:120]
    agree = np.random.default_rng(0).random(len(rows)) < 0.85
    back.loc[rows, "reviewed_by"] = "DEMO REVIEWER (not a person)"
    back.loc[rows, "decision"] = np.where(agree, "support offered", "disagree with flag")
    back.loc[rows, "agrees_with_flag"] = np.where(agree, "yes", "no")
    back.to_csv(returned, index=False)
    got = record_reviews(release_dir, returned, **site)
    # the synthetic population's own outcomes of the scored snapshot (long matured)
    latest = test[test[spec.time] == test[spec.time].max()]
    outcomes = latest[[spec.person, spec.time, spec.target, *spec.protected_names]]
    record_outcomes(release_dir, outcomes, **site)
    report = monitoring_report(release_dir, **site)
    report.save(out_dir / "monitoring.html")
    report.save(out_dir / "monitoring.json")
    console.print(
        f"recorded {got['reviewed']} demo decisions from {returned.name} and "
        f"{len(outcomes):,} matured outcomes; release "
        f"{'[bold red]SUSPENDED[/]' if report.suspended else 'in use (not suspended)'}"
    )
    for r in report.breaches[report.breaches["period"] == "all"].itertuples():
        console.print(f"  [yellow]{r.status}[/] {r.indicator} ({r.group}): {r.detail}")
    console.print(f"wrote {out_dir / 'monitoring.html'} and {out_dir / 'monitoring.json'}")


@app.command(
    "train",
    epilog=_example(
        "riskmodels train --data data.parquet --spec spec.yaml --out candidate --gap-days 90",
    ),
)
def train(
    data: Path = typer.Option(..., "--data", help="labelled data: .csv or .parquet"),
    spec: Path = typer.Option(..., "--spec", help="dataset spec (YAML)"),
    out: Path = typer.Option(..., "--out", help="new folder for the candidate model"),
    estimator: str = typer.Option("hgb", help="hgb or logistic"),
    calibration: str = typer.Option("sigmoid", help="sigmoid, isotonic or none"),
    split_method: str = typer.Option("auto", "--split", help="auto, temporal, grouped, random"),
    gap_days: int = typer.Option(
        0,
        "--gap-days",
        min=0,
        help="temporal split: leave out training snapshots this many days before the test "
        "period, so no training outcome window reaches into it (use the outcome horizon, "
        "e.g. 90)",
    ),
    n_boot: int = typer.Option(1000, help="bootstrap replicates for CIs"),
    seed: int = typer.Option(0),
    allow: list[str] = typer.Option(
        [],
        "--allow",
        help="a serious data-quality issue you accept knowingly (single_class, "
        "too_few_events, leakage); repeat for each",
    ),
    no_track: bool = typer.Option(False, "--no-track", help=_NO_TRACK_HELP),
) -> None:
    """Fit a model on held-out-validated data and save it with its evidence (unapproved)."""
    from riskmodels.data import DatasetSpec, read_frame
    from riskmodels.modeling import RiskModel, split
    from riskmodels.release import save_candidate
    from riskmodels.release._candidate import candidate_id

    try:
        s = DatasetSpec.from_yaml(spec)
        # One line per finished step (and a spinner on the running one) in a terminal.
        with step(f"Read {data}", keep=True):
            frame = read_frame(data)
        with step("Split it into training and held-out test data", keep=True):
            train_set, test_set = split(
                frame, s, method=split_method, gap_days=gap_days, random_state=seed
            )
        model = RiskModel(
            s,
            estimator=estimator,
            random_state=seed,
            calibration=None if calibration == "none" else calibration,
        )
        with step("Fit the model", keep=True):  # the library names its stages below
            model.fit(train_set, allow=tuple(allow))
        with step("Assess it", keep=True):
            evidence = model.assess(test_set, n_boot=n_boot, random_state=seed)
        with step(f"Save the candidate to {out}", keep=True):
            save_candidate(model, evidence, out)
    except RiskModelsError as err:
        _fail(err)
    auc = evidence.metric("auc")
    base = evidence.metric("auc", baseline=True)
    console.print(
        f"[green]saved candidate[/] {out}: {model!r}; held-out AUC {_fmt_ci(auc)} "
        f"vs baseline {_fmt_ci(base)} ({evidence.split['method']} split)"
    )
    _track(no_track, "train", lambda: _log_train(model, evidence, candidate_id(out)))


def _log_train(model, evidence, candidate: str) -> str:
    from riskmodels.tracking import log_assessment
    from riskmodels.tracking._steps import CANDIDATE_TAG, STEP_TAG

    tags = {STEP_TAG: "train", CANDIDATE_TAG: candidate}
    return log_assessment(model, evidence, tags=tags, run_name=f"train {model.display_name}")


def _load_for_review(candidate: Path, policy: Path | None, context: Path | None):
    from riskmodels.cards import ModelCard
    from riskmodels.policy import Policy
    from riskmodels.release import load_candidate

    with step(f"Loading the candidate {candidate}"):
        model, evidence = load_candidate(candidate)
    pol = Policy.default() if policy is None else Policy.from_yaml(policy)
    with step("Building the model card and checking the policy gates"):
        card = ModelCard.build(model, evidence, context, policy=pol)
        gates = pol.check(evidence, model=model, context=card.context)
        card = card.with_gates(gates)
    return model, evidence, pol, card, gates


@app.command(
    "check",
    epilog=_example(
        "riskmodels check --candidate candidate --context card_context.yaml",
    ),
)
def check(
    candidate: Path = typer.Option(..., "--candidate", help="folder written by `train`"),
    policy: Path | None = typer.Option(None, "--policy", help="policy YAML (default policy)"),
    context: Path | None = typer.Option(None, "--context", help="card context (YAML)"),
    no_track: bool = typer.Option(False, "--no-track", help=_NO_TRACK_HELP),
) -> None:
    """Check a candidate against the policy's gates; exit code 1 if any gate blocks.

    Records the candidate's content hash in ``<candidate>.check.json``: ``approve``
    refuses a candidate that differs from the one checked."""
    import json

    from riskmodels._io import atomic_write_text
    from riskmodels.policy._gates import fmt_number
    from riskmodels.release._candidate import candidate_id

    try:
        content = candidate_id(candidate)
        model, evidence, pol, card, gates = _load_for_review(candidate, policy, context)
    except RiskModelsError as err:
        _fail(err)
    record = {
        "candidate": str(candidate.resolve()),
        "content_sha256": content,
        "policy": f"{pol.name} {pol.version}",
        "gates": gates.summary(),
    }
    atomic_write_text(_check_record(candidate), json.dumps(record, indent=1) + "\n")
    console.print(f"candidate content sha256 {content} (recorded in {_check_record(candidate)})")
    table = Table(title=f"Policy gates ({pol.name}); card complete: {card.complete}")
    for col in ("gate", "status", "value", "bound", "why"):
        table.add_column(col)
    for g in gates:
        table.add_row(g.name, g.status, fmt_number(g.value), str(g.bound), g.reason)
    console.print(table)
    if not card.complete:
        # the documentation gate fails on these; name them so the owner knows what to write
        given = f"the card context {context}" if context else "no card context (--context)"
        console.print(
            f"[yellow]card incomplete[/]: {given} lacks {len(card.missing_fields)} field(s) "
            f"the owner must fill in: {', '.join(card.missing_fields)}"
        )
    _track(no_track, "check", lambda: _log_check(model, evidence, card, gates, pol, content))
    blocking = gates.blocking({})
    if blocking:
        console.print(
            f"[red]{len(blocking)} gate(s) block approval[/] unless the reviewer "
            "waives them with a written reason (riskmodels approve --waiver ...)"
        )
        raise typer.Exit(code=1)


def _log_check(model, evidence, card, gates, policy, candidate: str) -> str:
    """An assessment run with the card, gate report and policy; continues the candidate's
    newest train run."""
    from riskmodels.tracking import log_assessment
    from riskmodels.tracking._steps import CANDIDATE_TAG, STEP_TAG, parent_run

    return log_assessment(
        model,
        evidence,
        card=card,
        gate=gates,
        policy=policy,
        tags={STEP_TAG: "check", CANDIDATE_TAG: candidate},
        run_name=f"check {model.display_name}",
        parent_run_id=parent_run(("train",), CANDIDATE_TAG, candidate),
    )


def _check_record(candidate: Path) -> Path:
    from riskmodels._pipeline import check_record_path

    return check_record_path(candidate)


def _passphrase() -> str | None:
    import os

    # never on the command line (it would sit in the shell history and the process list)
    return os.environ.get("RISKMODELS_KEY_PASSPHRASE") or None


@app.command(
    "approve",
    epilog=_example(
        "riskmodels approve --candidate candidate --context card_context.yaml "
        '--reviewer "R. Reviewer" --author "A. Author" --signing-key keys/R.key '
        '--waiver "documentation.card=reason in words" --out release',
    ),
)
def approve(
    candidate: Path = typer.Option(..., "--candidate", help="folder written by `train`"),
    reviewer: str = typer.Option(..., "--reviewer", help="the approving person (not the author)"),
    author: str = typer.Option(..., "--author", help="who built the model"),
    out: Path = typer.Option(..., "--out", help="new folder for the release bundle"),
    policy: Path | None = typer.Option(None, "--policy", help="policy YAML (default policy)"),
    context: Path | None = typer.Option(None, "--context", help="card context (YAML)"),
    waiver: list[str] = typer.Option(
        [], "--waiver", help="GATE=REASON; repeat for each waived gate"
    ),
    valid_for_days: int | None = typer.Option(None, help="at most the policy's maximum"),
    signing_key: Path | None = typer.Option(
        None,
        help="reviewer's Ed25519 private key (`riskmodels keys new`); required unless the "
        "policy's environment is development. Passphrase: $RISKMODELS_KEY_PASSPHRASE",
    ),
    role: str | None = typer.Option(None, help="the approval role claimed (policy roles)"),
    no_track: bool = typer.Option(False, "--no-track", help=_NO_TRACK_HELP),
) -> None:
    """Approve a checked candidate: gates must pass or be waived with reasons; writes the
    release with the reviewer's signed approval (others add theirs with add-approval)."""
    import json

    from riskmodels.release import approve as approve_release
    from riskmodels.release._candidate import candidate_id

    waivers = {}
    for w in waiver:
        gate, sep, reason = w.partition("=")
        if not sep:
            _usage(f'--waiver {w!r} must be GATE=REASON, e.g. --waiver "GATE=why it is acceptable"')
        waivers[gate.strip()] = reason.strip()
    try:
        record_path = _check_record(candidate)
        if not record_path.is_file():
            _usage(
                f"not checked: run `riskmodels check --candidate {candidate}` first; "
                "approval binds the candidate that was checked"
            )
        checked = json.loads(record_path.read_text(encoding="utf-8")).get("content_sha256")
        if candidate_id(candidate) != checked:
            _usage(
                f"changed since it was checked: {candidate} no longer has the content "
                f"sha256 {checked} recorded by `check`. Check it again."
            )
        model, evidence, pol, card, _ = _load_for_review(candidate, policy, context)
        release = approve_release(
            model,
            evidence,
            card,
            pol,
            reviewer=reviewer,
            author=author,
            waivers=waivers,
            valid_for_days=valid_for_days,
            out=out,
            signing_key=signing_key,
            passphrase=_passphrase(),
            role=role,
        )
    except RiskModelsError as err:
        _fail(err)
    need = release.manifest["approval"]["approvals_required"]
    console.print(
        f"[green]approved[/] by {reviewer}: release {release.release_id[:12]} in {out}, valid "
        f"until {release.valid_until.date()}; it scores once {need} trusted approver(s) have "
        "signed (`riskmodels add-approval`)"
    )
    _track(no_track, "approve", lambda: _log_approval(release, checked))


def _log_approval(release, candidate: str) -> str:
    from riskmodels.tracking._steps import log_approval

    return log_approval(release, candidate)


@app.command(
    "add-approval",
    epilog=_example(
        'riskmodels add-approval --release release --reviewer "S. Second" --signing-key keys/S.key',
    ),
)
def add_approval_cmd(
    release: Path = typer.Option(..., "--release", help="release bundle directory"),
    reviewer: str = typer.Option(..., "--reviewer", help="the approving person (not the author)"),
    signing_key: Path = typer.Option(..., "--signing-key", help="their Ed25519 private key"),
    role: str | None = typer.Option(None, help="the approval role claimed (policy roles)"),
) -> None:
    """Add another approver's signature to a release (nothing else changes)."""
    import json

    from riskmodels.release import add_approval

    try:
        r = add_approval(
            release, signing_key=signing_key, reviewer=reviewer, role=role, passphrase=_passphrase()
        )
    except RiskModelsError as err:
        _fail(err)
    n = len(json.loads((r.path / "approvals.json").read_text(encoding="utf-8")))
    console.print(f"[green]approval added[/] by {reviewer}: {n} signature(s) on {release}")


def _site_options(audit_log: Path | None, trust_store: Path | None, store: str | None) -> dict:
    return {"audit_log": audit_log, "trust_store": trust_store, "store": store}


_STORE_HELP = (
    "the site's monitoring store: a SQLAlchemy URL or a SQLite file (default: "
    "$RISKMODELS_MONITORING_URL, else monitoring.db beside the audit log)"
)


@app.command(
    "monitor",
    epilog=_example(
        "riskmodels monitor --release release --out monitoring.html",
    ),
)
def monitor_cmd(
    release: Path = typer.Option(..., "--release", help="release bundle directory"),
    out: Path = typer.Option(..., "--out", help="report file: .html (dashboard) or .json"),
    since: str | None = typer.Option(None, help="only runs from this date (YYYY-MM-DD)"),
    period: str = typer.Option("month", help="day, week, month or quarter"),
    audit_log: Path | None = typer.Option(None, "--audit-log", help="the site's audit log"),
    trust_store: Path | None = typer.Option(None, "--trust-store", help="the site's trust store"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Monitor a release in use: indicators per period, judged against its policy.

    A calibration failure on matured outcomes suspends the release (scoring refuses it
    until enough approvers run `riskmodels reinstate`)."""
    from riskmodels.monitoring import report

    try:
        with step("Reading runs, reviews and outcomes"):
            r = report(
                release,
                since=since,
                period=period,
                **_site_options(audit_log, trust_store, store),
            )
        r.save(out)
        if out.suffix.lower() == ".html":
            r.save(out.with_suffix(".json"))
    except RiskModelsError as err:
        _fail(err)
    state = "[bold red]SUSPENDED[/]" if r.suspended else "[green]in use[/]"
    console.print(f"{r.model_name} {r.model_version}: {state}")
    for b in r.breaches[r.breaches["period"] == "all"].itertuples():
        console.print(f"  [yellow]{b.status}[/] {b.indicator} ({b.group}): {b.detail}")
    console.print(f"wrote {out}")


@app.command(
    "record-reviews",
    epilog=_example(
        "riskmodels record-reviews --release release --list risk_list_returned.xlsx",
    ),
)
def record_reviews_cmd(
    release: Path = typer.Option(..., "--release", help="release bundle directory"),
    reviewed: Path = typer.Option(..., "--list", help="the returned list (.xlsx, .csv, .parquet)"),
    audit_log: Path | None = typer.Option(None, "--audit-log", help="the site's audit log"),
    trust_store: Path | None = typer.Option(None, "--trust-store", help="the site's trust store"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Record the decisions staff wrote on a returned risk list (all or nothing)."""
    from riskmodels.monitoring import record_reviews

    try:
        got = record_reviews(release, reviewed, **_site_options(audit_log, trust_store, store))
    except RiskModelsError as err:
        _fail(err)
    console.print(f"[green]recorded[/] {got['reviewed']} decision(s) of {got['rows']} row(s)")


@app.command(
    "record-outcomes",
    epilog=_example(
        "riskmodels record-outcomes --release release --data outcomes.csv",
    ),
)
def record_outcomes_cmd(
    release: Path = typer.Option(..., "--release", help="release bundle directory"),
    data: Path = typer.Option(
        ..., "--data", help="person, snapshot date and outcome (.csv/.parquet)"
    ),
    audit_log: Path | None = typer.Option(None, "--audit-log", help="the site's audit log"),
    trust_store: Path | None = typer.Option(None, "--trust-store", help="the site's trust store"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Record observed outcomes of scored people whose outcome window has passed."""
    from riskmodels.data import read_frame
    from riskmodels.monitoring import record_outcomes

    try:
        frame = read_frame(data)
        got = record_outcomes(release, frame, **_site_options(audit_log, trust_store, store))
    except RiskModelsError as err:
        _fail(err)
    console.print(f"[green]recorded[/] {got['rows']:,} outcome(s)")


@app.command(
    "reinstate",
    epilog=_example(
        'riskmodels reinstate --release release --reviewer "R. Reviewer" '
        '--signing-key keys/R.key --reason "recalibrated; see the board\'s minutes"',
    ),
)
def reinstate_cmd(
    release: Path = typer.Option(..., "--release", help="release bundle directory"),
    reviewer: str = typer.Option(..., "--reviewer", help="the approving person (not the author)"),
    signing_key: Path = typer.Option(..., "--signing-key", help="their Ed25519 private key"),
    reason: str = typer.Option(..., "--reason", help="why the release may score again"),
    audit_log: Path | None = typer.Option(None, "--audit-log", help="the site's audit log"),
    trust_store: Path | None = typer.Option(None, "--trust-store", help="the site's trust store"),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Sign the reinstatement of a release monitoring suspended."""
    from riskmodels.monitoring import reinstate

    try:
        left = reinstate(
            release,
            signing_key=signing_key,
            reviewer=reviewer,
            reason=reason,
            passphrase=_passphrase(),
            **_site_options(audit_log, trust_store, store),
        )
    except RiskModelsError as err:
        _fail(err)
    if left:
        console.print(f"signed by {reviewer}; {left} more approver(s) needed")
    else:
        console.print(f"[green]reinstated[/]: {release} may score again")


@app.command(
    "check-policy",
    epilog=_example(
        "riskmodels check-policy fairness/policy.yaml",
    ),
)
def check_policy(
    policy: Path = typer.Argument(..., help="policy file (YAML), e.g. fairness/policy.yaml"),
) -> None:
    """Validate a release policy file; print its purposes and fairness criterion."""
    from riskmodels.policy import Policy

    try:
        p = Policy.from_yaml(policy)
    except RiskModelsError as err:
        _fail(err)
    console.print(f"[green]valid[/]: policy {p.name} {p.version} (sha256 {p.sha256[:12]})")
    console.print(f"  permitted purposes: {', '.join(p.permitted_purposes)}")
    console.print(f"  prohibited purposes: {', '.join(p.prohibited_purposes)}")
    console.print(f"  fairness criterion: {p.fairness.criterion}")


@app.command(
    "verify-release",
    epilog=_example(
        "riskmodels verify-release release --trust-store trust_store",
    ),
)
def verify_release(
    release: Path = typer.Argument(..., help="release bundle directory"),
    trust_store: Path | None = typer.Option(
        None, "--trust-store", help="directory of trusted reviewers' public keys (PEM)"
    ),
) -> None:
    """Verify a release as scoring would: strict file set, trusted approvals, every file's
    sha256, the approval record and the expiry."""
    from riskmodels.release import load_release

    try:
        r = load_release(release, trust_store=trust_store)
    except RiskModelsError as err:
        _fail(err)
    signed = f"; signed by {', '.join(r.signed_by)}" if r.signed_by else " (development)"
    console.print(
        f"[green]verified[/]: {r.name} version {r.version}, approved by {r.reviewer} on "
        f"{r.approved_at.date()}, valid until {r.valid_until.date()}{signed}"
    )
    table = Table(title=f"Gates ({r.gates.summary()})")
    for col in ("gate", "status", "waiver"):
        table.add_column(col)
    for g in r.gates:
        table.add_row(g.name, g.status, r.waivers.get(g.name, ""))
    console.print(table)
    for note in r.notes:
        console.print(f"[yellow]note[/]: {note}")


@app.command(
    "score",
    epilog=_example(
        "riskmodels score --release release --input people.csv "
        "--purpose prioritise_welfare_review --out risk_list.xlsx --split-by establishment",
    ),
)
def score_cmd(
    release: str = typer.Option(
        ...,
        "--release",
        help="approved release bundle directory, or a registry URI models:/NAME@approved "
        "(downloaded and verified as a folder is)",
    ),
    data: Path = typer.Option(..., "--input", help="people to score: .parquet (streamed) or .csv"),
    purpose: str = typer.Option(..., "--purpose", help="a purpose the release permits"),
    out: Path = typer.Option(..., "--out", help="risk list to write: .csv, .xlsx or .parquet"),
    explain: str = typer.Option("flagged", help="reasons for: flagged, all or none"),
    trust_store: Path | None = typer.Option(
        None, "--trust-store", help="directory of trusted reviewers' public keys (PEM)"
    ),
    audit_log: Path | None = typer.Option(
        None,
        "--audit-log",
        help="the site's audit log (default: $RISKMODELS_AUDIT_LOG, else "
        "~/.local/share/riskmodels/audit_log.jsonl)",
    ),
    split_by: str | None = typer.Option(
        None,
        "--split-by",
        help="one list per value of this column (e.g. establishment): one sheet per value "
        "in .xlsx, one file per value in a folder for .csv/.parquet",
    ),
    no_track: bool = typer.Option(False, "--no-track", help=_NO_TRACK_HELP),
) -> None:
    """Score people with an approved release, for a permitted purpose, into a risk list."""
    from riskmodels.scoring import score

    writers = {".csv": "to_csv", ".xlsx": "to_excel", ".parquet": "to_parquet"}
    writer = writers.get(out.suffix.lower())
    if writer is None:
        _usage(f"--out {out} must end in one of {sorted(writers)}")
    try:
        risk_list = score(
            release,
            data,
            purpose=purpose,
            explain=explain,
            trust_store=trust_store,
            audit_log=audit_log,
            split_by=split_by,  # checked before anyone is scored
        )
        with step(f"Writing {out}"):
            getattr(risk_list, writer)(out)
    except RiskModelsError as err:
        _fail(err)
    _summary(risk_list, out, split_by)
    _track(no_track, "score", lambda: _log_scoring(risk_list))


def _log_scoring(risk_list) -> str:
    from riskmodels.tracking._steps import log_scoring

    return log_scoring(risk_list)


@app.command(
    "register",
    epilog=_example(
        "riskmodels register --release release --name self-harm",
    ),
)
def register(
    release: Path = typer.Option(..., "--release", help="approved release bundle directory"),
    name: str = typer.Option(..., "--name", help="registered model name (created if new)"),
    trust_store: Path | None = typer.Option(
        None, "--trust-store", help="directory of trusted reviewers' public keys (PEM)"
    ),
    audit_log: Path | None = typer.Option(
        None, "--audit-log", help="the site's audit log (a suspended release is refused)"
    ),
    store: str | None = typer.Option(None, "--store", help=_STORE_HELP),
) -> None:
    """Register a release in the MLflow model registry ($MLFLOW_TRACKING_URI, else
    sqlite:///mlflow.db): the alias 'approved' is set only once the stored copy verifies."""
    from riskmodels.tracking import register as register_release

    try:
        registered = register_release(
            release, name, trust_store=trust_store, audit_log=audit_log, monitoring_store=store
        )
    except RiskModelsError as err:
        _fail(err)
    console.print(
        f"[green]registered[/] {release} as {name} version {registered.version} "
        f"(run {registered.run_id}); score it with --release {registered.model_uri}"
    )


def _summary(risk_list, out: Path, split_by: str | None) -> None:
    """What was produced: counts, bands, per split value, where it went, the audit entry."""
    c, f = risk_list.counts, risk_list.frame
    console.print(f"[bold]{risk_list.notice}[/]")
    table = Table(title=f"Risk list {out}")
    for col in ("", "rows", "scored", "flagged", "no score (outside training data)"):
        table.add_column(col)
    table.add_row(
        "all", f"{c['rows']:,}", f"{c['scored']:,}", f"{c['flagged']:,}",
        f"{c['insufficient_basis']:,}",
    )  # fmt: skip
    if split_by is not None:
        for value, part in risk_list.split(split_by).items():
            p = part.counts
            table.add_row(
                f"{split_by}={value}", f"{p['rows']:,}", f"{p['scored']:,}", f"{p['flagged']:,}",
                f"{p['insufficient_basis']:,}",
            )  # fmt: skip
    console.print(table)
    bands = f["band"].value_counts(sort=False)
    console.print("bands: " + ", ".join(f"{label} {int(n):,}" for label, n in bands.items()))
    where = f"one sheet per {split_by} in {out}" if split_by and out.suffix == ".xlsx" else (
        f"one file per {split_by} in the folder {out}" if split_by else f"{out}"
    )  # fmt: skip
    console.print(
        f"wrote {where}; audit entry {risk_list.metadata['audit_entry']} in "
        f"{risk_list.metadata['audit_log']}"
    )


audit_app = typer.Typer(
    help="The site's scoring audit log: verify it, anchor its head.",
    epilog=_example("riskmodels audit-log verify"),
)
app.add_typer(audit_app, name="audit-log")


def _log_path(log: Path | None) -> Path:
    from riskmodels.scoring._audit_log import resolve_audit_log

    return resolve_audit_log(log)


@audit_app.command(
    "verify",
    epilog=_example(
        "riskmodels audit-log verify",
        "riskmodels audit-log verify site/audit_log.jsonl",
    ),
)
def audit_verify(
    log: Path | None = typer.Argument(None, help="audit log (default: the site's)"),
) -> None:
    """Check the audit log's hash chain; print its entries, refusals included."""
    from riskmodels.scoring import verify_audit_log

    path = _log_path(log)
    try:
        entries = verify_audit_log(path)
    except RiskModelsError as err:
        _fail(err)
    table = Table(title=f"{path}: {len(entries)} entries, chain intact")
    for col in ("seq", "at", "user", "event", "purpose", "rows", "scored", "flagged", "why"):
        table.add_column(col)
    for e in entries:
        refused = e.get("event") == "refused"
        table.add_row(
            str(e["seq"]),
            str(e.get("at", "")),
            str(e.get("user", "")),
            str(e.get("event", "score")),
            str(e.get("purpose", "")),
            "" if refused else f"{e.get('rows_in', 0):,}",
            f"{e.get('scored', 0):,}",
            "" if refused else f"{e.get('flagged', 0):,}",
            f"{e.get('error')}: {str(e.get('message', ''))[:80]}" if refused else "",
        )
    console.print(table)


@audit_app.command(
    "anchor",
    epilog=_example(
        "riskmodels audit-log anchor site/audit_log.jsonl",
    ),
)
def audit_anchor(
    log: Path | None = typer.Argument(None, help="audit log (default: the site's)"),
) -> None:
    """Verify the log and print its head hash: store it where the log's writers cannot."""
    from riskmodels.scoring import anchor

    try:
        a = anchor(_log_path(log))
    except RiskModelsError as err:
        _fail(err)
    print(f"{a['head']}  entries={a['entries']}  log={a['log']}")


keys_app = typer.Typer(
    help="Approvers' signing keys.",
    epilog=_example('riskmodels keys new --name "R. Reviewer" --out keys'),
)
app.add_typer(keys_app, name="keys")


@keys_app.command(
    "new",
    epilog=_example(
        'riskmodels keys new --name "R. Reviewer" --out keys --passphrase',
    ),
)
def keys_new(
    name: str = typer.Option(..., "--name", help="the key holder's name, as approvals show it"),
    out: Path = typer.Option(..., "--out", help="folder for NAME.key (private) and NAME.pem"),
    passphrase: bool = typer.Option(
        False, "--passphrase", help="protect the private key with a passphrase (asked twice)"
    ),
) -> None:
    """Create an Ed25519 key pair: NAME.key (mode 0600, keep it) and NAME.pem (for trust
    stores)."""
    from riskmodels.release import generate_signing_key

    secret = None
    if passphrase:
        secret = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True)
    private, public = out / f"{name}.key", out / f"{name}.pem"
    if private.exists() or public.exists():
        _usage(f"{private} or {public} exists already; keys are never overwritten")
    fingerprint = generate_signing_key(
        private, public, password=secret.encode("utf-8") if secret else None
    )
    console.print(
        f"key {fingerprint}: keep {private} private (mode 0600); copy {public} into the trust "
        "store of each scoring site"
    )


@app.command(
    "card",
    epilog=_example(
        "riskmodels card --model release --context card_context.yaml --out card",
    ),
)
def card(
    model: Path = typer.Option(
        ..., "--model", help="release bundle directory (written by riskmodels.approve)"
    ),
    context: Path | None = typer.Option(
        None,
        "--context",
        help="card context (YAML); fields left out are listed as to be completed by the owner",
    ),
    out: Path = typer.Option(
        ..., "--out", help="folder for model_card.md/.html/.json, atrs.json/.md and figures/"
    ),
    sdc_threshold: int = typer.Option(
        10,
        "--sdc-threshold",
        help="counts below it are withheld (0: off; never for published cards)",
    ),
) -> None:
    """Write the model card of a release: Markdown, HTML, JSON and an ATRS record."""
    from riskmodels.cards import ModelCard
    from riskmodels.release import load_release

    try:
        with step(f"Verifying the release {model}"):
            release = load_release(model)
        with step("Building the model card"):
            built = ModelCard.build(
                release.model,
                release.evidence,
                context,
                policy=release.policy,
                release=release,
                sdc_threshold=sdc_threshold,
            ).with_gates(release.gates, release.waivers)
        with step(f"Writing it to {out}"):
            written = built.save(out)
    except RiskModelsError as err:
        _fail(err)
    state = (
        "complete"
        if built.complete
        else (
            "[yellow]incomplete[/]: to be completed by the owner: "
            f"{', '.join(built.missing_fields)}"
        )
    )
    console.print(f"[green]wrote[/] {len(written)} files to {out} (card {state})")


@app.command(
    "run",
    epilog=_example(
        "riskmodels run examples/pipeline.yaml",
        "riskmodels run my_pipeline.yaml --no-track",
    ),
)
def run_cmd(
    config: Path = typer.Argument(..., help="pipeline file (YAML), e.g. examples/pipeline.yaml"),
    no_track: bool = typer.Option(False, "--no-track", help=_NO_TRACK_HELP),
) -> None:
    """Run the whole journey on your own data from one pipeline file.

    Validates the data, splits it (with its gap), trains, assesses, writes the candidate,
    the model card and the gate report, then stops at the approval step: a person must
    approve. When the file names the approvers (with their signing keys) and the waivers
    they sign, it approves, co-signs and, with a scoring section, writes the risk list.
    """
    from riskmodels._pipeline import load_pipeline, run_pipeline
    from riskmodels.policy._gates import fmt_number

    cfg = load_pipeline(config)
    console.print(f"pipeline {config}: outputs go to {cfg.output}")
    result = run_pipeline(cfg, progress=lambda msg: step(msg, keep=True))
    ev, gates = result.evidence, result.gates
    console.print(
        f"held-out AUC {_fmt_ci(ev.metric('auc'))} vs baseline "
        f"{_fmt_ci(ev.metric('auc', baseline=True))} ({ev.split['method']} split, "
        f"gap {cfg.split.gap_days} days)"
    )
    _track(no_track, "train", lambda: _log_train(result.model, ev, result.candidate_sha256))
    _track(
        no_track,
        "check",
        lambda: _log_check(
            result.model, ev, result.card, gates, result.policy, result.candidate_sha256
        ),
    )
    waivers = {} if cfg.approval is None else cfg.approval.waivers
    table = Table(title=f"Policy gates ({result.policy.name}: {gates.summary()})")
    for col in ("gate", "status", "value", "bound", "waiver"):
        table.add_column(col)
    for g in gates:
        table.add_row(g.name, g.status, fmt_number(g.value), str(g.bound), waivers.get(g.name, ""))
    console.print(table)
    if not result.card.complete:
        console.print(
            f"[yellow]card incomplete[/]: the card context lacks "
            f"{', '.join(result.card.missing_fields)} (card_context in {config})"
        )
    if result.stopped_at == "approval":
        blocking = gates.blocking({})
        console.print(
            f"[bold]Stopped before approval[/]: a person must approve this model. "
            f"{len(blocking)} gate(s) block it unless waived with a written reason"
            + (": " + ", ".join(g.name for g in blocking) if blocking else "")
            + f". To go on, add an approval section (author, approvers with their "
            f"signing keys, waivers) to {config} and run it again, or approve step by step:"
        )
        console.print(f"  {escape(_approve_command(cfg, result.candidate))}", soft_wrap=True)
    if result.release is not None:
        r = result.release
        _track(no_track, "approve", lambda: _log_approval(r, result.candidate_sha256))
        console.print(
            f"[green]approved[/] by {', '.join(a.name for a in cfg.approval.approvers)}: "
            f"release {r.release_id[:12]} valid until {r.valid_until.date()}"
        )
    if result.risk_list is not None:
        _summary(result.risk_list, result.outputs["risk_list"], cfg.scoring.split_by)
        _track(no_track, "score", lambda: _log_scoring(result.risk_list))
    _where(result.outputs)


def _approve_command(cfg: Any, candidate: Path) -> str:
    """The `riskmodels approve` command that goes on from where `run` stopped."""
    parts = ["riskmodels approve", f"--candidate {candidate}"]
    if isinstance(cfg.card_context, Path):
        parts.append(f"--context {cfg.card_context}")
    if cfg.policy is not None:
        parts.append(f"--policy {cfg.policy}")
    parts += [
        '--reviewer "NAME" --author "NAME" --signing-key KEY',
        '--waiver "GATE=REASON" (one per gate to waive)',
        f"--out {cfg.output / 'release'}",
    ]
    return " ".join(parts)


def _where(outputs: dict[str, Path]) -> None:
    """Where each output is and how to open it."""
    labels = {
        "candidate": "candidate model and evidence (unapproved)",
        "card": "model card (open in a browser)",
        "gates": "policy gate report (JSON)",
        "release": "approved release bundle (`riskmodels verify-release`)",
        "risk_list": "risk list for the safety team",
    }
    console.print("[bold]Outputs[/]:")
    for key, path in outputs.items():
        console.print(f"  {labels.get(key, key)}: {path}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
