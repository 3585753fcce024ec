"""Progress bars for long explanations: rich in a terminal, tqdm's notebook bar in Jupyter."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any, Literal

__all__ = ["Progress", "open_progress"]

ProgressMode = bool | Literal["auto"]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[attr-defined]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _interactive() -> bool:
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


class Progress:
    """A minimal bar: ``advance(units)`` and ``close()``; a no-op when nothing is shown."""

    def __init__(self, total: float, description: str, *, start: float = 0.0) -> None:
        self._bar: Any = None
        self._rich: Any = None
        self._task: Any = None
        if _in_notebook():
            kwargs = {"total": total, "desc": description, "initial": start, "unit": "rows"}
            # The widget bar needs ipywidgets; tqdm's text bar works in any notebook.
            if importlib.util.find_spec("ipywidgets") is not None:
                from tqdm.notebook import tqdm
            else:
                from tqdm.std import tqdm
            self._bar = tqdm(**kwargs)
        else:
            from rich.progress import (
                BarColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._rich.start()
            self._task = self._rich.add_task(description, total=total, completed=start)

    def advance(self, units: float) -> None:
        if float(units).is_integer():  # whole rows read better than "100.0/100"
            units = int(units)
        if self._bar is not None:
            self._bar.update(units)
        elif self._rich is not None:
            self._rich.update(self._task, advance=units)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._rich is not None:
            self._rich.stop()
        self._bar = self._rich = None


class _NoProgress(Progress):
    def __init__(self) -> None:
        self._bar = self._rich = self._task = None


def open_progress(
    mode: ProgressMode, *, total: float, done: float, expected_seconds: float, description: str
) -> Progress:
    """A bar for the remaining work, or a silent stand-in.

    ``mode=True`` always shows one; ``"auto"`` only when the work is expected to take more
    than a few seconds and someone is watching (a terminal or a notebook), so logs and CI
    output stay clean; ``False`` never.
    """
    show = mode is True or (mode == "auto" and expected_seconds > 3.0 and _interactive())
    if not show:
        return _NoProgress()
    return Progress(total, description, start=done)
