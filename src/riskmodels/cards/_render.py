"""Render a card's document with Jinja2: Markdown, self-contained HTML and the ATRS record."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from riskmodels.cards._format import (
    NOT_ESTIMABLE,
    RATE_METRICS,
    SUPPRESSED,
    fmt_count,
    fmt_estimate,
    fmt_value,
    md_text,
)
from riskmodels.cards._plots import CardFigure
from riskmodels.cards._text import METRIC_LABELS

if TYPE_CHECKING:
    # jinja2 is imported when the first card is rendered, not with riskmodels.
    import jinja2

__all__ = [
    "render_atrs_markdown",
    "render_fairness_markdown",
    "render_html",
    "render_markdown",
]

STATUS_LABELS = {
    "ok": "ok",
    "sparse": "too small",
    "undefined": "too few events",
}


def _threshold(ctx: Any) -> int:
    return int(ctx["d"]["sdc_threshold"])


def _count(ctx: Any, value: int | None, reason: str | None = None) -> str:
    # Registered with jinja2.pass_context: the template context carries the SDC threshold.
    return fmt_count(value, reason, _threshold(ctx))


def _signed(value: float, digits: int) -> str:
    # Round first so that a tiny negative difference reads "0.000", not "-0.000".
    value = round(value, digits) + 0.0
    return f"{value:.{digits}f}" if value == 0 else f"{value:+.{digits}f}"


def _diff(value: float | None, metric: str = "") -> str:
    if value is None:
        return NOT_ESTIMABLE
    if metric in RATE_METRICS:
        return f"{_signed(100 * value, 1)} pp"
    return _signed(value, 3)


def _gap(g: dict[str, Any]) -> str:
    d, lo, hi = g["difference"], g["difference_lo"], g["difference_hi"]
    text = _diff(d, g["metric"])
    if lo is None or hi is None:
        return text
    if g["metric"] in RATE_METRICS:
        return f"{text} ({_signed(100 * lo, 1)} to {_signed(100 * hi, 1)})"
    return f"{text} ({_signed(lo, 3)} to {_signed(hi, 3)})"


def _importance(r: dict[str, Any]) -> str:
    return fmt_estimate({"value": r["mean_abs"], "lo": r["lo"], "hi": r["hi"]}, "", 3)


def _gate_value(g: dict[str, Any]) -> str:
    value, lo, hi = g["value"], g["lo"], g["hi"]
    if value is None:
        return NOT_ESTIMABLE
    text = f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.3f}"
    if lo is None or hi is None:
        return text
    return f"{text} ({lo:.3f} to {hi:.3f})"


_GATE_CLASSES = {"pass": "pass", "warn": "warn", "fail": "fail", "insufficient_evidence": "warn"}


def _plain(value: Any) -> str:
    """A release record value in words: mappings as "key: value; ...", lists joined."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _value_only(est: dict[str, Any] | None, metric: str = "") -> str:
    if est is None:
        return SUPPRESSED
    return fmt_value(est.get("value"), metric)


def _ci_only(est: dict[str, Any] | None, metric: str = "") -> str:
    full = fmt_estimate(est, metric)
    head = _value_only(est, metric)
    return full[len(head) :].strip() if full.startswith(head) else ""


def _environment(autoescape: bool) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskmodels.cards", "templates"),
        autoescape=autoescape,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        est=lambda e, metric="": fmt_estimate(e, metric),
        num=lambda v, metric="", digits=3: fmt_value(v, metric, digits),
        value=_value_only,
        ci=_ci_only,
        count=jinja2.pass_context(_count),
        diff=_diff,
        gap=_gap,
        importance=_importance,
        status=lambda s: STATUS_LABELS.get(str(s), str(s)),
        gate_value=_gate_value,
        plain=_plain,
        gate_class=lambda s: _GATE_CLASSES.get(str(s), "warn"),
        metric_label=lambda m: METRIC_LABELS.get(str(m), str(m)),
    )
    return env


@cache
def _env(kind: str) -> jinja2.Environment:
    return _environment(autoescape=kind == "html")


def _escape_tree(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _escape_tree(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_escape_tree(v) for v in x]
    if isinstance(x, str):
        return md_text(x)
    return x


def _anchor(text: str) -> str:
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    s = re.sub(r"[^\w\- ]", "", text.lower())
    return s.replace(" ", "-")


def _numbering(d: dict[str, Any]) -> dict[str, Any]:
    number = {s["key"]: i for i, s in enumerate(d["sections"], start=1)}
    title = {s["key"]: s["title"] for s in d["sections"]}
    anchors = {k: _anchor(f"{number[k]}. {title[k]}") for k in number}
    return {"section_number": number, "section_title": title, "anchors": anchors}


def render_markdown(
    data: dict[str, Any], figures: dict[str, CardFigure], figures_dir: str | None
) -> str:
    """The card as Markdown; figures are linked from ``figures_dir`` (None: left out)."""
    d = _escape_tree(data)
    figs = {
        k: CardFigure(f.name, f.png, md_text(f.alt), md_text(f.caption)) for k, f in figures.items()
    }
    text = (
        _env("md")
        .get_template("model_card.md.j2")
        .render(d=d, figures=figs, figures_dir=figures_dir, collapse=True, **_numbering(data))
    )
    return _tidy(text)


def render_html(data: dict[str, Any], figures: dict[str, CardFigure], *, fragment: bool) -> str:
    """The card as one self-contained HTML page (or a fragment for notebooks)."""
    css = resources.files("riskmodels.cards").joinpath("card.css").read_text(encoding="utf-8")
    return (
        _env("html")
        .get_template("model_card.html.j2")
        .render(d=data, figures=figures, css=css, fragment=fragment, **_numbering(data))
    )


def render_fairness_markdown(
    data: dict[str, Any], figures: dict[str, CardFigure], figures_dir: str | None
) -> str:
    """The card's fairness section and proxy scan as a stand-alone Markdown report."""
    d = _escape_tree(data)
    figs = {
        k: CardFigure(f.name, f.png, md_text(f.alt), md_text(f.caption)) for k, f in figures.items()
    }
    template = _env("md").get_template("fairness_report.md.j2")
    # the published report keeps every group's row; the card folds the small intersections
    return _tidy(template.render(d=d, figures=figs, figures_dir=figures_dir, collapse=False))


def render_atrs_markdown(record: dict[str, Any]) -> str:
    """The ATRS record as Markdown."""
    d = _escape_tree(record)
    return _tidy(_env("md").get_template("atrs.md.j2").render(r=d))


def _tidy(text: str) -> str:
    # Collapse the blank-line runs that template control flow leaves, end with one newline.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"
