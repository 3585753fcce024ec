"""Progress of long steps, shown on stderr while someone is watching, silent otherwise.

One live display (a :class:`rich.progress.Progress`) is shared by every step that is
running, so steps nest: ``riskmodels train`` shows "Fitting the model" and, indented
under it, the stage the library is at ("calibrating", "profiling the data", ...), and an
explanation's bar sits under the assessment that asked for it. Each open step is one line
with a spinner (or a bar, when its size is known) and its elapsed time; a step opened
with ``keep=True`` leaves a "✓ description  12.3 s" line behind when it ends, the
others disappear.

Whether anything is shown is decided per step (``mode``): ``True`` always, ``False``
never, ``"auto"`` (the default) only when stderr is a terminal, so test runs, CI logs
and redirected output stay clean. Setting the environment variable
``RISKMODELS_PROGRESS=0`` turns the automatic display off. rich is imported only when a
display is actually opened.

Examples
--------
Steps are context managers; in a doctest stderr is not a terminal, so nothing is shown.

>>> from riskmodels._progress import step
>>> with step("Fitting the model") as s:
...     s.stage("calibrating")
...     total = sum(range(10))
>>> total
45
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ENV_VAR", "ProgressMode", "Step", "active", "stderr_is_terminal", "step"]

#: ``True`` always shows progress, ``False`` never, ``"auto"`` when stderr is a terminal.
ProgressMode = bool | Literal["auto"]

#: Set to ``0`` (or ``false``, ``off``, ``no``) to turn off the automatic display.
ENV_VAR = "RISKMODELS_PROGRESS"

_INDENT = "  "


def stderr_is_terminal() -> bool:
    """Whether automatic progress may be shown: stderr is an interactive terminal.

    Returns
    -------
    bool
        False when stderr is captured or redirected (tests, CI, ``2> log``), on a dumb
        terminal, or when ``RISKMODELS_PROGRESS`` is ``0``/``false``/``off``/``no``.
    """
    if os.environ.get(ENV_VAR, "").strip().lower() in {"0", "false", "off", "no"}:
        return False
    if os.environ.get("TERM") == "dumb":  # no cursor movement: a live display would smear
        return False
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Display:
    """The one live display and the steps on it (created with the first shown step)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar, remaining = _sized_columns()
        # When stdout is a terminal too, rich routes prints through the display so they
        # appear above it instead of tearing it; redirected stdout is left untouched (its
        # output belongs in the file, not on stderr).
        stdout_tty = bool(getattr(sys.stdout, "isatty", lambda: False)())
        self.progress: Progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description}"),
            bar,
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            remaining,
            console=Console(stderr=True),
            transient=True,  # finished steps leave their own line (keep=True) or nothing
            redirect_stdout=stdout_tty,
            redirect_stderr=True,
        )
        self.depth = 0

    def print(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, markup=False)


def _sized_columns() -> tuple[Any, Any]:
    """A bar and a time-remaining column drawn only for steps whose size is known (a
    spinner step would otherwise show rich's pulsing placeholder bar)."""
    from rich.progress import BarColumn, ProgressColumn, Task, TimeRemainingColumn
    from rich.text import Text

    class _IfSized(ProgressColumn):
        def __init__(self, column: ProgressColumn) -> None:
            super().__init__()
            self.column = column

        def render(self, task: Task) -> Any:
            return self.column.render(task) if task.total is not None else Text("")

    return _IfSized(BarColumn(bar_width=30)), _IfSized(TimeRemainingColumn())


_lock = threading.RLock()
_display: _Display | None = None


def active() -> bool:
    """Whether a progress display is on screen now (a step may then nest a bar in it).

    Returns
    -------
    bool
    """
    return _display is not None


def _fmt_count(completed: float, total: float | None, unit: str) -> str:
    if total is None:
        return ""
    return f"{completed:,.0f}/{total:,.0f} {unit}".rstrip()


class Step:
    """A running step: change what it says it is doing, or advance its bar.

    A step that is not shown is the same object doing nothing, so library code calls it
    unconditionally.
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self._task: TaskID | None = None
        self._indent = ""
        self._total: float | None = None
        self._completed = 0.0
        self._unit = ""

    def _show(self, *, total: float | None, completed: float, unit: str) -> None:
        assert _display is not None
        self._indent = _INDENT * _display.depth
        self._total, self._completed, self._unit = total, completed, unit
        self._task = _display.progress.add_task(
            self._indent + self.description,
            total=total,
            completed=completed,
            count=_fmt_count(completed, total, unit),
        )

    def stage(self, text: str) -> None:
        """Say which part of the step is running: ``"<description>: <text>"``.

        Parameters
        ----------
        text : str
            A few words, e.g. ``"calibrating"``.
        """
        if self._task is not None and _display is not None:
            _display.progress.update(
                self._task, description=f"{self._indent}{self.description}: {text}"
            )

    def advance(self, units: float = 1.0) -> None:
        """Move the bar on by ``units`` (rows, chunks, ...).

        Parameters
        ----------
        units : float, default 1.0
        """
        if self._task is not None and _display is not None:
            self._completed += units
            _display.progress.update(
                self._task,
                advance=units,
                count=_fmt_count(self._completed, self._total, self._unit),
            )


@contextmanager
def step(
    description: str,
    *,
    total: float | None = None,
    completed: float = 0.0,
    unit: str = "",
    keep: bool = False,
    mode: ProgressMode = "auto",
) -> Iterator[Step]:
    """Show a named step while the block runs: a spinner, or a bar if ``total`` is given.

    Steps opened inside a shown step share its display, one indented line per level.

    Parameters
    ----------
    description : str
        What is being done, e.g. ``"Fitting the hgb model on 160,000 rows"``.
    total : float, optional
        The size of the work, for a bar (advance it with :meth:`Step.advance`).
    completed : float, default 0.0
        Work already done when the bar appears.
    unit : str, default ""
        Shown after the count, e.g. ``"rows"``.
    keep : bool, default False
        Leave a ``"✓ description  12.3 s"`` line (``"✗ ... failed after ..."`` on an
        error) when the step ends, e.g. for the command line's top-level steps; otherwise
        the line disappears.
    mode : bool or "auto", default "auto"
        ``True`` always shows the step, ``False`` never, ``"auto"`` when stderr is a
        terminal or an enclosing step is already shown.

    Yields
    ------
    Step
        Call :meth:`Step.stage` and :meth:`Step.advance` on it; both do nothing when the
        step is not shown.
    """
    global _display
    handle = Step(description)
    show = mode is True or (mode == "auto" and (active() or stderr_is_terminal()))
    if not show:
        yield handle
        return
    start = time.perf_counter()
    with _lock:
        owner = _display is None
        if owner:
            _display = _Display()
            _display.progress.start()
        display = _display
        handle._show(total=total, completed=completed, unit=unit)
        display.depth += 1
    ok = False
    try:
        yield handle
        ok = True
    finally:
        with _lock:
            display.depth -= 1
            if handle._task is not None:
                display.progress.remove_task(handle._task)
                # Redraw now: rich otherwise repaints the finished line (stale) under any
                # text printed before its next timed refresh.
                display.progress.refresh()
            if keep:
                seconds = time.perf_counter() - start
                line = f"{handle._indent}{description}"
                count = _fmt_count(handle._completed, handle._total, handle._unit)
                line += f" ({count})" if count else ""
                display.print(
                    f"✓ {line}  {seconds:.1f} s"
                    if ok
                    else f"✗ {line}  failed after {seconds:.1f} s"
                )
            if owner:
                display.progress.stop()
                _display = None
