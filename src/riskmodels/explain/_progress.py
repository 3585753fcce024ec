"""Progress bars for long explanations: the shared rich display in a terminal (see
:mod:`riskmodels._progress`, so a bar nests under the step that asked for it), tqdm's
notebook bar in Jupyter."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from typing import Any

from riskmodels._progress import ProgressMode, active, stderr_is_terminal, step

__all__ = ["Progress", "ProgressMode", "open_progress"]


def _in_notebook() -> bool:
    # A notebook kernel has imported IPython long before this runs; checking sys.modules
    # first spares every terminal session the second it takes to import IPython.
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython  # type: ignore[attr-defined]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    return _in_notebook() or active() or stderr_is_terminal()


class Progress:
    """A minimal bar: ``advance(units)`` and ``close()``; a no-op when nothing is shown."""

    def __init__(self, total: float, description: str, *, start: float = 0.0) -> None:
        self._bar: Any = None
        self._steps: contextlib.ExitStack | None = None
        self._step: Any = None
        if _in_notebook():
            kwargs = {"total": total, "desc": description, "initial": start, "unit": "rows"}
            # The widget bar needs ipywidgets; tqdm's text bar works in any notebook.
            if importlib.util.find_spec("ipywidgets") is not None:
                from tqdm.notebook import tqdm
            else:
                from tqdm.std import tqdm
            self._bar = tqdm(**kwargs)
        else:
            # On its own the bar stays on screen when done, as a record of the run; under
            # an enclosing step it goes, and the step reports.
            self._steps = contextlib.ExitStack()
            self._step = self._steps.enter_context(
                step(
                    description,
                    total=total,
                    completed=start,
                    unit="rows",
                    keep=not active(),
                    mode=True,
                )
            )

    def advance(self, units: float) -> None:
        if float(units).is_integer():  # whole rows read better than "100.0/100"
            units = int(units)
        if self._bar is not None:
            self._bar.update(units)
        elif self._step is not None:
            self._step.advance(units)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._steps is not None:
            self._steps.close()
        self._bar = self._steps = self._step = None


class _NoProgress(Progress):
    def __init__(self) -> None:
        self._bar = self._steps = self._step = None


def open_progress(
    mode: ProgressMode, *, total: float, done: float, expected_seconds: float, description: str
) -> Progress:
    """A bar for the remaining work, or a silent stand-in.

    ``mode=True`` always shows one; ``"auto"`` only when the work is expected to take more
    than a few seconds and someone is watching (a terminal, a notebook, or an enclosing
    step's display), so logs and CI output stay clean; ``False`` never.
    """
    show = mode is True or (mode == "auto" and expected_seconds > 3.0 and _interactive())
    if not show:
        return _NoProgress()
    return Progress(total, description, start=done)
